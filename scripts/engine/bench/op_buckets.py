"""Reduce an op-level profile from either framework to the same few buckets.

``snippets/speed/op_profile_{torch,tf}.py`` return each op's self time as its
framework's own profiler reports it; :func:`reduce` maps those names into the
buckets below, per training step, so one stacked chart can show both. A
bucket is the kernel that ran, not the layer it came from: TensorFlow's oneDNN
path fuses the bias add and ReLU into the convolution kernel, so its
"conv forward" carries work PyTorch's eager mode books under pointwise.
"pointwise/pooling/layout" is everything elementwise or data-rearranging in
the model: ReLU, pooling, bias add, flatten/reshape/transpose copies and
mixed precision's dtype casts, forward and backward.

"framework overhead" is the profiled wall time that no op accounts for
(Python, dispatch, the executor, waiting) plus the self time of the events
that are the framework's own machinery rather than an op (torch.compile's
guards and wrappers). It is never negative: when the ops' self times add up to
more than the wall time (ops running side by side on inter-op threads), the
result says so and the fractions are of the ops' total instead.

>>> profile = {"framework": "torch", "mode": "eager", "batch_size": 8, "steps": 2, "wall_ns": 1000,
...            "ops": [{"name": "aten::convolution_backward", "scope": "", "self_ns": 600, "count": 4},
...                    {"name": "aten::frobnicate", "scope": "", "self_ns": 100, "count": 2}]}
>>> result = reduce(profile)
>>> result["buckets_ns_per_step"]["conv backward"], result["buckets_ns_per_step"]["framework overhead"]
(300.0, 150.0)
>>> result["unmapped"]
['aten::frobnicate']
"""

from __future__ import annotations

import re
from typing import NamedTuple

BUCKETS = ("conv forward", "conv backward", "matmul", "pointwise/pooling/layout", "loss",
           "optimizer update", "data/other", "framework overhead")
OTHER = "data/other"
OVERHEAD = "framework overhead"


class Rule(NamedTuple):
    bucket: str
    framework: str  # "torch" or "tf"
    name: str | None  # a regex searched in the op's name; None: any name
    scope: str | None  # a regex searched in the op's scope (what encloses it); None: any scope
    why: str


# The whole mapping, in order: the first rule whose name and scope patterns both match decides.
# Rule(bucket, framework, name regex or None for any, scope regex or None for any, why)
PW = "pointwise/pooling/layout"
RULES = (
    # --- PyTorch: name = the profiler's event name, scope = the outermost event enclosing it ------------
    Rule(OVERHEAD, "torch",
         r"^(Torch-Compiled Region|TorchDynamo Cache Lookup|CompiledFunction(Backward)?$|## Call CompiledFxGraph"
         r"|AOTDispatcher|Pregraph bytecode|autograd::engine::evaluate_function: CompiledFunctionBackward)", None,
         "torch.compile's guards, wrappers and graph calls: its own machinery around the kernels, not an op"),
    Rule("optimizer update", "torch", None, r"^Optimizer\.(step|zero_grad)#",
         "everything inside PyTorch's own Optimizer.step / zero_grad events is the update"),
    Rule("conv backward", "torch", r"convolution_backward$", None,
         "ATen's convolution backward kernel (input, weight and bias gradients in one call)"),
    Rule(PW, "torch", r"cpp_fused_", None,
         "Inductor's generated C++ loops (ReLU, pooling and their gradients, fused); convolutions and "
         "matmuls stay extern kernels, whatever aten names a fused loop's name lists"),
    Rule("conv forward", "torch",
         r"^(aten::(conv2d|convolution|_convolution|mkldnn_convolution)|mkldnn::_convolution_pointwise)$", None,
         "the forward convolution and the dispatcher layers above oneDNN's kernel"),
    Rule("matmul", "torch", r"^(aten::(linear|addmm|mm|bmm|matmul)|mkldnn::_linear_pointwise)$", None,
         "the dense layer's GEMM, forward and backward"),
    Rule("loss", "torch", r"^aten::(cross_entropy_loss|(_)?log_softmax(_backward_data)?|nll_loss\w*)$", None,
         "cross-entropy on logits: log-softmax plus NLL, and their gradients"),
    Rule("conv backward", "torch", None, r"evaluate_function: ConvolutionBackward",
         "autograd's conv backward node and the buffers it allocates"),
    Rule("matmul", "torch", None, r"evaluate_function: (Addmm|Mm|T)Backward|^aten::linear$",
         "autograd's nodes for the dense layer (its GEMMs and the weight transpose)"),
    Rule("loss", "torch", None,
         r"evaluate_function: (NllLoss|LogSoftmax)Backward|^aten::cross_entropy_loss$|^aten::ones_like$",
         "the loss and its backward; ones_like is backward's seed gradient of the loss"),
    Rule("conv forward", "torch", None, r"^aten::conv2d$",
         "work inside the forward convolution call: its allocations, and autocast's casts of its inputs"),
    Rule(PW, "torch", None,
         r"evaluate_function: (MaxPool2DWithIndices|Relu|Threshold|View|UnsafeView|Reshape|Clone|Permute|ToCopy)"
         r"\w*Backward|^aten::(max_pool2d|relu|flatten|view|reshape|clone|contiguous)$",
         "ReLU, max-pooling, flatten (a copy first in channels_last) and dtype casts, forward and backward"),
    Rule(PW, "torch",
         r"^aten::(relu_?|clamp_min_?|threshold_backward|max_pool2d\w*|view|reshape|flatten|t|transpose"
         r"|as_strided_?|expand|scatter_reduce_?|_unsafe_view|permute|contiguous|clone)$", None,
         "pointwise, pooling and view/layout kernels wherever they run"),
    Rule(OTHER, "torch", None, r"evaluate_function: torch::autograd::AccumulateGrad",
         "autograd storing each parameter's gradient in .grad (TF hands gradients to the optimizer directly)"),
    Rule(OTHER, "torch",
         r"^(aten::(empty\w*|copy_|_to_copy|to|resize_|fill_|zero_|detach|detach_|item|_local_scalar_dense"
         r"|resolve_conj|resolve_neg|new_empty_strided|ones_like|empty_like)|detach)$", None,
         "allocation, copies and scalar reads outside any node above: memory traffic, not arithmetic"),
    # --- TensorFlow: name = kernel type, eager op type or XLA "<hlo> [<TF op>]"; scope = name scope ---------
    Rule("optimizer update", "tf", None, r"^adam(_\d+)?$",
         "Keras names every op of its Adam update under the optimizer's scope, 'adam' or, for a second "
         "optimizer in one process, 'adam_1' (graph modes, XLA)"),
    Rule("conv backward", "tf", r"Conv2DBackprop(Input|Filter)", None,
         "the convolution's input and weight gradients (oneDNN's filter gradient also sums the bias "
         "gradient), also XLA's convolutions and layout fusions that carry those ops' names"),
    Rule("conv backward", "tf", r"^convolution$", None,
         "an XLA convolution without TF metadata: XLA keeps Conv2D's name on forward convolutions but "
         "rewrites Conv2DBackpropFilter into a transposed convolution that carries none"),
    Rule("conv forward", "tf", r"Conv2D", None,
         "the forward convolution; oneDNN's _MklNativeFusedConv2D includes the bias add and ReLU"),
    Rule("matmul", "tf", r"MatMul|^dot\b", None,
         "the dense layer's GEMM, forward and backward (oneDNN's fused one includes the bias add)"),
    Rule("loss", "tf", r"SparseSoftmaxCrossEntropyWithLogits", None,
         "the fused softmax cross-entropy kernel"),
    Rule("loss", "tf", None, r"sparse_categorical_crossentropy|compile_loss",
         "Keras' loss scopes (the loss's own; 'compile_loss' under fit): the mean over the batch and its gradient"),
    Rule("optimizer update", "tf",
         r"^(AssignAddVariableOp|AssignSubVariableOp|AssignVariableOp|ResourceApplyAdam|Pow|Sqrt|Square"
         r"|RealDiv|Sub|Mul|AddV2)$", r"^$",
         "unnamed (eager) ops of these types: in this step they are Adam's; the named tf.function trace "
         "shows it (a test checks the share)"),
    Rule("loss", "tf", r"^(Sum|DivNoNan|Prod)$", r"^$",
         "the unnamed eager ops that reduce the loss over the batch"),
    Rule(PW, "tf",
         r"Relu|MaxPool|BiasAdd|Reshape|Squeeze|Transpose|ExpandDims|Tile|^Neg$|^Cast$|ynn_fusion"
         r"|^(wrapped_)?(iota|transpose|copy|bitcast|concatenate|broadcast|reduce-window|scatter|select-and-scatter"
         r"|compare_select|broadcast_maximum|transpose_copy|concatenate_bitcast|bitcast_copy)", None,
         "ReLU, pooling, bias add, layout ops and dtype casts (mixed precision's), their gradients, also "
         "XLA's fusions of them"),
    Rule(OTHER, "tf",
         r"^(ReadVariableOp|VarHandleOp|_EagerConst|Const|Identity|Shape|ShapeN|BroadcastGradientArgs|NoOp"
         r"|IteratorGetNext\w*|OptionalFromValue|OptionalGetValue|OptionalHasValue|MakeIterator|AnonymousIteratorV\d"
         r"|DatasetCardinality)$", None,
         "reading variables, shapes for the gradient, feeding the step: bookkeeping and data, not arithmetic"),
)


_COMPILED = [(rule, re.compile(rule.name or ""), re.compile(rule.scope or "")) for rule in RULES]


def bucket_of(framework: str, name: str, scope: str = "") -> str | None:
    """The bucket the first matching rule gives, or None when no rule matches."""
    for rule, name_re, scope_re in _COMPILED:
        if rule.framework == framework and name_re.search(name) and scope_re.search(scope):
            return rule.bucket
    return None


def reduce(profile: dict) -> dict:
    """Per-step time and fraction per bucket, with the ops no rule knows listed for a reviewer."""
    framework, steps = profile["framework"], profile["steps"]
    totals = dict.fromkeys(BUCKETS, 0)
    unmapped: set[str] = set()
    for op in profile["ops"]:
        bucket = bucket_of(framework, op["name"], op.get("scope", ""))
        if bucket is None:
            bucket = OTHER
            unmapped.add(op["name"])
        totals[bucket] += op["self_ns"]
    op_total = sum(op["self_ns"] for op in profile["ops"])
    untraced = profile["wall_ns"] - op_total
    totals[OVERHEAD] += max(untraced, 0)
    whole = max(profile["wall_ns"], sum(totals.values()))  # the ops' total when they exceed the wall
    return {
        "framework": framework,
        "mode": profile["mode"],
        "batch_size": profile["batch_size"],
        "steps": steps,
        "wall_ns_per_step": profile["wall_ns"] / steps,
        "buckets_ns_per_step": {bucket: totals[bucket] / steps for bucket in BUCKETS},
        "fractions": {bucket: totals[bucket] / whole if whole else 0.0 for bucket in BUCKETS},
        "untraced_ns_per_step": max(untraced, 0) / steps,
        "ops_exceed_wall": untraced < 0,
        "ops_over_wall_ns_per_step": max(-untraced, 0) / steps,
        "unmapped": sorted(unmapped),
    }
