"""``print`` inside a PyTorch model, eager and under ``torch.compile``.

In eager mode ``forward`` is plain Python, so ``print`` fires on every call
and shows real values. ``torch.compile`` does not trace a ``print`` into its
graph: it splits the function around it (a graph break: one graph before it, one after) and runs the ``print``
in Python on every call, so the output is the same and the cost is an extra
graph. PyTorch needs no ``tf.print`` counterpart.

>>> printed, traces = count_prints(make_step(), calls=3, compiled=True)
>>> len(printed), len(traces)
(3, 2)
"""

import contextlib
import io

import torch


# --8<-- [start:step]
def make_step():
    def step(x):
        y = x * 2
        print("print:    y =", y)  # Python: runs on every call
        return y + 1

    return step
# --8<-- [end:step]


def count_prints(step, calls: int, compiled: bool) -> tuple[list[str], list]:
    """Call `step` (compiled or not) `calls` times; return printed lines and captured graphs."""
    torch._dynamo.reset()
    traces = []

    def record(graph_module, example_inputs):  # torch.compile backend that keeps each graph
        traces.append(graph_module)
        return graph_module.forward

    fn = torch.compile(step, backend=record) if compiled else step
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for i in range(calls):
            fn(torch.tensor(float(i)))
    return printed.getvalue().splitlines(), traces


if __name__ == "__main__":
    # --8<-- [start:print]
    printed, traces = count_prints(make_step(), calls=3, compiled=True)
    print(f"torch.compile, 3 calls: print fired {len(printed)}x, graphs captured: {len(traces)}")
    for line in printed:
        print("  " + line)
    # --8<-- [end:print]

    # --8<-- [start:eager]
    printed, traces = count_prints(make_step(), calls=3, compiled=False)
    print(f"eager, 3 calls: print fired {len(printed)}x")
    for line in printed:
        print("  " + line)
    # --8<-- [end:eager]
