"""Print the suite's table (markdown): ``PYTHONPATH=. python -m tests.real_loops.table`` from the
repository root, or ``python tests/real_loops/table.py``.

Per loop, with ``LOOPLIFT_LIFT=always`` at the second call: host reads of the original, looplift
and the expert's version; whether looplift lifted it (a lifted path taken, a rewrite in
``explain()``, fewer reads); and the reads at a FIRST call that runs the long loop.
"""
from __future__ import annotations

import os
import sys
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from real_loops import harness, loops  # noqa: E402


def rows(names: list[str] | None = None) -> list[dict[str, object]]:
    out = []
    for case in loops.CASES:
        if names and case.name not in names:
            continue
        run = harness.run_case(case, "always")
        if run.error is not None:
            out.append({"name": case.name, "pattern": case.pattern, "error": repr(run.error)})
            continue
        steady, resumed = run.steady, run.resumed
        original, decorated = len(steady.original.reads[1]), len(steady.decorated.reads[1])
        on_device = steady.decorated.device_reads[1]
        paths = steady.decorated.paths[1]
        is_lifted = not run.mismatches and harness.lifted_paths(paths) \
            and bool(run.report.rewritten or run.report.batched) and decorated < original
        expert = harness.count_reads(case.expert, case.make(case.short)) if case.expert else None
        out.append({"name": case.name, "pattern": case.pattern, "liftable": "liftable" in case.tags,
                    "wrong": bool(run.mismatches),
                    "lifted": is_lifted, "original": original, "decorated": decorated, "expert": expert,
                    "device": on_device,
                    "first_long": (len(resumed.original.reads[0]), len(resumed.decorated.reads[0])),
                    "paths": dict(paths)})
    return out


def markdown(table: list[dict[str, object]]) -> str:
    lines = ["| loop | pattern | lifted | reads original / looplift / expert | looplift, one read per exit "
             "| first call, long loop (orig / looplift) |",
             "|---|---|---|---|---|---|"]
    for r in table:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['pattern']} | ERROR {r['error']} | | |")
            continue
        expert = "-" if r["expert"] is None else r["expert"]
        lifted = "yes" if r["lifted"] else ("no" if r["liftable"] else "no (no lift)")
        if r["wrong"]:
            lifted += " **WRONG RESULT**"
        o, d = r["first_long"]
        lines.append(f"| {r['name']} | {r['pattern']} | {lifted} | {r['original']} / {r['decorated']} / {expert} "
                     f"| {r['device']} | {o} / {d} |")
    return "\n".join(lines)


if __name__ == "__main__":
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.CRITICAL)
    table = rows(sys.argv[1:] or None)
    print(markdown(table))
    liftable = [r for r in table if r.get("liftable")]
    done = [r for r in liftable if r.get("lifted")]
    worse = [r["name"] for r in table if r.get("expert") is not None and r["decorated"] > r["expert"]]
    worse_device = [r["name"] for r in table if r.get("expert") is not None and r["device"] > r["expert"]]
    print(f"\nlifted: {len(done)}/{len(liftable)} of the loops with a correct lift ({len(done) / max(1, len(liftable)):.0%})")
    print(f"looplift reads more than the expert: {len(worse)} loops: {', '.join(worse)}")
    print(f"... counting one read per exit (as on a device): {len(worse_device)} loops: {', '.join(worse_device)}")
    print("RECORDED = {")
    for r in table:
        if "error" not in r:
            print(f"    {r['name']!r}: ({r['original']}, {r['decorated']}, {r['expert']}),")
    print("}")
