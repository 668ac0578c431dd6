"""Every script in ``examples/`` runs as a user would run it, and checks itself.

Each script compares the decorated function with the undecorated one
(``looplift.testing.compare_calls``) and raises on any difference, so exit status 0 means the
example ran and gave the original's results.  "As a user runs it": a fresh interpreter, the
default cost model (no ``LOOPLIFT_*`` variable from the test run leaks in), and this checkout's
looplift first on the path (an editable install elsewhere must not answer the import).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def test_there_are_at_least_six_examples() -> None:
    assert len(SCRIPTS) >= 6


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPLIFT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    # These tests check results, not speed. On a small, busy CI machine torch's intra-op threads
    # can make a lifted loop many times slower than usual (docs/faq.md); one thread keeps the
    # run time predictable.
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert "verified: identical to the undecorated function" in proc.stdout
    assert "Traceback" not in proc.stderr
