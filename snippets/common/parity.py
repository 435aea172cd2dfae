"""Cross-framework parity: the same weights must compute the same function.

Framework-free (NumPy only), so each framework can run in its own process:
``common.parity_torch`` builds the PyTorch model of a pair, runs it on a fixed
batch and writes everything to one ``.npz`` (its weights, logits, loss,
gradients and the weights after one Adam step); ``common.parity_tf`` reads that
file, copies the weights into the Keras twin through the pair's mapping below,
computes the same things and compares them stage by stage with ``check``.

Each pair is compared twice. The proof runs in float64 on the CPU on both
sides and must pass ``FLOAT64``'s tolerances: float64 leaves the backends no
room to round differently enough to matter, so it says the same on every CPU.
The fp32 run, with each framework's default backend as a user gets it, is
measured against ``FLOAT32`` (the fp32 expectation) and reported, not enforced.

A pair is one ``Pair`` in ``PAIRS``: where its two models are built, the shape
of its fixed batch, and one mapping function from the PyTorch ``state_dict``
(name -> array, in PyTorch's order and layout) to the arrays of the Keras
model's ``model.weights``, in Keras' order and layout. A mapping must only
re-lay out trainable tensors (transpose, reshape, split, permute), so that the
same function maps gradients and updated weights too; a constant it adds may
only touch non-trainable statistics (``map_mobilenet_v2`` folds the difference
in batch-norm epsilon into the moving variance).

>>> w = np.arange(2 * 3 * 3 * 3, dtype="float32").reshape(2, 3, 3, 3)  # OIHW
>>> conv_oihw_to_hwio(w).shape, bool(conv_oihw_to_hwio(w)[1, 2, 0, 1] == w[1, 0, 1, 2])
((3, 3, 3, 2), True)
>>> dense = np.arange(2 * 12, dtype="float32").reshape(2, 12)  # (out, C*H*W) with C=3, H=W=2
>>> dense_after_flatten(dense, channels=3, height=2, width=2)[:, 0].astype(int).tolist()  # rows (h, w, c)
[0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
>>> check("logits", np.float32([1.0, 2.0]), np.float32([1.0, 2.0 + 1e-7]), LOGITS).passed
True
>>> sorted(PAIRS)
['cnn', 'custom_layer', 'model_zoo', 'resnet', 'transformer']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


# --8<-- [start:layouts]
def conv_oihw_to_hwio(weight: np.ndarray) -> np.ndarray:
    """nn.Conv2d's (out, in, kh, kw) kernel as keras Conv2D's (kh, kw, in, out)."""
    return weight.transpose(2, 3, 1, 0)


def depthwise_oihw_to_hwcm(weight: np.ndarray) -> np.ndarray:
    """A depthwise nn.Conv2d (groups=C, weight (C*m, 1, kh, kw)) as DepthwiseConv2D's (kh, kw, C, m), m=1."""
    return weight.transpose(2, 3, 0, 1)


def dense_oi_to_io(weight: np.ndarray) -> np.ndarray:
    """nn.Linear's (out, in) weight as keras Dense's (in, out) kernel."""
    return weight.T


def dense_after_flatten(weight: np.ndarray, channels: int, height: int, width: int) -> np.ndarray:
    """The Linear after an NCHW flatten, as the Dense after an NHWC flatten.

    PyTorch flattens (C, H, W), so input feature c*H*W + h*W + w; Keras
    flattens (H, W, C), feature h*W*C + w*C + c. Same weights, rows permuted.
    """
    out = weight.shape[0]
    return weight.reshape(out, channels, height, width).transpose(2, 3, 1, 0).reshape(height * width * channels, out)
# --8<-- [end:layouts]


def nchw_to_nhwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=-1, keepdims=True)).astype(logits.dtype)  # float64 logits keep their precision


def _batch_norm(state: dict[str, np.ndarray], prefix: str, eps_torch: float, eps_keras: float) -> list[np.ndarray]:
    """BatchNorm2d -> BatchNormalization: gamma, beta, moving mean, moving variance.

    y = gamma (x - mean) / sqrt(var + eps) + beta: with frozen statistics the two
    layers agree exactly when var_keras + eps_keras = var_torch + eps_torch.
    """
    return [
        state[f"{prefix}.weight"],
        state[f"{prefix}.bias"],
        state[f"{prefix}.running_mean"],
        state[f"{prefix}.running_var"] + np.asarray(eps_torch - eps_keras, state[f"{prefix}.running_var"].dtype),
    ]


# --- One mapping per pair ---------------------------------------------------

# --8<-- [start:cnn]
def map_cnn(state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """common/cnn_torch.py -> common/cnn_tf.py: Conv, Conv, Linear after the flatten."""
    channels = state["3.weight"].shape[0]  # channels of the last conv (64 * width)
    return [
        conv_oihw_to_hwio(state["0.weight"]), state["0.bias"],
        conv_oihw_to_hwio(state["3.weight"]), state["3.bias"],
        dense_after_flatten(state["7.weight"], channels, height=5, width=5), state["7.bias"],
    ]
# --8<-- [end:cnn]


def map_custom_layer(state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """ease_of_use/custom_layer_*: SimpleDense stores (in, units) on both sides, so nothing moves.

    The flatten before it sees one channel, where NCHW and NHWC orders coincide.
    """
    return [state["1.weight"], state["1.bias"], state["2.weight"], state["2.bias"]]


MOBILENET_BN_EPS = {"torch": 1e-5, "keras": 1e-3}  # nn.BatchNorm2d's default; keras.applications' MobileNetV2


def map_mobilenet_v2(state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """model_zoo_torch.mobilenet_v2_by_hand -> keras.applications.MobileNetV2, walked in order.

    Both list, layer after layer, conv (no bias) then batch norm, and end with
    the classifier; a conv whose weight has one input channel per group and
    more than one output is MobileNetV2's depthwise 3x3.
    """
    weights: list[np.ndarray] = []
    for name, value in state.items():
        if not name.endswith(".weight"):
            continue
        prefix = name[: -len(".weight")]
        if value.ndim == 4:  # a conv, always followed by its batch norm
            depthwise = value.shape[1] == 1 and value.shape[0] > 1
            weights.append(depthwise_oihw_to_hwcm(value) if depthwise else conv_oihw_to_hwio(value))
        elif f"{prefix}.running_mean" in state:
            weights += _batch_norm(state, prefix, MOBILENET_BN_EPS["torch"], MOBILENET_BN_EPS["keras"])
        else:  # the classifier
            weights += [dense_oi_to_io(value), state[f"{prefix}.bias"]]
    return weights


def map_transformer(state: dict[str, np.ndarray], heads: int) -> list[np.ndarray]:
    """common/transformer_torch.py -> common/transformer_tf.py, in the order of the Keras model's weights.

    Each ``nn.Linear`` (out, in) becomes a Dense (in, out); the attention projections become
    MultiHeadAttention's EinsumDense kernels, (d, heads, head_dim) for query/key/value and
    (heads, head_dim, d) for the output, head h taking features h*hd:(h+1)*hd on both sides.
    """
    d = state["tokens.weight"].shape[1]
    weights = [state["tokens.weight"], state["positions.weight"]]
    block = 0
    while f"blocks.{block}.norm1.weight" in state:
        p = f"blocks.{block}."
        weights += [state[p + "norm1.weight"], state[p + "norm1.bias"]]
        for projection in ("query", "key", "value"):
            weights += [dense_oi_to_io(state[p + projection + ".weight"]).reshape(d, heads, d // heads),
                        state[p + projection + ".bias"].reshape(heads, d // heads)]
        weights += [dense_oi_to_io(state[p + "out.weight"]).reshape(heads, d // heads, d), state[p + "out.bias"]]
        weights += [state[p + "norm2.weight"], state[p + "norm2.bias"],
                    dense_oi_to_io(state[p + "fc1.weight"]), state[p + "fc1.bias"],
                    dense_oi_to_io(state[p + "fc2.weight"]), state[p + "fc2.bias"]]
        block += 1
    return weights + [state["norm.weight"], state["norm.bias"], dense_oi_to_io(state["head.weight"])]


def _transformer_heads() -> int:
    from speed import transformer_workload as described  # framework-free, like this module

    return described.SIZES[described.DEFAULT_SIZE].heads


def map_resnet(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """common/resnet_torch.py -> common/resnet_tf.py, by Keras weight path (its layers are named).

    PyTorch's Sequential numbers the stem conv 0 and its batch norm 1, the eight basic blocks 3-10
    and the classifier 13; each Keras block ``block{k}`` mirrors module ``k + 3``.
    """
    def batch_norm(keras_name: str, prefix: str) -> dict[str, np.ndarray]:
        gamma, beta, mean, var = _batch_norm(state, prefix, 1e-5, 1e-5)  # both sides use epsilon 1e-5
        return {f"{keras_name}/gamma": gamma, f"{keras_name}/beta": beta,
                f"{keras_name}/moving_mean": mean, f"{keras_name}/moving_variance": var}

    mapped = {"stem_conv/kernel": conv_oihw_to_hwio(state["0.weight"]), **batch_norm("stem_bn", "1")}
    block = 0
    while f"{block + 3}.conv1.weight" in state:
        p, k = f"{block + 3}.", f"block{block}"
        for i in (1, 2):
            mapped[f"{k}_conv{i}/kernel"] = conv_oihw_to_hwio(state[f"{p}conv{i}.weight"])
            mapped.update(batch_norm(f"{k}_bn{i}", f"{p}bn{i}"))
        if f"{p}shortcut.0.weight" in state:
            mapped[f"{k}_shortcut_conv/kernel"] = conv_oihw_to_hwio(state[f"{p}shortcut.0.weight"])
            mapped.update(batch_norm(f"{k}_shortcut_bn", f"{p}shortcut.1"))
        block += 1
    classifier = f"{block + 3 + 2}"  # after the pooling and the flatten
    mapped["classifier/kernel"] = dense_oi_to_io(state[f"{classifier}.weight"])
    mapped["classifier/bias"] = state[f"{classifier}.bias"]
    return mapped


def _token_batch(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Two windows of the real text the Transformer trains on, and their next-token targets."""
    from common.text import text_batch  # NumPy only

    return text_batch(pair.input_shape[0], pair.input_shape[1], seed=SEED)


# --- The registry -------------------------------------------------------------

# The guide's optimizer (ease_of_use/mnist_cnn_*.py): Adam, lr 1e-3, betas 0.9/0.999, epsilon 1e-7 on both.
# A pair may use AdamW instead: the same keys plus "weight_decay" (decoupled, as both frameworks apply it).
ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

@dataclass(frozen=True)
class Pair:
    """Two models that must compute the same function once ``map_weights`` has copied the weights."""

    name: str
    title: str  # what a reader calls it
    torch_model: str  # "module:function", called with no arguments
    tf_model: str
    input_shape: tuple[int, ...]  # the fixed batch, in PyTorch's layout
    num_classes: int
    # -> a list in the order of the Keras model's `model.weights`, or a dict keyed by Keras weight
    # path ("block_0/attention/query/kernel", or any tail of it that names one weight)
    map_weights: Callable[[dict[str, np.ndarray]], list[np.ndarray] | dict[str, np.ndarray]]
    to_tf_input: Callable[[np.ndarray], np.ndarray] = nchw_to_nhwc
    tf_outputs: str = "logits"  # or "probabilities", for a Keras model that ends in softmax
    frozen_batch_norm: bool = False  # compare in inference mode (no dropout, batch norm on its statistics)
    settings: dict = field(default_factory=dict)  # module attributes to set before building: {"module": {name: value}}
    optimizer: dict = field(default_factory=lambda: dict(ADAM))  # ADAM, or ADAMW-like with "weight_decay"
    batch: Callable[[Pair], tuple[np.ndarray, np.ndarray]] | None = None  # default: images, see fixed_batch
    note: str = ""  # what the comparison had to fix, for the page
    # Why this pair cannot be proven in float64 (a layer without a float64 CPU kernel on one side), for
    # the page; empty: it can, and is. A pair with a reason has no proof, only its fp32 report.
    float64_blocker: str = ""


PAIRS: dict[str, Pair] = {}


def register(pair: Pair) -> Pair:
    if pair.name in PAIRS:
        raise ValueError(f"parity pair {pair.name!r} registered twice")
    PAIRS[pair.name] = pair
    return pair


register(Pair(
    name="cnn", title="The guide's CNN",
    torch_model="common.cnn_torch:build_model", tf_model="common.cnn_tf:build_model",
    input_shape=(8, 1, 28, 28), num_classes=10, map_weights=map_cnn,
    note="conv kernels OIHW to HWIO; the dense layer's rows permuted from the NCHW to the NHWC flatten order",
))
register(Pair(
    name="custom_layer", title="The custom layer (an MLP of two SimpleDense)",
    torch_model="ease_of_use.custom_layer_torch:build_mlp", tf_model="ease_of_use.custom_layer_tf:build_mlp",
    input_shape=(8, 1, 28, 28), num_classes=10, map_weights=map_custom_layer,
    note="both store the kernel as (in, units): copied as is",
))
register(Pair(
    name="model_zoo", title="MobileNetV2 (model zoo)",
    torch_model="ecosystem.model_zoo_torch:mobilenet_v2_by_hand", tf_model="ecosystem.model_zoo_tf:build_zoo_model",
    # An odd size, where Keras' stride-2 "same"/correct_pad padding is symmetric like PyTorch's padding=1;
    # at 224 Keras pads only the bottom and right, a different function.
    input_shape=(4, 3, 33, 33), num_classes=1000, map_weights=map_mobilenet_v2,
    tf_outputs="probabilities", frozen_batch_norm=True,
    settings={"ecosystem.model_zoo_tf": {"image_size": 33}},
    note="conv kernels OIHW to HWIO, depthwise ones to (kh, kw, C, 1), the classifier transposed, batch-norm "
         "statistics with Keras' larger epsilon folded in; at 33x33 (Keras pads evenly only on odd sizes), "
         "batch norm frozen on statistics of the batch",
))


register(Pair(
    name="transformer", title="The Transformer language model (Speed page)",
    torch_model="speed.transformer_workload_torch:build", tf_model="speed.transformer_workload_tf:build",
    input_shape=(2, 128), num_classes=4096, map_weights=lambda state: map_transformer(state, _transformer_heads()),
    to_tf_input=lambda ids: ids, batch=_token_batch,
    # The workloads' AdamW (without their gradient clipping: one step of unclipped gradients is compared)
    optimizer={"learning_rate": 3e-4, "beta_1": 0.9, "beta_2": 0.95, "epsilon": 1e-8, "weight_decay": 0.1},
    note="Linear weights transposed; attention projections split into heads, (d, heads, head_dim) and "
         "(heads, head_dim, d); embeddings and LayerNorm copied as they are (epsilon 1e-5 set on both sides)",
))
register(Pair(
    name="resnet", title="The ResNet (Speed page)",
    torch_model="speed.resnet_workload_torch:build", tf_model="speed.resnet_workload_tf:build",
    input_shape=(4, 3, 32, 32), num_classes=10, map_weights=map_resnet,
    note="conv kernels OIHW to HWIO by Keras layer name, batch norm gamma/beta/statistics copied (epsilon "
         "1e-5 on both sides), the classifier transposed; compared in training mode (batch statistics); the "
         "Keras twin pads its stride-2 convolutions on every side, as PyTorch does",
))


# --- Inputs, optimizer, comparison -------------------------------------------

SEED = 0


def fixed_batch(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """The batch both sides see: standard-normal images (PyTorch layout) and integer targets.

    A pair with its own ``batch`` (token ids and next-token targets, say) gets that instead;
    targets may have any shape, the loss is the mean cross-entropy over all of them.
    """
    if pair.batch is not None:
        return pair.batch(pair)
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal(pair.input_shape).astype(np.float32)
    y = rng.integers(0, pair.num_classes, size=pair.input_shape[0]).astype(np.int64)
    return X, y




def optimizer_for(pair: Pair, dtype: str) -> dict:
    """The optimizer's hyper-parameters both sides get in ``dtype``.

    In float64 each is the float32 value nearest to the pair's: Keras turns a
    Python float into a tensor through float32 before casting it to a float64
    variable's dtype (``keras.ops.cast``), so beta 0.999 reaches its bias
    correction as 0.99900001287. Rounded once here, both sides run the same
    numbers in float64.

    >>> optimizer_for(PAIRS["cnn"], "float64")["beta_2"] == float(np.float32(0.999)) != 0.999
    True
    >>> optimizer_for(PAIRS["cnn"], "float32") == PAIRS["cnn"].optimizer
    True
    """
    if dtype != "float64":
        return dict(pair.optimizer)
    return {name: float(np.float32(value)) for name, value in pair.optimizer.items()}


def torch_epsilon_for_keras(epsilon: float, beta_2: float, step: int = 1) -> float:
    """PyTorch's eps that makes its Adam step ``step`` equal Keras' Adam with ``epsilon``.

    Keras adds epsilon to sqrt(v) before the bias correction (Kingma and Ba's
    "epsilon hat"), PyTorch to sqrt(v / (1 - beta_2**t)) after it; the same
    update needs eps_torch = epsilon / sqrt(1 - beta_2**t).
    """
    return epsilon / float(np.sqrt(1.0 - beta_2**step))


@dataclass(frozen=True)
class Tolerance:
    """Passes when max|a - b| <= rtol * max|b| + atol, per tensor (b: the PyTorch value)."""

    rtol: float
    atol: float
    why: str


FP32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7
FP64_EPS = float(np.finfo(np.float64).eps)  # 2.2e-16

# The proof runs in float64, on the CPU, on both sides (see docs/method.md, "The same function").
# Why these tolerances. The two frameworks run the same arithmetic in another order (other conv
# algorithms, other blockings of the matmuls), and a sum of K products in another order differs
# by about sqrt(K) * eps of the summands' scale: K is at most a few thousand here (a 1600-wide
# dense, 3x3x960 convs), so ~sqrt(4000) * 2.2e-16 ~ 1.4e-14 of a tensor's largest entry. Each
# layer hands its rounding to the next, scaled by that layer's gain, and the backward pass walks
# the same chain again: over a few dozen layers that is up to ~1e2 times more, ~1e-12. The
# tolerance leaves another 1e2 of room, 1e-10 of the largest entry, so that no CPU's kernel
# blocking decides it; a wrong mapping is off by the order of the values themselves, 1e9 times
# more. No backend reorders a float64 kernel into lower precision (oneDNN has no float64 path),
# so the proof says the same on every CPU.
F64_OUTPUTS = Tolerance(rtol=1e-10, atol=1e-14,
                        why="float64 sums in another order (~sqrt(K)·eps), compounded through the layers")
F64_LOSS = Tolerance(rtol=1e-10, atol=1e-14, why="a mean of log-softmaxes of those outputs")
F64_GRADS = Tolerance(rtol=1e-10, atol=1e-14, why="the backward pass walks the same layers again")
# The step starts from the same (PyTorch's) gradients on both sides: an update of at most lr
# rounded to a few eps of itself, and the new weight to its own ulp (2.2e-16 at 1.0); 1e-12 of
# the largest weight leaves 1e3 of room. Passing the same epsilon to both Adams is ~7e-4 off.
F64_WEIGHTS = Tolerance(rtol=1e-12, atol=1e-14, why="the update's and the weight's own float64 rounding")
FLOAT64 = {"outputs": F64_OUTPUTS, "loss": F64_LOSS, "gradients": F64_GRADS, "weights after one step": F64_WEIGHTS}

# The fp32 expectation: what fp32 agreement is measured against and reported (never enforced;
# a pair whose float64 proof cannot run is proven against it instead, and says why). The same
# reasoning with eps = 1.2e-7 gives ~1e-6 of a tensor's largest entry on a CPU; GPU convolution
# algorithms (Winograd, FFT) round worse, so outputs, loss and gradients get 1e-4 of the tensor's
# largest entry. A backend that rounds differently near a ReLU's kink or in batch statistics
# (an entry on the other side of the kink gets another gradient) lands beyond it.
LOGITS = Tolerance(rtol=1e-4, atol=1e-7, why="fp32 sums in another order (~sqrt(K)·eps), with room for GPU conv algorithms")
LOSS = Tolerance(rtol=1e-4, atol=1e-7, why="a mean of log-softmaxes of those outputs")
GRADS = Tolerance(rtol=1e-4, atol=1e-7, why="the backward pass adds its own reordered sums to the forward's")
# The step is taken from the same (PyTorch's) gradients on both sides, so it is the optimizers'
# own fp32 arithmetic: an update of at most lr = 1e-3 rounded to ~1e-6 of itself, and the new
# weight rounded to its ulp (1.2e-7 at 1.0). Passing the same epsilon to both is ~7e-4 off.
WEIGHTS = Tolerance(rtol=1e-6, atol=1e-7, why="the update's and the weight's own fp32 rounding")
FLOAT32 = {"outputs": LOGITS, "loss": LOSS, "gradients": GRADS, "weights after one step": WEIGHTS}
STAGES = FLOAT32  # the fp32 expectation, by stage
TOLERANCES = {"float64": FLOAT64, "float32": FLOAT32}


@dataclass
class Check:
    stage: str
    max_abs_diff: float  # the largest |Keras - PyTorch| over every tensor of the stage
    worst_ratio: float  # the largest max|diff| / limit over those tensors: passes while <= 1
    scale: float  # the largest |PyTorch value| over those tensors: what the difference is small against
    tensors: int = 1
    entries: int = 0  # every entry of every tensor
    beyond: int = 0  # entries whose |diff| exceeds their tensor's limit
    diff_sq: float = 0.0  # sum of squared differences, and of squared PyTorch values: the relative L2 error
    reference_sq: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.worst_ratio <= 1.0)

    @property
    def relative_l2(self) -> float:
        """||Keras - PyTorch|| / ||PyTorch|| over the whole stage (0 where both are zero)."""
        return float(np.sqrt(self.diff_sq / self.reference_sq)) if self.reference_sq else float(np.sqrt(self.diff_sq))

    @property
    def fraction_beyond(self) -> float:
        return self.beyond / self.entries if self.entries else 0.0


def check(stage: str, ours: np.ndarray, reference: np.ndarray, tolerance: Tolerance) -> Check:
    """Compare one Keras tensor with its PyTorch reference (already in the same layout).

    >>> c = check("gradients", np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), GRADS)
    >>> c.passed, c.beyond, c.entries, round(c.relative_l2, 3)
    (False, 1, 3, 0.134)
    """
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    if ours.shape != reference.shape:
        raise ValueError(f"{stage}: shape {ours.shape} against PyTorch's {reference.shape}")
    delta = np.abs(ours - reference)
    diff = float(np.max(delta)) if ours.size else 0.0
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    limit = tolerance.rtol * scale + tolerance.atol
    return Check(stage, diff, diff / limit, scale, entries=int(reference.size), beyond=int(np.sum(delta > limit)),
                 diff_sq=float(np.sum(delta**2)), reference_sq=float(np.sum(reference**2)))


def check_all(stage: str, ours: list[np.ndarray], reference: list[np.ndarray], tolerance: Tolerance) -> Check:
    """One Check over many tensors (every gradient, every weight), each against its own limit."""
    if len(ours) != len(reference):
        raise ValueError(f"{stage}: {len(ours)} tensors against PyTorch's {len(reference)}")
    checks = [check(stage, a, b, tolerance) for a, b in zip(ours, reference, strict=True)]
    return Check(stage, max(c.max_abs_diff for c in checks), max(c.worst_ratio for c in checks),
                 max(c.scale for c in checks), len(checks), entries=sum(c.entries for c in checks),
                 beyond=sum(c.beyond for c in checks), diff_sq=sum(c.diff_sq for c in checks),
                 reference_sq=sum(c.reference_sq for c in checks))
