"""The op-profile pair and its reducer (docs/method.md#ceiling and #profile).

Most tests read real profiles recorded once from both frameworks
(``tests/fixtures/op_profile/record.py`` writes them); two live tests run
``profile_steps`` on a tiny batch so a framework upgrade that renames ops
fails here, not on the Speed page.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from engine.bench import op_buckets
from engine.bench.op_buckets import BUCKETS, bucket_of, reduce

FIXTURES = Path(__file__).parent / "fixtures" / "op_profile"
PROFILES = sorted(FIXTURES.glob("*.json"))
ARITHMETIC_BUCKETS = ("conv forward", "conv backward", "matmul", "pointwise/pooling/layout", "loss",
                      "optimizer update")


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def names(profile: dict) -> set[str]:
    return {op["name"] for op in profile["ops"]}


def test_fixtures_cover_both_frameworks_and_their_tiers():
    recorded = {path.stem for path in PROFILES}
    assert {"torch_eager", "torch_compile", "tf_eager", "tf_function"} <= recorded


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_recorded_op_is_mapped_and_every_bucket_is_filled(path):
    profile = json.loads(path.read_text(encoding="utf-8"))
    result = reduce(profile)
    assert list(result["buckets_ns_per_step"]) == list(BUCKETS)  # same buckets, same order, both sides
    assert result["unmapped"] == [], f"no rule for {result['unmapped']}"
    empty = [bucket for bucket in ARITHMETIC_BUCKETS if not result["buckets_ns_per_step"][bucket] > 0]
    assert not empty, f"{path.stem}: nothing in {empty}"


def test_both_frameworks_reduce_to_the_same_bucket_set():
    results = [reduce(json.loads(path.read_text(encoding="utf-8"))) for path in PROFILES]
    assert {r["framework"] for r in results} == {"torch", "tf"}
    assert len({tuple(r["buckets_ns_per_step"]) for r in results}) == 1
    assert len({tuple(r["fractions"]) for r in results}) == 1


@pytest.mark.parametrize(("fixture", "name", "scope", "bucket"), [
    ("torch_eager", "aten::convolution_backward", None, "conv backward"),
    ("torch_compile", "aten::convolution_backward", None, "conv backward"),
    ("torch_eager", "aten::mkldnn_convolution", None, "conv forward"),
    ("torch_eager", "aten::addmm", None, "matmul"),
    ("torch_eager", "aten::lerp_", "Optimizer.step#Adam.step", "optimizer update"),
    ("torch_eager", "aten::max_pool2d_with_indices", None, "pointwise/pooling/layout"),
    ("torch_eager", "aten::_log_softmax", None, "loss"),
    ("torch_compile", "Torch-Compiled Region: 0/0", None, "framework overhead"),
    ("tf_eager", "Conv2DBackpropFilter", None, "conv backward"),
    ("tf_eager", "Conv2DBackpropInput", None, "conv backward"),
    ("tf_eager", "Conv2D", None, "conv forward"),
    ("tf_eager", "AssignSubVariableOp", None, "optimizer update"),
    ("tf_eager", "SparseSoftmaxCrossEntropyWithLogits", None, "loss"),
    ("tf_function", "_MklNativeConv2DBackpropFilterWithBias", None, "conv backward"),
    ("tf_function", "_MklNativeConv2DBackpropInput", None, "conv backward"),
    ("tf_function", "_MklNativeFusedConv2D", None, "conv forward"),
    ("tf_function", "_MklMatMul", None, "matmul"),
    ("tf_function", "Sqrt", "adam", "optimizer update"),
    ("tf_function", "_MklNativeMaxPoolGrad", None, "pointwise/pooling/layout"),
])
def test_known_ops_land_in_their_bucket(fixture, name, scope, bucket):
    profile = load(fixture)
    ops = [op for op in profile["ops"] if op["name"] == name and (scope is None or op["scope"] == scope)]
    assert ops, f"{name} is not in the recorded {fixture} profile: the fixture or the framework changed"
    assert {bucket_of(profile["framework"], op["name"], op["scope"]) for op in ops} == {bucket}


def test_xla_convolutions_split_into_forward_and_backward():
    if not (FIXTURES / "tf_xla.json").exists():
        pytest.skip("no XLA fixture recorded")
    profile = load("tf_xla")
    buckets = {op["name"]: bucket_of("tf", op["name"], op["scope"]) for op in profile["ops"]
               if op["name"].startswith("convolution")}
    assert buckets.get("convolution [Conv2D]") == "conv forward"
    assert buckets.get("convolution [Conv2DBackpropInput]") == "conv backward"
    # The forward convolutions all kept their TF name, so the unnamed ones are the gradients.
    forward = sum(op["count"] for op in profile["ops"] if op["name"] == "convolution [Conv2D]")
    eager_forward = sum(op["count"] for op in load("tf_eager")["ops"] if op["name"] == "Conv2D")
    assert forward == eager_forward  # two conv layers per step in both tiers


def test_unnamed_eager_arithmetic_is_mostly_adam_where_names_exist():
    """The rule that books TF eager's unnamed Mul/Sub/... as the optimizer's, checked on the named trace."""
    rule = next(rule for rule in op_buckets.RULES
                if rule.framework == "tf" and rule.scope == r"^$" and "AssignSubVariableOp" in rule.name)
    ops = [op for op in load("tf_function")["ops"] if re.search(rule.name, op["name"])]
    adam = sum(op["self_ns"] for op in ops if op["scope"] == "adam")
    assert adam / sum(op["self_ns"] for op in ops) > 0.8


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_overhead_is_wall_minus_ops_and_everything_adds_up(path):
    profile = json.loads(path.read_text(encoding="utf-8"))
    result = reduce(profile)
    op_total = sum(op["self_ns"] for op in profile["ops"])
    steps = profile["steps"]
    assert result["untraced_ns_per_step"] * steps == pytest.approx(max(profile["wall_ns"] - op_total, 0))
    machinery = sum(op["self_ns"] for op in profile["ops"]
                    if bucket_of(profile["framework"], op["name"], op["scope"]) == "framework overhead")
    assert result["buckets_ns_per_step"]["framework overhead"] * steps == pytest.approx(
        max(profile["wall_ns"] - op_total, 0) + machinery)
    assert sum(result["buckets_ns_per_step"].values()) * steps == pytest.approx(max(profile["wall_ns"], op_total))
    assert sum(result["fractions"].values()) == pytest.approx(1.0)


def test_ops_exceeding_the_wall_are_reported_not_hidden():
    profile = {"framework": "tf", "mode": "function", "batch_size": 4, "steps": 1, "wall_ns": 100,
               "ops": [{"name": "Conv2D", "scope": "", "self_ns": 90, "count": 1},
                       {"name": "Conv2DBackpropInput", "scope": "", "self_ns": 60, "count": 1}]}
    result = reduce(profile)
    assert result["ops_exceed_wall"] and result["ops_over_wall_ns_per_step"] == 50
    assert result["buckets_ns_per_step"]["framework overhead"] == 0
    assert result["fractions"]["conv forward"] == pytest.approx(90 / 150)


def test_an_unknown_op_is_listed_and_counted_as_other():
    profile = {"framework": "torch", "mode": "eager", "batch_size": 4, "steps": 1, "wall_ns": 100,
               "ops": [{"name": "aten::brand_new_op", "scope": "aten::brand_new_op", "self_ns": 40, "count": 1}]}
    result = reduce(profile)
    assert result["unmapped"] == ["aten::brand_new_op"]
    assert result["buckets_ns_per_step"]["data/other"] == 40


def test_every_rule_says_why_and_names_a_bucket():
    for rule in op_buckets.RULES:
        assert rule.bucket in BUCKETS and rule.framework in {"torch", "tf"} and (rule.name or rule.scope)
        assert len(rule.why) > 20


# --- the dispatch probe's parser, on verbose output recorded on the builder -------------------------------


def test_torch_probe_parser_reads_the_recorded_logs():
    from speed.profile_helpers import parse_probe

    text = (FIXTURES / "torch_probe.txt").read_text(encoding="utf-8")
    probe = parse_probe(text.splitlines(), framework="torch")
    assert probe["blas"] == "mkl" and probe["mkldnn_available"] == "True"
    # fp32 matmul: MKL's SGEMM, and MKL's banner says which code path it picked.
    assert probe["matmul_fp32"]["library"] == "MKL" and probe["matmul_fp32"]["primitive"] == "SGEMM"
    assert probe["matmul_fp32"]["isa"] == probe["mkl_isa"] and "Intel(R)" in probe["mkl_isa"]
    assert probe["conv_fp32"]["library"] == "oneDNN" and probe["conv_fp32"]["primitive"] == "convolution"
    assert probe["conv_fp32"]["isa"] in probe["conv_fp32"]["impl"]
    assert all(line in text for line in probe["raw"])  # verbatim lines, not paraphrase


def test_tf_probe_parser_reads_the_recorded_logs():
    from speed.op_profile_tf import parse_tf_probe

    text = (FIXTURES / "tf_probe.txt").read_text(encoding="utf-8")
    probe = parse_tf_probe(text.splitlines())
    assert probe["onednn_custom_ops"] == "on"
    assert probe["conv_fp32"]["library"] == "oneDNN" and probe["conv_fp32"]["primitive"] == "convolution"
    assert probe["matmul_fp32"]["library"] == probe["matmul_fp32_function"]["library"] == "oneDNN"
    assert probe["matmul_fp32"]["primitive"] == "gemm_api" and probe["matmul_fp32"]["isa"] == probe["onednn_isa"]
    assert "AVX512F" in probe["tf_kernels_not_built_for"]
    assert all(line in text for line in probe["raw"])


# --- live: one tiny run per framework ----------------------------------------------------------------------


@pytest.mark.parametrize(("framework", "mode"), [("torch", "eager"), ("tf", "function")])
def test_profile_steps_sees_the_convolutions_live(framework, mode):
    work = importlib.import_module(f"speed.op_profile_{framework}")
    profile = work.profile_steps(mode=mode, batch_size=4, width=1, warmup=2, steps=2, threads=1)
    json.dumps(profile)  # the harness stores it as JSON
    assert profile["framework"] == framework and profile["steps"] == 2
    result = reduce(profile)
    assert result["buckets_ns_per_step"]["conv forward"] > 0
    assert result["buckets_ns_per_step"]["conv backward"] > 0
    assert result["unmapped"] == [], f"new op names: {result['unmapped']}"


def test_dispatch_probe_live_torch():
    from speed.op_profile_torch import dispatch_probe

    probe = dispatch_probe()
    json.dumps(probe)
    assert probe["conv_fp32"]["library"] in {"oneDNN", "MKL"} and probe["matmul_fp32"]["library"] in {"MKL", "oneDNN"}


def test_tf_trace_parse_matches_tensorflows_own_op_stats():
    """On a tf.function trace, the self times read here equal TF's own converter's (TensorBoard's op stats)."""
    import tempfile

    tf = pytest.importorskip("tensorflow")
    plugin = pytest.importorskip("tensorflow.python.profiler.internal._pywrap_profiler_plugin")
    from speed import cnn_workload_tf as work
    from speed.op_profile_tf import ops_from_xspace

    work.configure(1)
    model = work.build(1)
    X, y = work.make_batch(4)
    train_step = work.make_train_step(model, "function")
    work.sync(train_step(X, y))
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(2):
            work.sync(train_step(X, y))
        tf.profiler.experimental.stop()
        (trace,) = Path(logdir).rglob("*.xplane.pb")
        mine: dict[str, int] = {}
        for op in ops_from_xspace(trace.read_bytes()):
            mine[op["name"]] = mine.get(op["name"], 0) + op["self_ns"]
        data, ok = plugin.xspace_to_tools_data([str(trace)], "framework_op_stats", {})
    assert ok, data
    table = json.loads(data)[0]
    columns = [column["id"] for column in table["cols"]]
    theirs: dict[str, float] = {}
    for row in table["rows"]:
        values = dict(zip(columns, [cell.get("v") for cell in row["c"]], strict=True))
        if values["type"] != "IDLE":  # the converter's idle time is not an op
            theirs[values["type"]] = theirs.get(values["type"], 0) + values["total_self_time"] * 1000  # us -> ns
    assert set(mine) == set(theirs)
    for name, self_ns in theirs.items():
        assert mine[name] == pytest.approx(self_ns, rel=1e-3, abs=1000), name


def test_torch_scoped_self_times_equal_key_averages():
    """Splitting self time by enclosing event loses nothing: per name it is what key_averages() reports."""
    from torch.profiler import ProfilerActivity, profile

    from speed import cnn_workload_torch as work
    from speed.op_profile_torch import ops_by_scope

    work.configure(1)
    model = work.build(1)
    X, y = work.make_batch(4)
    train_step = work.make_train_step(model, "eager")
    work.sync(train_step(X, y))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(2):
            work.sync(train_step(X, y))
    mine: dict[str, int] = {}
    for op in ops_by_scope(prof.events()):
        mine[op["name"]] = mine.get(op["name"], 0) + op["self_ns"]
    theirs = {event.key: event.self_cpu_time_total * 1000 for event in prof.key_averages()}
    assert set(mine) == set(theirs)
    for name, self_ns in theirs.items():
        assert mine[name] == pytest.approx(self_ns, rel=1e-3, abs=50), name
