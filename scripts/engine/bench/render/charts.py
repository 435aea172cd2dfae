"""SVG charts (matplotlib, rendered at build), their alt text and the Markdown that shows them.

One hue family per framework (PyTorch warm reds/oranges, TensorFlow blues), a
marker per execution tier and a dash per layout/precision variant: the same
mapping on every chart, in both themes. Each theme has its own shades so a
line stays readable on Material's light page and on its dark ("slate") one.
The alt-text sentences are in ``templates/charts.md.j2``.
"""

from __future__ import annotations

import io

from common import tiers
from engine import sides
from engine.bench import stats
from engine.bench import summarize as S
from engine.bench.op_buckets import BUCKETS
from engine.bench.render.format import NOT_MEASURED, fill, say

THEMES = ("light", "dark")
_TEXT = {"light": "#202124", "dark": "#e3e6ea"}
_SHADES = {
    "light": {"torch": ("#c2410c", "#9a1b06", "#ea7a4b", "#7c2d12"),
              "tf": ("#1d4ed8", "#0e7490", "#6366f1", "#1e3a8a")},
    "dark": {"torch": ("#ff8a5b", "#ffb38f", "#ff5f3a", "#ffd0b8"),
             "tf": ("#7fb0ff", "#5ad1e6", "#a5a8ff", "#bcd3ff")},
}
_EXECUTIONS = {side.id: tuple(side.executions) for side in sides.SIDES}
_MARKERS = {"eager": "o", "compile": "s", "autotune": "D", "cudagraphs": "P", "function": "s", "xla": "D", "fit": "^"}
_BUCKET_COLORS = ("#4c72b0", "#8172b3", "#64b5cd", "#55a868", "#ccb974", "#dd8452", "#937860", "#c44e52")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.hashsalt": "pytorch-vs-tensorflow-guide",  # stable element ids
        "svg.fonttype": "path",
        "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs everywhere
        "font.size": 9,
    })
    return plt


def _svg(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return buffer.getvalue()


def series_style(framework: str, mode: str, theme: str = "light") -> dict:
    """Colour (framework hue, tier shade), marker (tier) and dash (variant) of one series."""
    tier = tiers.parse(mode)
    order = _EXECUTIONS.get(framework, ())
    shade = order.index(tier.execution) if tier.execution in order else 0
    shades = _SHADES[theme].get(framework, ("#777777",))
    dash = {(False, "fp32"): "-", (True, "fp32"): "--"}.get((tier.channels_last, tier.precision),
                                                             "-." if tier.channels_last else ":")
    return {"color": shades[shade % len(shades)], "marker": _MARKERS.get(tier.execution, "o"), "linestyle": dash}


def _themed(fig, ax, theme: str) -> None:
    """Transparent background, text and axes in the theme's ink."""
    ink = _TEXT[theme]
    fig.patch.set_alpha(0)
    ax.set_facecolor("none")
    for spine in ax.spines.values():
        spine.set_color(ink)
    ax.tick_params(colors=ink, which="both")
    ax.xaxis.label.set_color(ink)
    ax.yaxis.label.set_color(ink)
    ax.title.set_color(ink)
    legend = ax.get_legend()
    if legend:
        legend.get_frame().set_alpha(0)
        for text in legend.get_texts():
            text.set_color(ink)


def _series_keys(rows):
    return sorted({(r.framework, r.mode) for r in rows},
                  key=lambda k: (sides.order(k[0]), _EXECUTIONS.get(k[0], ()).index(tiers.parse(k[1]).execution)
                                 if tiers.parse(k[1]).execution in _EXECUTIONS.get(k[0], ()) else 9, k[1]))


def _finish_line_chart(plt, fig, ax, caption: str, theme: str) -> bytes:
    """Grid, caption and the theme's ink (legend title included), then the SVG bytes."""
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(caption, fontsize=8)
    _themed(fig, ax, theme)
    ax.get_legend().get_title().set_color(_TEXT[theme])
    data = _svg(fig)
    plt.close(fig)
    return data


def step_series(rows: list[S.TrainRow], x_attr: str) -> list[dict]:
    """Each series of a step-time chart: its points, their 95 % intervals and which rows are unstable.

    The bars are the bootstrap interval of the median (``stats.median_interval``), the one the
    verdicts decide on; an unstable row (docs/method.md#noise) is drawn with a hollow marker.
    """
    out = []
    for key in _series_keys(rows):
        series = sorted(S.find(rows, framework=key[0], mode=key[1]), key=lambda r: getattr(r, x_attr))
        intervals = [r.median_interval_ms for r in series]
        out.append({"key": key, "label": series[0].label, "x": [getattr(r, x_attr) for r in series],
                    "median": [r.median_ms for r in series], "low": [lo for lo, _ in intervals],
                    "high": [hi for _, hi in intervals], "unstable": [r.unstable for r in series]})
    return out


def chart_step_time(rows: list[S.TrainRow], x_attr: str, xlabel: str, caption: str, theme: str = "light") -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for line in step_series(rows, x_attr):
        style = series_style(*line["key"], theme)
        below = [m - lo for m, lo in zip(line["median"], line["low"], strict=True)]
        above = [hi - m for m, hi in zip(line["median"], line["high"], strict=True)]
        ax.errorbar(line["x"], line["median"], yerr=[below, above], capsize=3, label=line["label"], **style)
        hollow = [(x, y) for x, y, bad in zip(line["x"], line["median"], line["unstable"], strict=True) if bad]
        if hollow:  # unstable rows: the same marker, filled with the page's background
            ax.scatter([x for x, _ in hollow], [y for _, y in hollow], marker=style["marker"], s=42, zorder=3, linewidths=1.2,
                       facecolors="white" if theme == "light" else "#1e2129", edgecolors=style["color"])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("training step time, ms (median, 95 % interval bars)")
    ax.legend(fontsize=6.5, title="colour: framework · marker: tier · dash: layout/precision · "
              f"hollow: unstable (spread > {100 * stats.UNSTABLE_RIQR:.0f} %)", title_fontsize=6.5,
              ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return _finish_line_chart(plt, fig, ax, caption, theme)


def chart_memory(rows: list[S.TrainRow], caption: str, theme: str = "light") -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in _series_keys(rows):
        series = sorted(S.find(rows, framework=key[0], mode=key[1]), key=lambda r: r.params)
        ax.plot([r.params for r in series], [r.peak_rss_mib or 0 for r in series],
                label=series[0].label, **series_style(*key, theme))
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("peak host RSS of the process, MiB")
    ax.legend(fontsize=7, title="colour: framework · marker: tier", title_fontsize=7,
              ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return _finish_line_chart(plt, fig, ax, caption, theme)


def chart_profile(chosen: list[tuple[str, dict]], caption: str, theme: str = "light") -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(chosen)))
    labels = [f"{p['label']}\n({why})" for why, p in chosen]
    left = [0.0] * len(chosen)
    for bucket, color in zip(BUCKETS, _BUCKET_COLORS, strict=True):
        widths = [p["buckets_ns_per_step"][bucket] / 1e6 for _, p in chosen]
        ax.barh(labels, widths, left=left, color=color, label=bucket)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("ms per training step under the profiler")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(chosen)))
    ax.set_title(caption, fontsize=8)
    _themed(fig, ax, theme)
    data = _svg(fig)
    plt.close(fig)
    return data


def chart_placeholder(caption: str, theme: str = "light") -> bytes:
    """An image that says what is missing, so pages never link to a file that does not exist."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{caption}: {NOT_MEASURED}", ha="center", va="center", color=_TEXT[theme])
    fig.patch.set_alpha(0)
    data = _svg(fig)
    plt.close(fig)
    return data


def _alt_escape(text: str) -> str:
    """Alt text sits inside ``![...]``: no brackets, no double quotes, one line."""
    return " ".join(text.replace("[", "(").replace("]", ")").replace('"', "'").split())


def _series_points(rows, x_attr: str, point):
    """Each series' label and its points, formatted by ``point(row)``, in legend order."""
    out = []
    for key in _series_keys(rows):
        series = sorted(S.find(rows, framework=key[0], mode=key[1]), key=lambda r: getattr(r, x_attr))
        out.append({"label": series[0].label, "points": [point(r) for r in series]})
    return out


def _at_last(rows, x_attr: str, key):
    """The row that is lowest by ``key`` at the largest ``x_attr`` the chart reaches, and that x."""
    last = max(getattr(r, x_attr) for r in rows)
    at = [r for r in rows if getattr(r, x_attr) == last and key(r) is not None]
    return min(at, key=key), last


def alt_step_time(rows: list[S.TrainRow], x_attr: str, xname: str, title: str) -> str:
    """What the step-time chart shows, in two sentences, from the same rows it is drawn from."""
    fastest, last = _at_last(rows, x_attr, lambda r: r.median_ms)
    return _alt_escape(say("charts.md.j2", "alt_step_time", title=title, xname=xname,
                           tiers=len(_series_keys(rows)), fastest=fastest.label, last_x=f"{last:,}",
                           unstable=sum(r.unstable for r in rows)))


def alt_memory(rows: list[S.TrainRow], title: str) -> str:
    leanest, last = _at_last(rows, "params", lambda r: r.peak_rss_mib)
    return _alt_escape(say("charts.md.j2", "alt_memory", title=title, tiers=len(_series_keys(rows)),
                           leanest=leanest.label, last_x=f"{last:,}"))


def alt_profile(chosen: list[tuple[str, dict]], title: str) -> str:
    return _alt_escape(say("charts.md.j2", "alt_profile", title=title,
                           bars=[prof["label"] for _why, prof in chosen]))


def chart_md(stem: str, alt: str, data_link: str, data_text: str) -> str:
    """Both theme variants of a chart (Material shows the one matching the page), and where its data is."""
    return fill("chart.md.j2", stem=stem, alt=alt, data_link=data_link, data_text=data_text)
