"""Smoke tests of the benchmark suite (``benchmarks/``, ``looplift bench``): tiny sizes, one round.

They check that the runner produces its tables and that every variant's results were compared
with the original's; they assert nothing about timings (a shared CI machine cannot).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run as R  # noqa: E402
from benchmarks import workloads as W  # noqa: E402
from looplift.cli.main import main as cli_main  # noqa: E402

TINY = ["--size", "tiny", "--rounds", "1", "--no-first-call", "-q"]


def _run(tmp_path: Path, argv: list[str]) -> tuple[str, dict]:
    md, js = tmp_path / "table.md", tmp_path / "raw.json"
    assert R.main([*argv, "--markdown", str(md), "--json", str(js)]) == 0
    return md.read_text(), json.loads(js.read_text())


def _check_verified(raw: dict, workloads: list[str], variants: list[str]) -> None:
    assert [w["name"] for w in raw["workloads"]] == workloads
    for wl in raw["workloads"]:
        assert set(variants) <= set(wl["variants"]), wl["name"]
        for name, v in wl["variants"].items():
            where = f"{wl['name']} / {name}: {v['status']} {v['detail']}"
            if name in R.COMPILING and v["status"] == "error":
                continue  # no working torch.compile here: reported in the table, nothing to time
            assert v["checks"] >= 2, where  # warm-up and last timed call compared with the original
            if name in (R.ORIGINAL, R.HAND, R.LL_EAGER, R.LL_AUTO, *W.WORKLOADS[wl["name"]].extra):
                assert v["status"] == "ok", where  # these must reproduce the original exactly
            else:
                assert v["status"] in ("ok", "wrong"), where
            assert len(v["samples"]) == 1 and v["median"] > 0, where


def test_every_workload_eager_variants(tmp_path: Path) -> None:
    variants = [R.ORIGINAL, R.HAND, R.LL_EAGER]
    table, raw = _run(tmp_path, [*TINY, "--variant", R.HAND, "--variant", R.LL_EAGER])
    _check_verified(raw, list(W.WORKLOADS), variants)
    assert "| workload | original (median) | hand eager | looplift eager | hand NumPy |" in table
    for wl in W.WORKLOADS.values():
        assert wl.title.split("`")[0].strip() in table
    assert "Issue 6 targets" in table and "dispatch overhead (CPU time):" in table


@pytest.mark.slow
def test_all_variants_with_compile(tmp_path: Path) -> None:
    table, raw = _run(tmp_path, [*TINY, "--workload", "tiny"])
    _check_verified(raw, ["tiny"], list(R.VARIANTS))
    header = next(line for line in table.splitlines() if line.startswith("| workload | original"))
    for name in R.VARIANTS[1:]:
        assert name in header


def test_first_call_child_counts_no_recompiles() -> None:
    out = R.run_child("tiny", R.LL_EAGER, "tiny", "cpu", (4, 8), cap=120)
    assert out["first"] is not None and out["first"]["seconds"] > 0 and not out["first"]["mismatch"]
    assert [r["n"] for r in out["lengths"]] == [4, 8]
    assert out["lengths"][-1]["graphs"] == 0 and out["lengths"][-1]["specializations"] == 0


def test_time_cap_interrupts() -> None:
    with pytest.raises(R.CapExceeded):
        with R.time_cap(0.05):
            while True:
                pass


def test_workload_hand_versions_match_the_originals() -> None:
    from looplift.testing import assert_same

    for wl in W.WORKLOADS.values():
        for n in (1, 3):
            args = wl.args("tiny", n=n)
            expected = wl.original(*args)
            assert_same(expected, wl.hand(*args), scale=wl.scale)
            for extra in wl.extra.values():
                assert_same(expected, extra(*args), scale=wl.scale)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cli_cuda_unavailable_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_cli_help_lists_the_options() -> None:
    proc = subprocess.run([sys.executable, "-m", "looplift", "bench", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0
    for option in ("--workload", "--rounds", "--quick", "--markdown", "--device"):
        assert option in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the check really runs")
def test_gpu_check_skips_without_cuda() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    assert "skipped" in proc.stdout and "nothing was measured" in proc.stdout
