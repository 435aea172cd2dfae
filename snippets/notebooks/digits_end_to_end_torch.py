# %% [markdown]
# # Handwritten digits, end to end: PyTorch
#
# Load the digits, train the guide's CNN for a few epochs, measure accuracy on
# the held-out test split and look at which digits it confuses. The
# TensorFlow notebook next to this one does the same steps with the same
# names.
#
# This notebook is generated from `snippets/notebooks/digits_end_to_end_torch.py`
# (a jupytext "percent" script) and executed when the site is built. Cells that
# do real work sit under `if __name__ == "__main__":` so the test suite can
# import the file for its doctest without training; in Jupyter and as a script
# the guard is always true.

# %%
"""The guide's end-to-end notebook in PyTorch (source of the generated .ipynb).

>>> cm = confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2], num_classes=3)
>>> cm.tolist()
[[1, 0, 0], [1, 1, 0], [0, 0, 1]]
>>> accuracy_from(cm)
0.75
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from common.cnn_torch import build_model, count_trainable_params
from common.data import NUM_CLASSES, load_dataset
from common.outputs import output_dir

torch.manual_seed(0)
batch_size = 64
epochs = 8


def confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: rows are the truth."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def accuracy_from(cm: np.ndarray) -> float:
    return float(np.trace(cm) / cm.sum())


# %% [markdown]
# ## The data
#
# `load_dataset()` returns scikit-learn's real handwritten digits (8x8 scans,
# upsampled to MNIST's 28x28) unless `GUIDE_MNIST` points at a real MNIST file.
# PyTorch wants the channel axis first: `(N, 1, 28, 28)`.

# %%
# --8<-- [start:data]
if __name__ == "__main__":
    data = load_dataset()
    print(data.summary())
    X_train = torch.from_numpy(data.x_train).unsqueeze(1)
    y_train = torch.from_numpy(data.y_train)
    X_test = torch.from_numpy(data.x_test).unsqueeze(1)
    y_test = torch.from_numpy(data.y_test)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True)
    print("X_train", tuple(X_train.shape), "X_test", tuple(X_test.shape))
# --8<-- [end:data]

# %%
if __name__ == "__main__":
    fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
    for digit, ax in enumerate(axes):
        ax.imshow(data.x_train[data.y_train == digit][0], cmap="gray_r")
        ax.set_title(str(digit))
        ax.axis("off")

# %% [markdown]
# ## The model
#
# The same CNN every page of the guide uses (two 3x3 convolutions with pooling,
# one linear layer to 10 logits), initialised like Keras' defaults.

# %%
# --8<-- [start:model]
if __name__ == "__main__":
    model = build_model()
    print(f"trainable parameters: {count_trainable_params(model):,}")
# --8<-- [end:model]

# %% [markdown]
# ## Training
#
# Adam with Keras' epsilon (1e-7, PyTorch's default is 1e-8), cross-entropy on
# the logits, a few epochs over the training split.

# %%
# --8<-- [start:train]
if __name__ == "__main__":
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss, correct = 0.0, 0
        for X, y in train_loader:
            optimizer.zero_grad()
            logits = model(X)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        print(f"epoch {epoch}: loss {total_loss / len(y_train):.4f}, "
              f"train accuracy {correct / len(y_train):.3f}")
# --8<-- [end:train]

# %% [markdown]
# ## Evaluation on the test split
#
# Images the model never saw during training.

# %%
# --8<-- [start:evaluate]
if __name__ == "__main__":
    model.eval()
    with torch.no_grad():
        y_pred = model(X_test).argmax(1).numpy()
    cm = confusion_matrix(y_test.numpy(), y_pred)
    print(f"test accuracy: {accuracy_from(cm):.3f} on {len(y_test)} images")
# --8<-- [end:evaluate]

# %% [markdown]
# ## Confusion matrix
#
# Row *i*, column *j* counts test images of digit *i* predicted as *j*; all
# off-diagonal cells are mistakes.

# %%
# --8<-- [start:confusion]
if __name__ == "__main__":
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        if count:
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > cm.max() / 2 else "black", fontsize=8)
    ax.set(xticks=range(NUM_CLASSES), yticks=range(NUM_CLASSES),
           xlabel="predicted digit", ylabel="true digit", title="PyTorch: test-split confusion matrix")
    fig.tight_layout()
    fig.savefig(output_dir() / "confusion_matrix_torch.png", dpi=100)
# --8<-- [end:confusion]
