"""A short convergence check for an image workload: train on the real digits, report test accuracy.

The benchmark times steps on random images; this loop trains the same
workload on the real digits padded to 32x32x3 (:func:`common.data.digits_32`)
and returns the test accuracy, so a workload that is fast but does not learn
shows. It imports no framework: ``work`` is the workload module
(``speed/resnet_workload_torch.py``, ``speed/resnet_workload_tf.py``), and the
loop calls only its ``build``, ``make_train_step``, ``to_device``, ``sync``,
``make_predict`` and ``to_numpy``. Both sides draw the same shuffles.

>>> import numpy as np
>>> class Zeros:  # a stand-in workload whose model always answers 0: the loop runs, nothing learns
...     build = staticmethod(lambda mode: None)
...     make_train_step = staticmethod(lambda model, mode: lambda X, y: 0.0)
...     to_device = staticmethod(lambda x, y, mode: (x, y))
...     sync = staticmethod(float)
...     make_predict = staticmethod(lambda model, mode: lambda X: np.eye(10)[np.zeros(len(X), int)])
...     to_numpy = staticmethod(np.asarray)
>>> round(train_on_digits(Zeros, mode="eager", epochs=1), 2)  # the share of zeros in the test split
0.1
"""

from __future__ import annotations

import numpy as np

from common.data import digits_32


def train_on_digits(work, mode: str, epochs: int = 2, batch_size: int = 64) -> float:
    """Test accuracy of ``work``'s model after ``epochs`` epochs on the digits, trained in ``mode``."""
    x_train, y_train, x_test, y_test = digits_32()
    model = work.build(mode=mode)
    train_step = work.make_train_step(model, mode)
    order = np.random.default_rng(0)
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(len(y_train)), len(y_train) // batch_size):
            work.sync(train_step(*work.to_device(x_train[batch], y_train[batch], mode)))
    X, _ = work.to_device(x_test, y_test, mode)
    predicted = work.to_numpy(work.make_predict(model, mode)(X)).argmax(axis=1)
    return float((predicted == y_test).mean())
