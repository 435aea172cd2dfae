"""Native Python control flow inside a PyTorch model.

The ``if`` and the ``while`` below depend on tensor values. In eager mode
PyTorch simply runs them, as Python. ``torch.compile`` cannot put a
value-dependent branch into one graph: it splits the function into several
graphs with a "graph break" and lets Python decide in between.
``torch.export``, which must produce a single graph, refuses such code; the
explicit ``torch.cond`` operator is its way of expressing a branch.

>>> import torch
>>> model = GatedBlock()
>>> tuple(model(torch.ones(2, 4)).shape)
(2, 4)
>>> report = explain(model)
>>> report.graph_count > 1 and report.graph_break_count >= 1
True
"""

import torch
from torch import nn


# --8<-- [start:model]
class GatedBlock(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        h = self.linear(x)
        if h.sum() > 0:  # branch on a tensor's value
            h = torch.relu(h)
        else:
            h = -h
        while h.abs().max() > 1.0:  # loop count depends on the data
            h = h / 2
        return h
# --8<-- [end:model]


def explain(model: nn.Module):
    """What torch.compile's graph capture makes of `model` on one input."""
    torch._dynamo.reset()
    return torch._dynamo.explain(model)(torch.ones(2, 4))


if __name__ == "__main__":
    from pathlib import Path

    # --8<-- [start:eager]
    model = GatedBlock()
    for scale in (1.0, -10.0):  # two inputs, two different paths through forward()
        x = torch.full((1, 4), scale)
        y = model(x)
        print(f"x = {scale:+}: y = {[round(v, 3) for v in y[0].tolist()]}")
    # --8<-- [end:eager]

    # --8<-- [start:compile]
    report = explain(model)  # torch.compile's capture step, with a report
    print(f"graphs: {report.graph_count}, graph breaks: {report.graph_break_count}")
    seen = set()
    for reason in report.break_reasons:
        frame = reason.user_stack[-1]
        if frame.lineno in seen:
            continue
        seen.add(frame.lineno)
        print(f"  break at {Path(frame.filename).name}:{frame.lineno}: {frame.line.strip()}")
        print(f"    reason: {reason.reason.splitlines()[0][:100]}")
    # --8<-- [end:compile]

    # --8<-- [start:strict]
    try:
        torch.export.export(model, (torch.ones(2, 4),))
    except Exception as error:  # export wants one graph, so a Python `if` on data is an error
        print(f"torch.export: {type(error).__name__}")
        print("  " + str(error).strip().splitlines()[0].split("  (")[0][:120])
    # --8<-- [end:strict]
