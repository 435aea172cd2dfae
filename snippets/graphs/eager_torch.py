"""Eager execution in PyTorch: every operation runs the moment Python reaches it.

There is no separate "build" step: ``y`` below is a finished tensor with values,
and autograd records how it was made as it goes (``grad_fn``), which is the
"graph built on the fly" the articles describe.

>>> import torch
>>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = x @ x + 1
>>> y.tolist()
[[8.0, 11.0], [16.0, 23.0]]
>>> type(y.grad_fn).__name__
'AddBackward0'
"""

import torch

if __name__ == "__main__":
    # --8<-- [start:eager]
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x @ x + 1  # computed right here; no session, no graph to build first
    print(y)
    print("y is a value:", y.detach().numpy().tolist())
    # --8<-- [end:eager]

    # --8<-- [start:autograd]
    # Autograd records each operation as it runs; the backward graph is this chain.
    node, chain = y.grad_fn, []
    while node is not None:
        chain.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    print("recorded backward graph:", " <- ".join(chain))
    y.sum().backward()
    print("dy/dx summed:", x.grad.tolist())
    # --8<-- [end:autograd]
