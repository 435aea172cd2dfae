"""Graph capture in PyTorch: ``torch.export`` and ``torch.compile`` on the shared CNN.

Eager is the default; a graph exists only when you ask for one. ``torch.export``
traces the model ahead of time into a single FX graph of ATen operators (the
artifact you deploy); ``torch.compile`` captures graphs lazily, on the first
call, and hands each one to a backend. The recording backend below just keeps
the graphs so we can count them.

>>> from common.cnn_torch import build_model
>>> model = build_model()
>>> exported = export_model(model)
>>> counts = count_ops(exported.graph_module)
>>> counts["aten.conv2d.default"], counts["aten.linear.default"]
(2, 1)
>>> traces = compile_and_call(model, calls=3)
>>> len(traces), count_nodes(traces[0]) == count_nodes(exported.graph_module)
(1, True)
"""

from collections import Counter

import torch


# --8<-- [start:helpers]
def export_model(model: torch.nn.Module) -> "torch.export.ExportedProgram":
    example = torch.zeros(1, 1, 28, 28)
    return torch.export.export(model.eval(), (example,))


def count_ops(graph_module: torch.fx.GraphModule) -> Counter:
    """Operator counts of an FX graph: one entry per `call_function` node."""
    return Counter(str(node.target) for node in graph_module.graph.nodes if node.op == "call_function")


def count_nodes(graph_module: torch.fx.GraphModule) -> int:
    """Operation nodes of an FX graph (inputs and the output node excluded)."""
    return sum(node.op in ("call_function", "call_method", "call_module") for node in graph_module.graph.nodes)


def compile_and_call(model: torch.nn.Module, calls: int) -> list:
    """Compile `model`, call it `calls` times on same-shaped input, return the graphs captured."""
    torch._dynamo.reset()  # start from an empty compile cache
    traces = []

    def record(graph_module, example_inputs):  # a torch.compile backend
        traces.append(graph_module)
        return graph_module.forward  # run the captured graph as-is

    compiled = torch.compile(model, backend=record)
    for _ in range(calls):
        compiled(torch.zeros(8, 1, 28, 28))
    return traces
# --8<-- [end:helpers]


if __name__ == "__main__":
    from common.cnn_torch import build_model

    # --8<-- [start:export]
    model = build_model()
    exported = export_model(model)  # torch.export: whole model, ahead of time
    print(exported.graph_module.code.strip())
    ops = count_ops(exported.graph_module)
    print(f"\n{sum(ops.values())} operator nodes:")
    for op, n in sorted(ops.items()):
        print(f"  {n} x {op}")
    # --8<-- [end:export]

    # --8<-- [start:compile]
    traces = compile_and_call(model, calls=3)  # torch.compile: lazily, on the first call
    print(f"3 calls -> {len(traces)} graph(s) captured")
    print(f"the captured graph has {count_nodes(traces[0])} operation nodes")
    # --8<-- [end:compile]
