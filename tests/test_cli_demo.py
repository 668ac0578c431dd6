"""``looplift demo``: the built-in examples, flags, errors and the full run as a user types it."""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from looplift import demo
from looplift.cli import demo as demo_cli
from looplift.cli.main import main

ROOT = Path(__file__).resolve().parents[1]



@pytest.fixture(autouse=True)
def users_cost_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo shows what users get: the cost model's own choice (conftest forces lifting)."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")

def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["demo", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_catalogue_has_the_seed_patterns_and_three_realistic_loops() -> None:
    names = demo.names()
    assert len(names) == len(set(names)) >= 6
    for required in ("per-iteration-numpy", "invariant-conversion", "torch-ops", "evaluation-loop",
                     "power-iteration", "running-stats"):
        assert required in names
    for example in demo.EXAMPLES:
        # the functions live in a real file, so looplift (and inspect) can read their source
        assert "for " in inspect.getsource(example.function)
        assert example.inputs("cpu")


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--list")
    assert code == 0
    for name in demo.names():
        assert name in out


def test_unknown_example_lists_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--example", "nope")
    assert code == 2
    assert "unknown example 'nope'" in err
    for name in demo.names():
        assert name in err
    assert "Traceback" not in err and out == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--device", "cuda", "--example", "torch-ops")
    assert code == 2
    assert "no CUDA GPU is available" in err
    assert "Traceback" not in err


def test_bad_device_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--device", "tpu9")
    assert code == 2 and "--device tpu9" in err


def test_one_example_shows_diff_decisions_and_identical_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--example", "invariant-conversion", "--no-timing")
    assert code == 0, out + err
    assert "[1/1]" in err  # progress on stderr
    assert "--- invariant_conversion (original)" in out
    assert "+++ invariant_conversion (looplift, compile=False)" in out
    assert "-        w = weights.numpy()" in out  # the original line, removed by the rewrite
    assert "decisions:" in out and "cost model:" in out
    assert "hoisted:" in out
    assert "result: identical" in out
    assert "\033[" not in out  # captured output is not a terminal: plain text


def test_repeated_example_flag_runs_each_once_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--example", "torch-ops", "--example", "power-iteration",
                              "--example", "torch-ops", "--no-timing")
    assert code == 0, out + err
    assert "[1/2]" in err and "[2/2]" in err and "[3/" not in err
    assert out.index("== torch-ops") < out.index("== power-iteration")
    assert "source: unchanged" in out  # torch ops: nothing to do


def test_timing_line_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--example", "power-iteration", "--repeat", "1")
    assert code == 0
    assert "timing: original" in out and "per call (median of 1)" in out
    assert "summary (device cpu, compile=False" in out


def test_mismatch_is_reported_and_fails(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from looplift.testing import Mismatch

    def differ(*args: object, **kwargs: object) -> None:
        raise Mismatch("result: values differ (injected)")

    monkeypatch.setattr("looplift.testing.compare_calls", differ)
    code, out, _ = run_main(capsys, "--example", "torch-ops", "--no-timing")
    assert code == 1
    assert "result: MISMATCH: result: values differ (injected)" in out


def test_style_colors_only_when_enabled() -> None:
    assert demo_cli.Style(False)("x", "red") == "x"
    assert demo_cli.Style(True)("x", "red") == "\033[31mx\033[0m"


def test_time_pair_is_positive() -> None:
    original, lifted = demo_cli.time_pair(lambda: sum(range(100)), lambda: sum(range(10)), 3, lambda: None)
    assert original > 0 and lifted > 0


def test_full_demo_as_a_user_runs_it() -> None:
    """``python -m looplift demo``: every example identical, plain output, in about a minute."""
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    env.pop("LOOPLIFT_DISABLE", None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "looplift", "demo", "--repeat", "3"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("result: identical") == len(demo.EXAMPLES)
    assert "\033[" not in proc.stdout
    for index in range(1, len(demo.EXAMPLES) + 1):
        assert f"[{index}/{len(demo.EXAMPLES)}]" in proc.stderr
    assert "Traceback" not in proc.stderr
    print(f"full demo took {elapsed:.1f} s")
