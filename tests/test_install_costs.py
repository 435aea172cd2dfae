"""The ecosystem extras: installed one by one by `make venv`, their cost recorded and rendered."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from engine import install_costs  # noqa: E402

RECORD = {
    "extras": {
        "lightning": {"pins": ["pytorch-lightning==2.6.6"], "flags": [], "measured": True, "seconds": 11.3,
                      "bytes": 26_171_769, "added": {"pytorch-lightning": "2.6.6", "torchmetrics": "1.9.0"}},
        "tf-serving-api": {"pins": ["tensorflow-serving-api==2.21.0"], "flags": ["--no-deps"], "measured": False,
                           "reason": "already installed when the venv was recorded"},
    },
    "probes": {"tfx": {"pin": "tfx==1.21.0", "returncode": 1, "seconds": 3.4,
                       "error": "ERROR: No matching distribution found for ml-metadata<1.22.0,>=1.21.0"}},
}


def test_requirements_tag_each_extra_and_keep_them_out_of_the_core_install():
    for name in ("requirements.txt", "requirements-gpu.txt"):
        text = (ROOT / name).read_text()
        groups = install_costs.parse_extras(text)
        assert set(groups) == {"lightning", "executorch", "tf-serving-api"}, name
        assert groups["tf-serving-api"].flags == ["--no-deps"]  # its `tensorflow` dependency would sit beside tensorflow-cpu
        core = "\n".join(install_costs.base_lines(text))
        assert "torch==2.13.0" in core and "lightning" not in core and "executorch" not in core
    makefile = (ROOT / "Makefile").read_text()
    assert "install_costs.py base $(REQUIREMENTS)" in makefile
    assert "install_costs.py record $(REQUIREMENTS) $(VENV)/install-costs.json" in makefile


def test_render_shows_measured_costs_and_the_probe_error_verbatim():
    page = install_costs.render(RECORD)
    assert "| lightning | `pytorch-lightning==2.6.6` | 2 | 25.0 MiB | 11.3 s |" in page
    assert "| tf-serving-api | `tensorflow-serving-api==2.21.0` (--no-deps) | not measured |" in page
    assert "does not install: `ERROR: No matching distribution found for ml-metadata<1.22.0,>=1.21.0`" in page


def test_render_without_a_record_says_so():
    assert "not measured" in install_costs.render(None).lower()


def test_record_refuses_an_extra_that_moves_a_core_pin(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.4.6\ndemo==1.0  # extra: demo\n")
    states = iter([
        {"numpy": ("2.4.6", 10)},  # before the extra
        {"numpy": ("1.26.4", 10), "demo": ("1.0", 5)},  # after: it moved numpy
    ])
    monkeypatch.setattr(install_costs, "installed", lambda python: next(states))
    monkeypatch.setattr(install_costs.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(install_costs, "PROBES", {})
    with pytest.raises(SystemExit, match="changed numpy"):
        install_costs.record(requirements, tmp_path / "out.json")


def test_this_venv_record_matches_the_pins_when_present():
    path = Path(sys.prefix) / install_costs.RECORD_NAME
    if not path.exists():
        pytest.skip("this venv was not built by make venv")
    data = json.loads(path.read_text())
    groups = install_costs.parse_extras((ROOT / "requirements.txt").read_text())
    for name, extra in groups.items():
        assert data["extras"][name]["pins"] == extra.pins, name


OWN = {"name": "tfx", "lock": "requirements-tfx.txt", "lock_sha256": "ab", "flags": ["--no-deps", "--no-compile"],
       "pins": 120, "seconds": 35.2, "distributions": 120, "bytes": 2_188_648_201, "bytes_beyond_core": 839_138_031,
       "same_as_core": ["keras", "numpy", "tensorflow-cpu"],
       "pip_check": {"returncode": 1, "conflicts": 2, "lines": [
           "tfx 1.21.0 has requirement ml-metadata<1.22.0,>=1.21.0, but you have ml-metadata 1.17.1.",
           "tfx 1.21.0 requires keras-tuner, which is not installed."]}}


def test_render_shows_the_own_venv_beside_the_refused_probe_and_counts_pip_checks_conflicts():
    page = install_costs.render(RECORD, {"tfx": OWN})
    assert ("| tfx (own venv `.venv-tfx`) | `requirements-tfx.txt`: 120 pins (--no-deps --no-compile) | 120 "
            "| 2087.3 MiB, 800.3 MiB beyond the core stack's pins | 35.2 s |") in page
    assert "| tfx (as published) | `tfx==1.21.0` | does not install: `ERROR: No matching distribution" in page
    assert "**forced, unsupported combination**" in page and "breaks **2 declared requirements**" in page
    assert "    tfx 1.21.0 requires keras-tuner, which is not installed." in page
    assert "no record in `.venv-tfx`" in install_costs.render(RECORD, {"tfx": None})


def test_make_venv_builds_the_tfx_venv_from_its_lock_beside_the_main_one():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(MAKE) --no-print-directory -j2 $(STAMP) $(TFX_STAMP)" in makefile  # both at once
    assert "install_costs.py venv tfx $(TFX_LOCK) $(TFX_VENV) $(REQUIREMENTS)" in makefile
    for target in ("site: venv", "test: venv chromium"):
        assert target in makefile
    assert install_costs.OWN_VENVS["tfx"] == (".venv-tfx", "requirements-tfx.txt")
    lock = (ROOT / "requirements-tfx.txt").read_text()
    pins = install_costs.lock_pins(lock)
    assert "tfx==1.21.0" in pins and all("==" in pin for pin in pins), "the lock pins every distribution exactly"
    assert "--no-deps" in lock and "No matching distribution found for ml-metadata" in lock  # the header says why


def test_this_tfx_venv_record_matches_its_lock_when_present():
    record = install_costs.own_venv_record("tfx", ROOT)
    if record is None:
        pytest.skip(".venv-tfx was not built by make venv")
    assert record["lock_sha256"] == install_costs.sha256_file(ROOT / "requirements-tfx.txt")
    assert record["pins"] == len(install_costs.lock_pins((ROOT / "requirements-tfx.txt").read_text()))
    assert record["pip_check"]["conflicts"] == len(record["pip_check"]["lines"]) > 0  # forced: pip check objects


def test_a_failed_pip_install_is_one_line_naming_the_command_not_a_traceback(monkeypatch, tmp_path):
    import subprocess

    def failing_pip(*args, **kwargs):
        raise subprocess.CalledProcessError(1, [".venv-tfx/bin/python", "-m", "pip", "install", "-r", "requirements-tfx.txt"])

    monkeypatch.setattr(install_costs, "record_venv", failing_pip)
    with pytest.raises(SystemExit) as stop:
        install_costs.main(["venv", "tfx", "requirements-tfx.txt", str(tmp_path), "requirements.txt"])
    message = str(stop.value.code)
    assert message.count("\n") == 0
    assert "`.venv-tfx/bin/python -m pip install -r requirements-tfx.txt` failed (exit 1)" in message
    assert "make venv" in message


def test_a_venv_without_its_interpreter_is_one_line_naming_the_fix(tmp_path):
    with pytest.raises(SystemExit) as stop:
        install_costs.main(["venv", "tfx", "requirements-tfx.txt", str(tmp_path / "absent"), "requirements.txt"])
    message = str(stop.value.code)
    assert message.count("\n") == 0 and f"cannot run {tmp_path / 'absent' / 'bin' / 'python'}" in message
    assert "make venv" in message
