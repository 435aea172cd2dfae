"""The snippet runner's cache and failure behaviour, on small fixture snippets.

Fixtures live in a temporary ``snippets/`` tree; the engine's paths are
pointed at it so nothing in the real cache or docs is touched.
"""

from __future__ import annotations

import logging
import textwrap

import pytest

from engine import paths, snippet_runner
from engine.snippet_runner import SnippetFailure, refresh
from engine.snippets import discover

log = logging.getLogger("test")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "snippets"
    (root / "demo").mkdir(parents=True)
    monkeypatch.setattr(paths, "SNIPPETS_DIR", root)
    monkeypatch.setattr(paths, "SNIPPET_CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(paths, "SNIPPET_OUTPUT_DIR", tmp_path / "generated")

    def write(relative: str, body: str):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
        return path

    write("demo/hello_torch.py", 'print("hello from torch side")\n')
    write("demo/hello_tf.py", 'print("hello from tf side")\n')
    return write


def run(mode="stale", **kwargs):
    return refresh(mode, log, snippets=discover(paths.SNIPPETS_DIR), jobs=2, **kwargs)


def test_first_run_executes_and_second_reuses(tree):
    first = run()
    assert sorted(s.split("/")[-1] for s in first.ran) == ["hello_tf.py", "hello_torch.py"]
    second = run()
    assert second.ran == [] and len(second.reused) == 2
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "hello_tf.txt").read_text() == "hello from tf side\n"


def test_changing_one_snippet_reruns_only_that_one(tree):
    run()
    tree("demo/hello_tf.py", 'print("changed")\n')
    again = run()
    assert [s.split("/")[-1] for s in again.ran] == ["hello_tf.py"]
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "hello_tf.txt").read_text() == "changed\n"


def test_changing_an_imported_helper_reruns_its_users(tree):
    tree("fixture_helper.py", "GREETING = 'hi'\n")
    tree("demo/hello_torch.py", "from fixture_helper import GREETING\nprint(GREETING)\n")
    run()
    tree("fixture_helper.py", "GREETING = 'hello again'\n")
    again = run()
    assert [s.split("/")[-1] for s in again.ran] == ["hello_torch.py"]
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "hello_torch.txt").read_text() == "hello again\n"


def test_mode_all_reruns_everything_and_none_runs_nothing(tree):
    run()
    assert len(run("all").ran) == 2
    reused = run("none")
    assert reused.ran == [] and len(reused.reused) == 2


def test_mode_none_without_stored_output_fails_clearly(tree):
    with pytest.raises(SnippetFailure, match="no stored output"):
        run("none")


def test_unknown_mode_is_rejected(tree):
    with pytest.raises(ValueError, match="unknown mode"):
        run("sometimes")


def test_a_raising_snippet_fails_with_path_and_traceback_and_is_not_cached(tree):
    tree("demo/broken_torch.py", "def f():\n    return 1 / 0\nf()\n")
    tree("demo/broken_tf.py", "print('fine')\n")
    with pytest.raises(SnippetFailure) as failure:
        run()
    message = str(failure.value)
    assert "demo/broken_torch.py" in message and "ZeroDivisionError" in message
    assert "return 1 / 0" in message  # the end of the traceback, not just the type
    # The others still ran and were cached; the failure was not.
    assert snippet_runner.load_record(next(s for s in discover(paths.SNIPPETS_DIR) if s.stem == "broken_tf"))
    assert not snippet_runner.load_record(next(s for s in discover(paths.SNIPPETS_DIR) if s.stem == "broken_torch"))


def test_stderr_and_nonzero_exit_fail_the_run(tree):
    tree("demo/hello_torch.py", "import sys\nsys.stderr.write('disk on fire\\n')\nsys.exit(3)\n")
    with pytest.raises(SnippetFailure, match=r"(?s)status 3.*disk on fire"):
        run()


def test_a_hanging_snippet_times_out(tree):
    tree("demo/hello_torch.py", "# guide: timeout=2\nimport time\ntime.sleep(60)\n")
    with pytest.raises(SnippetFailure, match="timed out after 2 s"):
        run()


def test_files_written_to_output_dir_are_kept_and_figures_published(tree):
    tree(
        "demo/hello_torch.py",
        "from pathlib import Path\nimport os\nout = Path(os.environ['GUIDE_OUTPUT_DIR'])\n"
        "(out / 'chart.svg').write_text('<svg/>')\n(out / 'model.bin').write_bytes(b'0' * 10)\n",
    )
    run()
    assert (snippet_runner.files_dir("demo", "hello_torch") / "model.bin").exists()
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "hello_torch" / "chart.svg").read_text() == "<svg/>"
    assert not (paths.SNIPPET_OUTPUT_DIR / "demo" / "hello_torch" / "model.bin").exists()


def test_a_corrupt_cache_entry_is_a_miss_not_a_crash(tree):
    run()
    snippet = next(s for s in discover(paths.SNIPPETS_DIR) if s.stem == "hello_tf")
    snippet_runner.record_path(snippet).write_text("{not json")
    again = run()
    assert [s.split("/")[-1] for s in again.ran] == ["hello_tf.py"]


def test_exclusive_snippets_run_alone_after_the_others(tree, tmp_path):
    stamp = (
        "import time, pathlib\n"
        "log = pathlib.Path({log!r})\n"
        "start = time.time(); time.sleep(0.5)\n"
        "with log.open('a') as f: f.write(f'{name} {{start}} {{time.time()}}\\n')\n"
    )
    log_path = str(tmp_path / "timeline.txt")
    tree("demo/hello_torch.py", stamp.format(log=log_path, name="shared1"))
    tree("demo/hello_tf.py", stamp.format(log=log_path, name="shared2"))
    tree("demo/alone_torch.py", "# guide: exclusive\n" + stamp.format(log=log_path, name="alone"))
    tree("demo/alone_tf.py", "print('twin')\n")
    run()
    spans = {name: (float(a), float(b)) for name, a, b in
             (line.split() for line in (tmp_path / "timeline.txt").read_text().splitlines())}
    assert spans["alone"][0] >= max(spans["shared1"][1], spans["shared2"][1])


def test_a_record_whose_files_are_gone_is_run_again(tree):
    # What an interrupted build used to leave: a record listing files its folder no longer has.
    tree("demo/hello_torch.py", "import os, pathlib\n"
         "(pathlib.Path(os.environ['GUIDE_OUTPUT_DIR']) / 'events.bin').write_bytes(b'1')\n")
    run()
    (snippet_runner.files_dir("demo", "hello_torch") / "events.bin").unlink()
    again = run()
    assert [s.split("/")[-1] for s in again.ran] == ["hello_torch.py"]
    assert (snippet_runner.files_dir("demo", "hello_torch") / "events.bin").is_file()
    with pytest.raises(SnippetFailure, match="no stored output"):
        (snippet_runner.files_dir("demo", "hello_torch") / "events.bin").unlink() or run("none")


def test_a_rerun_replaces_the_entry_as_a_whole(tree):
    tree("demo/hello_torch.py", "import os, pathlib\n"
         "(pathlib.Path(os.environ['GUIDE_OUTPUT_DIR']) / 'old.txt').write_text('1')\n")
    run()
    tree("demo/hello_torch.py", "import os, pathlib\n"
         "(pathlib.Path(os.environ['GUIDE_OUTPUT_DIR']) / 'new.txt').write_text('2')\n")
    run()
    kept = snippet_runner.files_dir("demo", "hello_torch")
    assert sorted(p.name for p in kept.iterdir()) == ["new.txt"]
    assert not list((paths.SNIPPET_CACHE_DIR / "demo").glob(".*"))  # no staging or retired folder left


def test_a_snippet_killed_by_a_signal_says_which(tree):
    tree("demo/hello_torch.py", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    with pytest.raises(SnippetFailure) as failure:
        run()
    assert "demo/hello_torch.py: killed by SIGSEGV" in str(failure.value)
    assert "status -" not in str(failure.value)


def _tiny_mnist(path, images=(4, 28, 28)):
    import numpy as np

    np.savez(path, x_train=np.zeros(images, np.uint8), y_train=np.zeros(images[0], np.uint8),
             x_test=np.zeros(images, np.uint8), y_test=np.zeros(images[0], np.uint8))
    return path


def test_guide_mnist_is_part_of_the_key_of_snippets_that_read_it(tree, tmp_path, monkeypatch):
    from engine import keys

    tree("fixture_loader.py", "import os\nPATH = os.environ.get('GUIDE_MNIST')\n")
    reader = tree("demo/hello_torch.py", "import fixture_loader\nprint(fixture_loader.PATH)\n")
    other = tree("demo/hello_tf.py", "print('no data')\n")
    monkeypatch.delenv("GUIDE_MNIST", raising=False)
    unset_reader, unset_other = keys.cache_key(reader, "cpu"), keys.cache_key(other, "cpu")
    monkeypatch.setenv("GUIDE_MNIST", str(_tiny_mnist(tmp_path / "a.npz")))
    first = keys.cache_key(reader, "cpu")
    assert first != unset_reader and keys.cache_key(other, "cpu") == unset_other
    _tiny_mnist(tmp_path / "a.npz", images=(5, 28, 28))  # same path, other content
    assert keys.cache_key(reader, "cpu") not in (first, unset_reader)


def test_a_warm_cache_reruns_readers_when_guide_mnist_changes(tree, tmp_path, monkeypatch):
    tree("fixture_loader.py", "import os\nPATH = os.environ.get('GUIDE_MNIST')\n")
    tree("demo/hello_torch.py", "import fixture_loader\nprint(fixture_loader.PATH)\n")
    monkeypatch.delenv("GUIDE_MNIST", raising=False)
    run()
    monkeypatch.setenv("GUIDE_MNIST", str(_tiny_mnist(tmp_path / "m.npz")))
    again = run()
    assert [s.split("/")[-1] for s in again.ran] == ["hello_torch.py"]


def test_the_real_data_loader_makes_its_users_keyed_by_guide_mnist(tmp_path, monkeypatch):
    from engine import keys

    user = paths.SNIPPETS_DIR / "ease_of_use" / "mnist_cnn_torch.py"
    monkeypatch.delenv("GUIDE_MNIST", raising=False)
    assert keys.data_inputs(user) == {}
    monkeypatch.setenv("GUIDE_MNIST", str(_tiny_mnist(tmp_path / "m.npz")))
    assert set(keys.data_inputs(user)) == {"GUIDE_MNIST"}


def test_a_crash_while_an_entry_is_swapped_in_leaves_it_absent_not_mixed(tree, monkeypatch):
    # Old record + new files would be reused by GUIDE_RUN=none: the old record must go first.
    body = "import os, pathlib\nprint({text!r})\n(pathlib.Path(os.environ['GUIDE_OUTPUT_DIR']) / 'f.txt').write_text({text!r})\n"
    tree("demo/hello_torch.py", body.format(text="old"))
    run()
    tree("demo/hello_torch.py", body.format(text="new"))
    real_write = snippet_runner.atomic.write_json_atomic

    def crash_on_the_record(path, obj):
        if path.name == "hello_torch.json":
            raise KeyboardInterrupt  # the build killed between the swap and the record
        real_write(path, obj)

    monkeypatch.setattr(snippet_runner.atomic, "write_json_atomic", crash_on_the_record)
    with pytest.raises(KeyboardInterrupt):
        run()
    snippet = next(s for s in discover(paths.SNIPPETS_DIR) if s.stem == "hello_torch")
    assert snippet_runner.load_record(snippet) is None


def test_a_snippet_that_prints_past_the_bound_is_stopped_and_nothing_is_cached(tree):
    # It would print forever: only the bound can end it (before its timeout).
    tree("demo/flood_torch.py", '''\
        # guide: timeout=120
        import sys
        while True:
            sys.stdout.write("x" * 1023 + "\\n")
        ''')
    snippet = next(s for s in discover(paths.SNIPPETS_DIR) if s.stem == "flood_torch")
    with pytest.raises(SnippetFailure) as failure:
        run()
    lines = [line for line in str(failure.value).splitlines() if "flood_torch" in line]
    assert len(lines) == 1, str(failure.value)
    assert "snippets/demo/flood_torch.py: printed " in lines[0]
    assert f"past the bound of {snippet_runner.MAX_OUTPUT_BYTES:,} bytes (1.0 MiB) on a snippet's output" in lines[0]
    reached = int(lines[0].split("printed ")[1].split(" bytes")[0].replace(",", ""))
    assert reached > snippet_runner.MAX_OUTPUT_BYTES
    assert snippet_runner.load_record(snippet) is None and not snippet_runner.record_path(snippet).exists()
    assert not snippet_runner.output_text_path(snippet).exists()


def test_a_long_legal_output_is_shown_cut_with_the_whole_beside_it(tree):
    tree("demo/long_torch.py", 'for i in range(1000):\n    print(f"line {i}")\n')
    run()
    shown = (paths.SNIPPET_OUTPUT_DIR / "demo" / "long_torch.txt").read_text().splitlines()
    whole = paths.SNIPPET_OUTPUT_DIR / "demo" / "long_torch.full.txt"
    assert len(shown) == snippet_runner.SHOWN_LINES
    assert shown[0] == "line 0" and shown[-1] == "line 999"
    cut = 1000 - snippet_runner.SHOWN_LINES + 1
    assert f"... {cut} lines cut; the whole output is in {whole}" in shown
    assert whole.read_text().splitlines() == [f"line {i}" for i in range(1000)]
    # Short again: shown whole, and the old whole output is not left beside it.
    tree("demo/long_torch.py", 'print("short")\n')
    run()
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "long_torch.txt").read_text() == "short\n"
    assert not whole.exists()
