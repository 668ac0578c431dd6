"""The ``looplift`` command itself: ``--version``, ``-v``/``-vv`` and ``LOOPLIFT_LOGS``, exit codes."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import looplift
from looplift import logs
from looplift.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "tests" / "fixtures" / "scan_tree" / "no_loops.py"


@pytest.fixture(autouse=True)
def clean_loggers() -> Iterator[None]:
    logs.reset()
    yield
    logs.reset()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"looplift {looplift.__version__}\n"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["scan", "--nope", str(CLEAN)])
    assert info.value.code == 2


@pytest.mark.parametrize("flag, level", [("-v", logging.INFO), ("-vv", logging.DEBUG)])
def test_verbose_configures_only_looplift_loggers(capsys: pytest.CaptureFixture[str], flag: str, level: int) -> None:
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    assert main([flag, "scan", str(CLEAN)]) == 0
    assert logs.root.level == level
    assert root.handlers == handlers and root.level == root_level
    assert not logging.getLogger("filelock").isEnabledFor(logging.DEBUG)
    err = capsys.readouterr().err
    assert "[looplift.scan] INFO: scanned 1 files" in err


def test_bad_logs_variable_is_a_one_line_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOPLIFT_LOGS", "cahce")
    assert main(["scan", str(CLEAN)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("looplift: error: LOOPLIFT_LOGS: unknown category 'cahce'") and err.count("\n") == 1


def test_vv_as_a_user_runs_it_shows_no_other_librarys_debug_lines() -> None:
    code = ("import logging, sys\nfrom looplift.cli.main import main\n"
            "status = main(sys.argv[1:])\nlogging.getLogger('filelock').debug('Attempting to acquire lock')\n"
            "raise SystemExit(status)\n")
    proc = subprocess.run([sys.executable, "-c", code, "-vv", "scan", str(CLEAN)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "filelock" not in proc.stderr
    assert all(line.startswith("[looplift.") for line in proc.stderr.splitlines())
