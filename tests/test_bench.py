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

from benchmarks import gpu_check as G  # noqa: E402
from benchmarks import hostreads as H  # noqa: E402
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
            if name in (R.ORIGINAL, R.HAND, R.HAND_BATCHED, R.LL_EAGER, R.LL_AUTO, R.LL_ALWAYS,
                        *W.WORKLOADS[wl["name"]].extra):
                assert v["status"] == "ok", where  # these must reproduce the original exactly
            else:
                assert v["status"] in ("ok", "wrong"), where
            assert len(v["samples"]) == 1 and v["median"] > 0, where


def test_every_core_workload_eager_variants(tmp_path: Path) -> None:
    variants = [R.ORIGINAL, R.HAND, R.LL_EAGER]
    table, raw = _run(tmp_path, [*TINY, "--suite", "core", "--variant", R.HAND, "--variant", R.LL_EAGER])
    core = [w.name for w in W.CORE]
    _check_verified(raw, core, variants)
    assert "| workload | original (median) | hand eager | looplift eager | hand NumPy |" in table
    for wl in W.CORE:
        assert wl.title.split("`")[0].strip() in table
    assert "Issue 6 targets" in table and "dispatch overhead (CPU time):" in table
    assert "Host reads of tensor data per call" in table and "Issue 14" in table
    reads = {w["name"]: {n: v["host_reads"] for n, v in w["variants"].items()} for w in raw["workloads"]}
    assert reads["seed"][R.ORIGINAL] == W.WORKLOADS["seed"].n["tiny"]  # one .numpy() per item
    assert reads["seed"][R.HAND] == 1  # one transfer at the end


def test_batch_and_eval_suites(tmp_path: Path) -> None:
    """Every loop of the batching and evaluation suites, their hand versions and looplift eager
    (default and lift=always): results checked, host reads counted, the suites' tables rendered."""
    table, raw = _run(tmp_path, [*TINY, "--suite", "batch", "--suite", "eval", "--variant", R.HAND,
                                 "--variant", R.LL_EAGER, "--variant", R.LL_ALWAYS])
    names = [w.name for w in (*W.BATCH, *W.EVAL)]
    assert [w["name"] for w in raw["workloads"]] == names
    for wl in raw["workloads"]:
        expected = {R.ORIGINAL, R.HAND_BATCHED, R.LL_EAGER} if wl["suite"] == "batch" else \
            {R.ORIGINAL, R.HAND, R.LL_EAGER, R.LL_ALWAYS}
        assert set(wl["variants"]) == expected, wl["name"]
    _check_verified(raw, names, [R.ORIGINAL, R.LL_EAGER])
    by_name = {w["name"]: w for w in raw["workloads"]}
    for wl in W.BATCH:  # the original reads once per item, the hand-batched version once
        variants = by_name[wl.name]["variants"]
        assert variants[R.ORIGINAL]["host_reads"] == wl.n["tiny"], wl.name
        assert variants[R.HAND_BATCHED]["host_reads"] == 1, wl.name
    item = by_name["e-item"]["variants"]
    assert item[R.ORIGINAL]["host_reads"] == 2 * W.WORKLOADS["e-item"].n["tiny"]  # two .item() per batch
    assert item[R.HAND]["host_reads"] == 1
    assert "#### Batching suite (issue 15)" in table and "#### Evaluation loops (issue 13)" in table
    assert "auto ÷ hand batched" in table and "geometric mean of looplift auto's speedup" in table
    assert "looplift eager, lift=always" in table


@pytest.mark.slow
def test_all_variants_with_compile(tmp_path: Path) -> None:
    table, raw = _run(tmp_path, [*TINY, "--workload", "tiny"])
    _check_verified(raw, ["tiny"], list(R.SUITE_VARIANTS["core"]))
    header = next(line for line in table.splitlines() if line.startswith("| workload | original"))
    for name in R.SUITE_VARIANTS["core"][1:]:
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
    for wl in W.WORKLOADS.values():
        for n in (1, 3):
            args = wl.args("tiny", n=n)
            expected = R.expect(wl, args)
            for fn in (wl.hand, *wl.extra.values()):
                assert R.check(expected, fn(*args)) == "", (wl.name, fn.__name__)


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


def test_host_read_counter_sees_every_read() -> None:
    """Each form of reading tensor data reaches ``__torch_function__`` and counts once; shapes,
    ``len`` and iteration are not reads."""
    import numpy as np

    t, s, i = torch.ones(3), torch.tensor(2.0), torch.tensor(1)
    reads = {
        "item": lambda: s.item(), "float": lambda: float(s), "int": lambda: int(i), "bool": lambda: bool(s),
        "index": lambda: [1, 2, 3][i], "tolist": lambda: t.tolist(), "numpy": lambda: t.numpy(),
        "asarray": lambda: np.asarray(t), "np.float32": lambda: np.float32(s), "format": lambda: f"{s:.2f}",
        "complex": lambda: complex(s),
    }
    for name, read in reads.items():
        with H.count_host_reads() as counted:
            read()
        assert counted.total == 1, name
        assert counted.program == 1 and counted.looplift == 0, name
    with H.count_host_reads() as counted:
        _ = (len(t), t.shape, list(t), t.cpu(), t.to("cpu"), t + 1)
    assert counted.total == 0


def test_host_reads_attributed_to_looplift() -> None:
    from looplift import looplift

    def tail(xs):
        total = 0.0
        for t in xs:
            total += float(t.sum())
        return total

    xs = [torch.ones(4) for _ in range(5)]
    with H.count_host_reads() as counted:
        tail(xs)
    assert counted.total == counted.program == 5
    decorated = looplift(compile=False)(tail)
    decorated(xs)
    with H.count_host_reads() as counted:
        assert decorated(xs) == tail(xs)
    assert counted.total >= 1  # deferred or not, the value is read at least once


def test_gpu_check_cpu_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    """The GPU check's steps (variants, checks, host reads, table) on CPU tensors at tiny sizes."""
    assert G.main(["--cpu-dry-run", "--no-compile", "--workload", "b-dot", "--workload", "e-item"]) == 0
    out = capsys.readouterr().out
    assert "| b-dot | hand batched |" in out and "| e-item | hand eager |" in out
    assert "| e-item | original | " in out and "error" not in out and "wrong" not in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the check really runs")
def test_gpu_check_skips_without_cuda() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    assert "skipped" in proc.stdout and "nothing was measured" in proc.stdout
