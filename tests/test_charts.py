"""Charts a reader can read: one hue family per framework, both themes, alt text and a data link from the data."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from engine.bench import fixtures, render, stats, store
from engine.bench import summarize as S
from engine.bench.render import charts
from engine.bench.render.format import _f

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ("headline_step_time", "size_sweep_step_time", "size_sweep_memory", "op_profile")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("charts")
    fixtures.write_all(tmp / "results")
    render.render_all(tmp / "results", tmp / "out")
    return tmp


def _all_modes(framework):
    execs = charts._EXECUTIONS[framework]
    return [f"{e}{cl}{p}" for e in execs for cl in ("", "-cl") for p in ("", "-bf16")]


@pytest.mark.parametrize("theme", charts.THEMES)
def test_one_hue_family_per_framework_and_a_marker_per_tier(theme):
    colours = {fw: {charts.series_style(fw, m, theme)["color"] for m in _all_modes(fw)} for fw in ("torch", "tf")}
    assert colours["torch"] <= set(charts._SHADES[theme]["torch"])
    assert colours["tf"] <= set(charts._SHADES[theme]["tf"])
    assert not colours["torch"] & colours["tf"]

    def hue(colour):  # PyTorch warm (red channel leads), TensorFlow cool (blue channel leads)
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return "warm" if r > b else "cool"

    assert {hue(c) for c in colours["torch"]} == {"warm"}
    assert {hue(c) for c in colours["tf"]} == {"cool"}
    for fw in ("torch", "tf"):  # the same tier keeps its marker whatever its layout or precision
        for execution in charts._EXECUTIONS[fw]:
            markers = {charts.series_style(fw, m, theme)["marker"] for m in _all_modes(fw) if m.startswith(execution)}
            assert len(markers) == 1
        dashes = {charts.series_style(fw, m, theme)["linestyle"] for m in ("eager", "eager-cl", "eager-bf16")}
        assert len(dashes) == 3  # a variant is told apart by its dash


def test_same_tier_same_style_on_every_chart_and_theme_shades_differ():
    assert charts.series_style("torch", "eager", "light") != charts.series_style("torch", "eager", "dark")
    assert charts.series_style("tf", "function", "dark") == charts.series_style("tf", "function", "dark")


@pytest.mark.parametrize("stem", CHARTS)
def test_each_chart_has_a_light_and_a_dark_variant_on_a_transparent_background(out, stem):
    light = (out / "out" / f"{stem}.svg").read_text()
    dark = (out / "out" / f"{stem}-dark.svg").read_text()
    assert light != dark
    for svg, theme in ((light, "light"), (dark, "dark")):
        # matplotlib writes the figure's background as the first patch; transparent means no white box
        first_patch = re.search(r'<g id="patch_1">\s*<path d="[^"]*"\s*style="([^"]*)"', svg)
        assert first_patch and "fill: #ffffff" not in first_patch.group(1), (stem, theme)
        assert charts._TEXT[theme] in svg  # axes and text in the theme's ink


def _alt(out, stem: str) -> str:
    text = (out / "out" / f"{stem}{'_chart' if stem == 'op_profile' else ''}.md").read_text()
    images = re.findall(r"!\[([^\]]+)\]\((generated/bench/[^)#]+)#only-(light|dark)\)", text)
    assert [(src, theme) for _, src, theme in images] == [
        (f"generated/bench/{stem}.svg", "light"), (f"generated/bench/{stem}-dark.svg", "dark")]
    return images[0][0]


def sentences(text: str) -> int:
    """Sentence ends: a full stop, ? or ! before a space or the end (a decimal point is not one)."""
    return len(re.findall(r"[.!?](?=\s|$)", text))


def test_alt_text_says_in_two_sentences_what_stands_out_and_links_the_data(out):
    text = (out / "out" / "headline_step_time.md").read_text()
    alt = _alt(out, "headline_step_time")
    machine = next(p.name for p in (out / "results").iterdir())
    rows = S.train_rows(store.load(store.result_path("headline", machine, out / "results")), None)
    assert rows
    last = max(r.batch_size for r in rows)
    fastest = min((r for r in rows if r.batch_size == last), key=lambda r: r.median_ms)
    assert f"batch ({last:,}) the fastest is {fastest.label};" in alt
    assert sentences(alt) <= 2, alt
    # the data stays in the table the link opens, not in the alt text
    for row in rows:
        assert f"{_f(row.median_ms, 2)} ms" not in alt
    link = re.search(r"\[Data: [^\]]+\]\(([^)#]+)#([^)]+)\)", text)
    assert link, text
    page = (ROOT / "docs" / link.group(1)).read_text()
    assert "{#" + link.group(2) + "}" in page


@pytest.mark.parametrize("stem", CHARTS)
def test_every_alt_text_is_one_or_two_sentences(out, stem):
    alt = _alt(out, stem)
    assert 1 <= sentences(alt) <= 2 and len(alt) < 450, (stem, len(alt), alt)


def test_pages_show_charts_only_through_the_generated_fragments():
    for page in (ROOT / "docs").glob("*.md"):
        typed = re.findall(r"!\[[^\]]*\]\(generated/bench/[^)]+\.svg", page.read_text())
        assert not typed, f"{page.name} shows a chart without its generated alt text and data link: {typed}"


def test_step_time_bars_are_the_verdicts_interval_and_unstable_rows_are_hollow(out):
    """The bars show the bootstrap interval of each median (what a verdict decides on), not the
    steps' IQR; a row whose process medians spread beyond the noise limit is marked."""
    machine = next(p.name for p in (out / "results").iterdir())
    rows = S.train_rows(store.load(store.result_path("headline", machine, out / "results")), None)
    steady = rows[0]
    # the same steps in four processes, two of them 30 % slower: a wide spread of process medians
    shaky = dataclasses.replace(steady, runs=[steady.runs[0]] * 2 + [[1.3 * s for s in steady.runs[0]]] * 2,
                                batch_size=steady.batch_size * 2)
    steady = dataclasses.replace(steady, runs=[steady.runs[0]] * 4)
    assert shaky.unstable and not steady.unstable
    (line,) = [s for s in charts.step_series([steady, shaky], "batch_size") if s["key"] == (steady.framework, steady.mode)]
    assert line["unstable"] == [False, True]
    for i, row in enumerate((steady, shaky)):
        assert (line["low"][i], line["high"][i]) == stats.median_interval(row.runs)
        assert line["low"][i] <= row.median_ms <= line["high"][i]
    # the interval of the median is narrower than the steps' own spread
    assert line["high"][0] - line["low"][0] < steady.iqr_ms[1] - steady.iqr_ms[0]
