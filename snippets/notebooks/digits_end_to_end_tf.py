# %% [markdown]
# # Handwritten digits, end to end: TensorFlow
#
# Load the digits, train the guide's CNN for a few epochs, measure accuracy on
# the held-out test split and look at which digits it confuses. The PyTorch
# notebook next to this one does the same steps with the same names.
#
# This notebook is generated from `snippets/notebooks/digits_end_to_end_tf.py`
# (a jupytext "percent" script) and executed when the site is built. Cells that
# do real work sit under `if __name__ == "__main__":` so the test suite can
# import the file for its doctest without training; in Jupyter and as a script
# the guard is always true.

# %%
"""The guide's end-to-end notebook in TensorFlow/Keras (source of the generated .ipynb).

>>> cm = confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2], num_classes=3)
>>> cm.tolist()
[[1, 0, 0], [1, 1, 0], [0, 0, 1]]
>>> accuracy_from(cm)
0.75
"""

import keras
import matplotlib.pyplot as plt
import numpy as np

from common.cnn_tf import build_model, count_trainable_params
from common.data import NUM_CLASSES, load_dataset
from common.outputs import output_dir

keras.utils.set_random_seed(0)
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
# Keras wants the channel axis last: `(N, 28, 28, 1)`.

# %%
# --8<-- [start:data]
if __name__ == "__main__":
    data = load_dataset()
    print(data.summary())
    X_train, y_train = data.x_train[..., None], data.y_train
    X_test, y_test = data.x_test[..., None], data.y_test
    print("X_train", X_train.shape, "X_test", X_test.shape)
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
# one dense layer to 10 logits), with Keras' default initializers.

# %%
# --8<-- [start:model]
if __name__ == "__main__":
    model = build_model()
    print(f"trainable parameters: {count_trainable_params(model):,}")
# --8<-- [end:model]

# %% [markdown]
# ## Training
#
# Adam with epsilon 1e-7 (Keras' default, set explicitly to match the PyTorch
# notebook), cross-entropy on the logits, a few epochs over the training split.
# `fit` shuffles every epoch, like the PyTorch `DataLoader`.

# %%
# --8<-- [start:train]
if __name__ == "__main__":
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(X_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    for epoch, (loss, accuracy) in enumerate(zip(history.history["loss"], history.history["accuracy"], strict=True), 1):
        print(f"epoch {epoch}: loss {loss:.4f}, train accuracy {accuracy:.3f}")
# --8<-- [end:train]

# %% [markdown]
# ## Evaluation on the test split
#
# Images the model never saw during training.

# %%
# --8<-- [start:evaluate]
if __name__ == "__main__":
    y_pred = model.predict(X_test, batch_size=256, verbose=0).argmax(1)
    cm = confusion_matrix(y_test, y_pred)
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
           xlabel="predicted digit", ylabel="true digit", title="TensorFlow: test-split confusion matrix")
    fig.tight_layout()
    fig.savefig(output_dir() / "confusion_matrix_tf.png", dpi=100)
# --8<-- [end:confusion]
