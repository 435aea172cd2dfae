"""Home's "What to choose in 2026": a few lines, each a situation, a recommendation and the evidence it rests on.

The lines are the claims table's (``[[choice]]`` in ``claims.toml``). A line
whose recommendation a measurement decides (``decide = "speed"``) computes it
here from the stored results, so a changed result changes the line; every line
shows the badges of the claims it rests on and says what kind of evidence they
are: measured here (on which machine, and that it is a CPU where it is), shown
by code the build runs, sourced, or judgement where it names none.
"""

from __future__ import annotations

from engine import claims
from engine.bench import summarize as S
from engine.bench.render.format import hw_phrase, lead_batch
from engine.bench.render.verdicts import SAME_WITHIN, _sign

SOURCED = ("fact, sourced", "not measured here")


def decide_speed(res) -> str | None:
    rows = S.train_rows(res.get("headline"))
    if not rows:
        return None
    batch = lead_batch(rows)
    a = S.best(rows, "torch", batch_size=batch, precision="fp32")
    b = S.best(rows, "tf", batch_size=batch, precision="fp32")
    r = S.compare(a, b)
    if not r.enough_processes:  # a quick profile's one process: undecided, which is not "no difference"
        return (f"Not decided here: {r.why_not.removeprefix('not decided: ')} (fp32, batch {batch}); "
                "the default profile (`regen.py run`) measures enough to decide")
    if not r.significant:
        said = "Neither: each at its best showed no significant difference"
    else:
        said = f"{'PyTorch' if r.ratio < 1 else 'TensorFlow'}, which was faster at its best"
    return f"{said} (fp32, batch {batch}); on other hardware, rebuild and measure"


def decide_memory(res) -> str | None:
    rows = S.train_rows(res.get("size_sweep"))
    signs = []
    for width in sorted({r.width for r in rows}):
        a = S.find(rows, framework="torch", mode="eager", width=width)
        b = S.find(rows, framework="tf", mode="eager", width=width)
        if a and b and a[0].peak_rss_mib and b[0].peak_rss_mib:
            signs.append(_sign(a[0].peak_rss_mib, b[0].peak_rss_mib))
    if not signs:
        return None
    sizes = f"{len(signs)} model size{'s' if len(signs) > 1 else ''}"
    if all(s < 0 for s in signs):
        return f"PyTorch, which had the lower eager peak at every one of {sizes} measured"
    if all(s > 0 for s in signs):
        return f"TensorFlow, which had the lower eager peak at every one of {sizes} measured"
    if all(s == 0 for s in signs):
        return f"Either: their eager peaks were within {100 * SAME_WITHIN:.0f} % at all {sizes} measured"
    return f"Measure your model: the lower eager peak changed side across {sizes}"


DECIDERS = {"speed": (decide_speed, "headline"), "memory": (decide_memory, "size_sweep")}


def evidence(choice: claims.Choice, table: dict, res: dict) -> str:
    """What kind of evidence the line rests on, in words."""
    kinds = []
    for cid in choice.claims:
        claim = next(c for c in claims.load() if c.id == cid)
        if claim.cases:
            kind = "measured here"
        elif table[cid].word.lower().startswith(SOURCED):
            kind = "sourced"
        elif table[cid].word.lower() == "opinion":
            kind = "judgement"
        else:
            kind = "shown by code the build runs"
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        return "judgement"
    text = " and ".join(kinds)
    if choice.decide:
        result = res.get(DECIDERS[choice.decide][1])
        if result:
            device = "a CPU only" if result["manifest"].get("device") != "cuda" else "a GPU"
            text = text.replace("measured here", f"measured here on {device}: {hw_phrase(result)}")
    return text


def decide_md(res: dict, table: dict[str, claims.Verdict]) -> str:
    """The block: one bullet per choice of the claims table."""
    lines = []
    for choice in claims.choices():
        if choice.decide:
            fn, _case = DECIDERS[choice.decide]
            try:
                recommendation = fn(res) if res else None
            except (KeyError, IndexError, ValueError, StopIteration, TypeError, AttributeError):
                recommendation = None
            recommendation = recommendation or "not measured: no stored results"
        else:
            recommendation = choice.recommend
        badges = " ".join(table[cid].badge() for cid in choice.claims)
        lines.append(f"- **{choice.situation}:** {recommendation}. "
                     f"*Evidence: [{evidence(choice, table, res)}]({choice.link})*"
                     + (f" {badges}" if badges else ""))
    return "\n".join(lines) + "\n"
