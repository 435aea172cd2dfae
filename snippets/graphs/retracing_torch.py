"""When ``torch.compile`` captures a new graph: new Python values and new shapes.

A compiled function guards on what it assumed while capturing (a Python
number's value, a tensor's shape); a call that breaks a guard recompiles. By
default the second distinct value or shape is recompiled as *dynamic*, so
later ones reuse that graph ("automatic dynamic shapes"); ``dynamic=True`` asks
for a shape-generic graph from the first call. Tensors passed as tensors never
recompile for a new value.

>>> import torch
>>> scale, traces = compiled_scale()
>>> for factor in (1.0, 2.0, 3.0):
...     _ = scale(torch.ones(3), torch.tensor(factor))
>>> len(traces)
1
"""

import torch


# --8<-- [start:counter]
def compiled_scale(**compile_options):
    """A freshly compiled `x * factor` and the list of graphs it has captured so far."""
    torch._dynamo.reset()  # forget graphs captured for earlier examples
    traces = []

    def record(graph_module, example_inputs):  # backend: keep the graph, run it as-is
        traces.append(graph_module)
        return graph_module.forward

    def scale(x, factor):
        return x * factor

    return torch.compile(scale, backend=record, **compile_options), traces
# --8<-- [end:counter]


if __name__ == "__main__":
    # --8<-- [start:scalars]
    scale, traces = compiled_scale()
    for factor in (1.0, 2.0, 3.0):  # Python floats
        scale(torch.ones(3), factor)
    print(f"Python scalars 1.0, 2.0, 3.0 -> {len(traces)} graph(s)")

    scale, traces = compiled_scale()
    for factor in (1.0, 2.0, 3.0):  # the same values as tensors
        scale(torch.ones(3), torch.tensor(factor))
    print(f"tensor scalars           -> {len(traces)} graph(s)")
    # --8<-- [end:scalars]

    # --8<-- [start:shapes]
    scale, traces = compiled_scale()
    for n in (3, 4, 5, 6):  # a new length on every call
        scale(torch.ones(n), torch.tensor(2.0))
    print(f"lengths 3, 4, 5, 6                -> {len(traces)} graph(s)")

    scale, traces = compiled_scale(dynamic=True)  # the fix: ask for shape-generic graphs
    for n in (3, 4, 5, 6):
        scale(torch.ones(n), torch.tensor(2.0))
    print(f"lengths 3, 4, 5, 6, dynamic=True  -> {len(traces)} graph(s)")
    # --8<-- [end:shapes]
