"""Test the tests: apply one semantic bug at a time to a copy of the tree and run the tests that
should catch it.

Each mutant is a short, exact snippet of today's code and its replacement: a ``ddof`` off by one,
an accumulation in the wrong dtype, a view returned as a copy, an axis off by one, a dropped
cast, a hoist past a write, a guard that accepts a wrong dtype, a 0-d array where NumPy returns
a scalar, an oracle rule switched off, ...  A mutant is *killed* when one of its test runs fails,
*survives* when they all pass, is *stale* when its snippet is not found exactly once (the code
moved: retarget the snippet) or pytest could not run its tests, and *times out* past
``--timeout``.

    python tools/mutate.py                 # every mutant (about 30-60 minutes on two cores)
    python tools/mutate.py --list          # names, files, and whether each snippet still applies
    python tools/mutate.py ddof accum      # the mutants whose names contain these words
    python tools/mutate.py --markdown out.md

The tree is copied to a temporary directory (without .git), the mutant applied there, and pytest
runs in that copy with it first on ``PYTHONPATH``; the working tree is never touched.  Exit
status 0 when every selected mutant was killed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Test runs, by what they exercise (pytest arguments).
DIFFERENTIAL = ("tests/test_core_differential.py", "-k", "not compiled")
COMPILED = ("tests/test_core_differential.py", "-k", "compiled and (seed_per or accumulate_into_zeros)")
CORPUS = ("tests/test_fuzz.py::test_fixed_corpus_behaves_like_the_original",)
ORACLE = ("tests/test_oracle.py",)
DOCS = ("tests/test_docs.py",)


def registry(*entries: str) -> tuple[str, ...]:
    """The registry's own test for these entries (``numpy.var``, ``ndarray.std``, ...)."""
    return ("tests/test_registry.py", "-k", " or ".join(f"[{e}]" for e in entries))


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    snippet: str
    replacement: str
    tests: tuple[tuple[str, ...], ...]
    """pytest runs, in order; the first that fails kills the mutant."""


MUTANTS = [
    # ------------------------------------------------------------------ registry tensor paths
    Mutant("ddof off by one (var/std)", "looplift/registry/reductions.py",
           "rest = max(count - ddof, 0)", "rest = max(count - ddof - 1, 0)",
           (registry("numpy.var", "numpy.std"), DIFFERENTIAL, CORPUS)),
    Mutant("int mean accumulates in float32", "looplift/registry/reductions.py",
           "return x.dtype if x.is_floating_point() else torch.float64",
           "return x.dtype if x.is_floating_point() else torch.float32",
           (registry("numpy.mean"), DIFFERENTIAL, CORPUS)),
    Mutant("sum with dtype=float64 accumulates in the input's float32", "looplift/registry/reductions.py",
           "    x = x.to(dtype)\n    if not axes:", "    if not axes:",
           (registry("numpy.sum"), DIFFERENTIAL, CORPUS)),
    Mutant("axis off by one", "looplift/registry/coerce.py",
           "    return index % ndim\n", "    return (index + 1) % ndim\n",
           (registry("numpy.sum", "numpy.mean"), DIFFERENTIAL, CORPUS)),
    Mutant("views returned as copies (ravel, transpose, reshape)", "looplift/registry/shape.py",
           "return result.clone() if x.ndim == 0 else result", "return result.clone()",
           (registry("numpy.ravel", "numpy.transpose"), DIFFERENTIAL, CORPUS)),
    Mutant("flatten returns a view where NumPy copies", "looplift/registry/shape.py",
           "return copy_if_aliased(_ravel(x, order), x)", "return _ravel(x, order)",
           (registry("ndarray.flatten"), DIFFERENTIAL, CORPUS)),
    Mutant("a mean's division not cast back to NumPy's dtype", "looplift/registry/reductions.py",
           "return torch.true_divide(total.to(total_dtype), value).to(result_dtype).to(dtype)",
           "return torch.true_divide(total.to(total_dtype), value)",
           (registry("numpy.mean"), DIFFERENTIAL, CORPUS)),
    Mutant("a Python float operand is strong (no NEP 50)", "looplift/registry/ufuncs.py",
           "_PY_DESCRIPTORS: dict[type, Any] = {float: float,",
           "_PY_DESCRIPTORS: dict[type, Any] = {float: np.dtype(np.float64),",
           (registry("operator.mul", "numpy.multiply"), DIFFERENTIAL, CORPUS)),
    Mutant("sign of NaN is 0", "looplift/registry/ufuncs.py",
           "return torch.where(torch.isnan(x), x, torch.sign(x)) if x.dtype.is_floating_point else torch.sign(x)",
           "return torch.sign(x)",
           (registry("numpy.sign"), CORPUS)),
    Mutant("float remainder takes the dividend's sign (fmod)", "looplift/registry/ufuncs.py",
           "moved = torch.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)", "moved = mod",
           (registry("numpy.remainder", "operator.mod"), CORPUS)),
    Mutant("argsort unstable among ties", "looplift/registry/sorting.py",
           'if not (kind in ("stable", "mergesort") or stable is True) and _has_ties(ordered, dim):',
           'if False:',
           (registry("numpy.argsort"), CORPUS)),
    Mutant("median takes the lower middle value", "looplift/registry/reductions.py",
           "middle = ordered[..., (n - 1) // 2: n // 2 + 1]", "middle = ordered[..., (n - 1) // 2: (n - 1) // 2 + 1]",
           (registry("numpy.median"), DIFFERENTIAL, CORPUS)),
    Mutant("cumsum keeps a narrow int dtype", "looplift/registry/reductions.py",
           "        dt = probe_dtype(reference, (x,), dtype=dtype)\n        if axis is None:",
           "        dt = x.dtype\n        if axis is None:",
           (registry("numpy.cumsum"), DIFFERENTIAL, CORPUS)),
    Mutant("mean divides by one element too many", "looplift/registry/reductions.py",
           "_divide(total, _count(x, axes), probe_dtype(np.mean", "_divide(total, _count(x, axes) + 1, probe_dtype(np.mean",
           (registry("numpy.mean"), DIFFERENTIAL, CORPUS)),
    # ------------------------------------------------------------------ run-time conversions
    Mutant("guard accepts a wrong dtype", "looplift/runtime/convert.py",
           "return (type(x) is Tensor and x.dtype is TORCH_BY_NAME[dtype] and x.dim() == ndim",
           "return (type(x) is Tensor and x.dim() == ndim",
           (DIFFERENTIAL, CORPUS)),
    Mutant("guard accepts a wrong ndim", "looplift/runtime/convert.py",
           "x.dtype is TORCH_BY_NAME[dtype] and x.dim() == ndim", "x.dtype is TORCH_BY_NAME[dtype]",
           (DIFFERENTIAL, CORPUS)),
    Mutant("guard ignores requires_grad", "looplift/runtime/convert.py",
           'and (not x.requires_grad or "detach" in chain)', "",
           (DIFFERENTIAL, CORPUS)),
    Mutant("np.array(t) lifted as a view, not a copy", "looplift/runtime/convert.py",
           "return x.clone() if copies else x", "return x",
           (DIFFERENTIAL, CORPUS)),
    Mutant("materialize gives a 0-d array for a NumPy scalar", "looplift/runtime/convert.py",
           "return array[()] if array.ndim == 0 else array", "return array",
           (DIFFERENTIAL, CORPUS)),
    Mutant("torch.tensor(a) of a lifted value shares memory", "looplift/runtime/convert.py",
           'return a.clone() if how == "tensor" else a.detach()', "return a.detach()",
           (DIFFERENTIAL, CORPUS)),
    Mutant("a shortened conversion skips .detach() on a tensor with grad", "looplift/runtime/convert.py",
           "if type(x) is Tensor and x.is_cpu and not x.requires_grad:", "if type(x) is Tensor and x.is_cpu:",
           (("tests/test_core_conversions.py",), DIFFERENTIAL, CORPUS)),
    Mutant("tuples holding lifted values are not materialized", "looplift/runtime/convert.py",
           "if cls is tuple and any(type(i) in (Tensor, list, tuple) for i in x):", "if False:",
           (DIFFERENTIAL, CORPUS)),
    Mutant("a lifted value leaves a list as a tensor", "looplift/runtime/convert.py",
           "                items[i] = _to_numpy(item)\n", "                pass\n",
           (DIFFERENTIAL, CORPUS)),
    # ------------------------------------------------------------------ analysis and transforms
    Mutant("hoist past an in-place write", "looplift/transforms/hoist.py",
           "        if fx.mutates:\n", "        if False:\n",
           (("tests/test_core_transforms.py",), DIFFERENTIAL, CORPUS)),
    Mutant("hoist past a reassignment", "looplift/transforms/hoist.py",
           "        if name in fx.assigned:\n", "        if False:\n",
           (("tests/test_core_transforms.py",), DIFFERENTIAL, CORPUS)),
    Mutant("hoist a copy past an opaque call", "looplift/transforms/hoist.py",
           "        if fx.opaque_call:\n", "        if False:\n",
           (("tests/test_core_transforms.py",), DIFFERENTIAL, CORPUS)),
    Mutant("torch's in-place methods (add_, ...) are not writes", "looplift/analysis/effects.py",
           'func.attr.endswith("_") or func.attr in ARRAY_MUTATING_METHODS', "func.attr in ARRAY_MUTATING_METHODS",
           (("tests/test_core_transforms.py",), DIFFERENTIAL, CORPUS)),
    Mutant("the default cost model never lifts large items", "looplift/costmodel.py",
           "if any(largest_class(v) == LARGE for v in batches):", "if False:",
           (DIFFERENTIAL,)),
    Mutant("every specialization falls back to the original", "looplift/dispatch.py",
           "            spec = pipeline.specialize(self.fn, args, kwargs, key, self.options)",
           "            raise RuntimeError('mutant')",
           (DIFFERENTIAL,)),
    # ------------------------------------------------------------------ compiled regions
    Mutant("a compiled region runs on the wrong operand order", "looplift/runtime/compiled.py",
           "            return compiled(*tensors)\n", "            return compiled(*tensors[::-1])\n",
           (COMPILED,)),
    # ------------------------------------------------------------------ the oracle itself
    Mutant("oracle: ndarray dtypes not compared", "looplift/testing.py",
           "if o.dtype != d.dtype or o.shape != d.shape:", "if o.shape != d.shape:",
           (ORACLE,)),
    Mutant("oracle: unknown types pass", "looplift/testing.py",
           'raise Uncomparable(f"{path}: no comparison rule for {type(o)',
           'return print(f"{path}: no comparison rule for {type(o)',
           (ORACLE,)),
    Mutant("oracle: a thousand times the rounding allowance", "looplift/testing.py",
           "ULPS = 4.0\n", "ULPS = 4000.0\n",
           (ORACLE,)),
    Mutant("oracle: no reference run", "looplift/testing.py",
           "kwargs: dict[str, Any] | None = None, *, reference: bool = True,",
           "kwargs: dict[str, Any] | None = None, *, reference: bool = False,",
           (ORACLE, DOCS)),
    Mutant("oracle: float32 numbers in float64 values always at float32 tolerance", "looplift/testing.py",
           "unit[_float32_exact(o[finite]) & _float32_exact(d[finite])] = _U32",
           "unit[_float32_exact(o[finite]) | _float32_exact(d[finite])] = _U32",
           (ORACLE,)),
    Mutant("oracle: type(o) vs type(d) not checked", "looplift/testing.py",
           "    if type(o) is not type(d):\n        raise Mismatch", "    if not isinstance(d, type(o)):\n        raise Mismatch",
           (ORACLE,)),
]


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, stale, timeout
    seconds: float
    detail: str = ""


def _copy_tree(destination: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", "*.egg-info", ".pytest_cache")
    shutil.copytree(ROOT, destination, ignore=ignore, dirs_exist_ok=True)


def applies(mutant: Mutant, root: Path = ROOT) -> bool:
    return (root / mutant.path).read_text().count(mutant.snippet) == 1


def run_mutant(mutant: Mutant, timeout: float) -> Outcome:
    started = time.perf_counter()
    if not applies(mutant):
        return Outcome(mutant, "stale", 0.0, "the snippet is not found exactly once: retarget it")
    with tempfile.TemporaryDirectory(prefix="looplift-mutant-") as scratch:
        tree = Path(scratch) / "tree"
        _copy_tree(tree)
        target = tree / mutant.path
        text = target.read_text().replace(mutant.snippet, mutant.replacement)
        compile(text, str(target), "exec")  # a mutant must be valid Python, or it tests nothing
        target.write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPLIFT_")}
        env["PYTHONPATH"] = str(tree)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for args in mutant.tests:
            remaining = timeout - (time.perf_counter() - started)
            command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:warnings", *args]
            try:
                proc = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True,
                                      timeout=max(remaining, 1))
            except subprocess.TimeoutExpired:
                return Outcome(mutant, "timeout", time.perf_counter() - started, " ".join(args))
            if proc.returncode in (2, 3, 4, 5):  # interrupted, internal error, usage error, no tests
                return Outcome(mutant, "stale", time.perf_counter() - started,
                               f"pytest exit {proc.returncode} (not a test failure): {' '.join(args)}")
            if proc.returncode != 0:
                failed = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
                return Outcome(mutant, "killed", time.perf_counter() - started,
                               (failed[0] if failed else proc.stdout.strip().splitlines()[-1])[:160])
    return Outcome(mutant, "survived", time.perf_counter() - started, "every test run passed")


def markdown(outcomes: list[Outcome]) -> str:
    killed = sum(o.status == "killed" for o in outcomes)
    lines = [f"{killed} of {len(outcomes)} mutants killed.", "",
             "| Mutant | File | Result | Time | Killed by |", "|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| {o.mutant.name} | `{o.mutant.path}` | {o.status} | {o.seconds:.0f} s | "
                     f"{o.detail.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", help="run only mutants whose names contain one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and whether they still apply")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant (default 900)")
    parser.add_argument("--markdown", metavar="FILE", help="write the results as a markdown table")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.words or any(w.lower() in m.name.lower() for w in args.words)]
    if args.list:
        for m in chosen:
            print(f"{'ok   ' if applies(m) else 'STALE'} {m.name}  ({m.path})")
        return 0 if all(applies(m) for m in chosen) else 1
    outcomes = []
    for number, mutant in enumerate(chosen, 1):
        outcome = run_mutant(mutant, args.timeout)
        outcomes.append(outcome)
        print(f"[{number}/{len(chosen)}] {outcome.status:8s} {outcome.seconds:5.0f} s  {mutant.name}: {outcome.detail}",
              flush=True)
    summary = markdown(outcomes)
    print("\n" + summary)
    if args.markdown:
        Path(args.markdown).write_text(summary)
    return 0 if all(o.status == "killed" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
