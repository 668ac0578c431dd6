"""Differential fuzzing in the test suite: random programs, original vs ``@looplift``.

``looplift.fuzz`` writes small functions whose loops mix torch and NumPy (see docs/fuzzing.md);
each runs as the original and as ``looplift(compile=False)(fn)`` on three input sets (the first
specializes, the second hits the cache, the third has other shapes), and every observable
difference is a failure that Hypothesis shrinks to a minimal program.  Values are judged by
``looplift.testing``'s rule against a float64 reference run: a float64 mismatch is a mismatch.

Two runs:

* a fixed corpus (``LOOPLIFT_FUZZ_CORPUS`` programs, default 150, derandomized): the same
  programs on every run, so a change in looplift is measured against known ground;
* an exploring run (``LOOPLIFT_FUZZ_EXAMPLES`` programs, default 300) under a seed derived from
  the commit (``LOOPLIFT_FUZZ_SEED`` overrides it; the seed is printed in pytest's header and in
  any failure), so every commit fuzzes new programs and any failure reproduces.  Each of its
  programs runs in both lifting modes, forced and the default cost model.

Long campaigns: ``python -m looplift.fuzz --examples 3000 --seed 1``.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from dataclasses import replace

import time

import pytest
from hypothesis import HealthCheck, given, seed, settings

from conftest import fuzz_seed
from looplift.fuzz import check, programs
from looplift.fuzz import runner as fuzz_runner
from looplift.fuzz.__main__ import main as fuzz_main
from looplift.fuzz.generator import InputSpec, Program, TensorSpec, input_specs
from looplift.testing import compare_calls

CORPUS = int(os.environ.get("LOOPLIFT_FUZZ_CORPUS", "150"))
EXAMPLES = int(os.environ.get("LOOPLIFT_FUZZ_EXAMPLES", "300"))
SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True)

#: What the generator must produce at least once in ``test_the_generator_covers_every_feature``.
REQUIRED_FEATURES = {
    "small", "medium", "large", "lift:auto", "lift:always", "grid", "off-grid", "requires_grad", "hetero:dtype",
    "hetero:grad", "hetero:size",
    "dtype:float32", "dtype:float64", "dtype:int32", "dtype:int64", "dtype:bool",
    "convert:_.numpy()", "convert:_.detach().cpu().numpy()", "convert:np.asarray(_)", "convert:np.array(_)",
    "convert:torch.from_numpy(_)", "convert:torch.tensor(_)",
    "binary", "unary", "reduce", "method", "scalar", "torch",
    "acc", "list", "dict", "prealloc",
    "loop:enumerate", "loop:plain", "loop:range", "loop:while", "nested:range", "nested:while", "nested:xs",
    "break", "continue", "return", "raise", "for-else", "if", "else", "try",
    "cond:item", "cond:float", "cond:index", "inplace:tensor", "inplace:array", "opaque", "print", "live-out",
    "invariant-conversion",
}


def test_fixed_corpus_behaves_like_the_original() -> None:
    """The derandomized corpus, each program in the lifting mode it was drawn with."""
    verdicts: Counter = Counter()

    @settings(max_examples=CORPUS, derandomize=True, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        result = check(program, compile=False, variants=3)
        verdicts[result.verdict] += 1
        verdicts["lifted"] += result.lifted
        assert result.ok, result.describe()

    run()
    assert verdicts["agree"] >= CORPUS * 0.9, verdicts
    assert verdicts["lifted"] >= CORPUS // 10, verdicts  # lifted code ran, observed at run time


def test_exploring_run_behaves_like_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    """New programs on every commit, each in both lifting modes, each mode with its options: forced
    lifting with ``compile=False`` (the lowered code runs), the default with the default options
    (``compile="auto"``, whose regions run their NumPy twin until a compile pays: none starts
    here); the seed is in the failure."""
    from looplift.runtime import compiled

    monkeypatch.setattr(compiled, "COMPILE_AFTER_S", float("inf"))
    verdicts: Counter = Counter()
    number = fuzz_seed()

    @settings(max_examples=EXAMPLES, derandomize=False, **SETTINGS)
    @seed(number)
    @given(programs())
    def run(program) -> None:
        for lift in ("always", "auto"):
            result = check(replace(program, inputs=replace(program.inputs, lift=lift)),
                           compile=False if lift == "always" else "auto", variants=3)
            verdicts[result.verdict] += 1
            verdicts[f"lifted:{lift}"] += result.lifted
            assert result.ok, f"LOOPLIFT_FUZZ_SEED={number} reproduces this run\n" + result.describe()

    run()
    assert verdicts["agree"] >= 2 * EXAMPLES * 0.9, (number, verdicts)
    assert verdicts["lifted:always"] >= EXAMPLES // 4 and verdicts["lifted:auto"] >= EXAMPLES // 20, \
        (number, verdicts)


def test_the_generator_covers_every_feature() -> None:
    """600 derandomized programs (generated only: about 6 s) hold every feature the campaigns
    rely on; a seed-dependent check inside the exploring run would fail some commits by chance."""
    seen: Counter = Counter()

    @settings(max_examples=600, derandomize=True, **SETTINGS)
    @given(programs())
    def draw(program) -> None:
        seen.update(program.tags)

    draw()
    missing = REQUIRED_FEATURES - set(seen)
    assert not missing, f"the generator never produced {sorted(missing)} in 600 programs"


def test_a_float64_mismatch_is_a_mismatch_even_with_float32_around(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old "precision" verdict re-judged float64 results at float32 tolerance whenever float32
    appeared in a program: exactly the float64-computed-in-float32 bug was hidden.  A decorator
    that sums a float64 accumulator in float32 must be a disagreement."""
    import numpy as np

    program = Program(
        "import numpy as np\n\n\ndef f(xs, w, k):\n    acc = np.float64(0)\n    for t in xs:\n"
        "        acc = acc + np.sum(t.numpy(), dtype=np.float64)\n    return acc, w\n",
        InputSpec(TensorSpec("float32", (4096,)), 3, TensorSpec("float32", ()), 0, seed=5, grid=False))

    def float32_sums(*, compile=False):
        def decorate(fn):
            def summed_in_float32(xs, w, k):
                return np.float64(sum(float(np.sum(t.numpy())) for t in xs)), w
            return summed_in_float32
        return decorate

    assert check(program).verdict == "agree"
    monkeypatch.setattr(fuzz_runner, "looplift", float32_sums)
    result = check(program)
    assert result.verdict == "disagree" and result.signature == "result: values differ", result.describe()


@pytest.mark.slow
@pytest.mark.parametrize("compile", ["auto", True])
def test_generated_programs_compiled(compile) -> None:
    """A tiny slice with compile on: the first 3 programs with large inputs that lift.
    (``compile="auto"`` compiles a region only after it has run a while, in the background, so
    a short program keeps it eager; ``compile=True`` compiles at once, ~20 s a region on two
    cores the first time, less once Inductor's cache has it.)"""
    lifted: list[bool] = []

    @settings(max_examples=15, derandomize=True, **SETTINGS)
    @given(programs(input_specs().filter(lambda spec: spec.large)))
    def run(program) -> None:
        if len(lifted) >= 3:
            return
        result = check(program, compile=compile, variants=1, timeout=None)
        assert result.ok, result.describe()
        if result.lifted:
            lifted.append(result.compiled)

    run()
    assert lifted, "no program lifted: the slice tested nothing"


def test_generated_programs_are_deterministic() -> None:
    """The oracle is only as good as the programs: the same inputs give the same observable run."""

    @settings(max_examples=25, derandomize=True, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        with fuzz_runner.loaded(program.source) as module, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for variant in range(3):
                compare_calls(module.f, module.f, program.args(variant))

    run()


def test_inputs_are_rebuilt_identically_and_variants_differ() -> None:
    spec = InputSpec(TensorSpec("float32", (5,)), 3, TensorSpec("float32", ()), 1, seed=7, hetero="dtype")
    (xs1, w1, k1), (xs2, w2, _), (xs3, _, _) = spec.build(0), spec.build(0), spec.build(1)
    assert k1 == 1 and len(xs1) == 3 and w1.dim() == 0
    assert all((a == b).all() for a, b in zip(xs1, xs2)) and (w1 == w2).all()
    assert any((a != b).any() for a, b in zip(xs1, xs3))
    assert [str(x.dtype) for x in xs1] == ["torch.float32", "torch.float32", "torch.float64"]
    grad = replace(spec, hetero="grad").build()[0]
    assert [x.requires_grad for x in grad] == [False, False, True]


def test_harness_reports_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decorator that changes the result must be caught (the oracle is not vacuous)."""
    def broken(*, compile=False):
        def decorate(fn):
            def wrong(*args, **kwargs):
                result = fn(*args, **kwargs)
                return [result]
            return wrong
        return decorate

    monkeypatch.setattr(fuzz_runner, "looplift", broken)

    @settings(max_examples=5, derandomize=True, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        result = check(program, variants=1)
        if result.raised is None:
            assert result.verdict == "disagree", result.describe()
            assert result.signature.startswith("result: type"), result.signature

    run()


def test_a_program_whose_original_never_ends_is_too_slow_to_judge() -> None:
    """The time limit reaches a run through the original's ``except Exception`` and
    ``compare_calls``' record of its exception; a limit reached in the original is the
    program's slowness (``slow``, not a failure), not a disagreement."""
    result = check(Program(_NEVER_ENDS, _INPUTS), variants=1, timeout=0.5)
    assert result.verdict == "slow" and result.ok, result.describe()


def test_a_decorated_function_past_the_time_limit_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def hanging(*, compile=False):
        def decorate(fn):
            def forever(*args, **kwargs):
                while True:
                    try:
                        time.sleep(0.01)
                    except Exception:
                        pass
            return forever
        return decorate

    monkeypatch.setattr(fuzz_runner, "looplift", hanging)
    result = check(Program("def f(xs, w, k):\n    return k\n", _INPUTS), variants=1, timeout=0.5)
    assert result.verdict == "timeout" and not result.ok, result.describe()


_NEVER_ENDS = ("def f(xs, w, k):\n"
               "    j = 0\n"
               "    while j < 2:\n"
               "        try:\n"
               "            for j in range(2):\n"
               "                pass\n"
               "        except Exception:\n"
               "            pass\n"
               "    return j\n")
_INPUTS = InputSpec(x=TensorSpec("float32", (3,)), n=1, w=TensorSpec("float32", (3,)), k=0, seed=0)


def test_signatures_are_coarse_and_stable() -> None:
    sig = fuzz_runner.signature_of
    assert sig("exception: TypeError('x') vs RuntimeError('y z')") == "exception: TypeError vs RuntimeError"
    assert sig("exception: None vs ValueError('a')") == "exception: None vs ValueError"
    assert sig("result[1][0]: type ndarray vs Tensor (array([1]) vs tensor([1]))") == \
        "result: type ndarray vs Tensor"
    assert sig("args after the call[0][1]: values differ: 1 vs 2") == "args: values differ"
    assert sig("printed output differs:\n'a'\nvs\n'b'") == "printed output"
    assert sig("result: dtype float32 vs float64") == "result: dtype float32 vs float64"


def test_command_line_writes_a_summary(tmp_path, capsys) -> None:
    out = tmp_path / "summary.json"
    status = fuzz_main(["--examples", "4", "--seed", "3", "--summary", str(out), "-q"])
    summary = json.loads(out.read_text())
    assert summary["generated"] == 4
    assert (status == 0) == (summary["disagreements"] == 0), (status, summary["disagreements"])
    assert {"verdicts", "seconds", "programs_per_second", "minimal", "features"} <= set(summary)
    md = tmp_path / "summary.md"
    fuzz_main(["--examples", "2", "--seed", "3", "--summary", str(md), "-q", "--no-shrink"])
    assert md.read_text().startswith("# looplift fuzz campaign")
    fuzz_main(["--examples", "3", "--seed", "3", "--summary", str(out), "-q", "--lift", "always"])
    assert json.loads(out.read_text())["lift_always"] == 3
