"""Differential fuzzing in the test suite: random programs, original vs ``@looplift``.

``looplift.fuzz`` writes small functions whose loops mix torch and NumPy (see docs/fuzzing.md);
each runs as the original and as ``looplift(compile=False)(fn)`` on two input sets (the first
specializes, the second hits the cache), and every observable difference is a failure that
Hypothesis shrinks to a minimal program.

``LOOPLIFT_FUZZ_EXAMPLES`` sets the number of programs (default 300, derandomized so that a run
is reproducible); ``LOOPLIFT_FUZZ_RANDOM=1`` explores new programs.  Long campaigns:
``python -m looplift.fuzz --examples 3000 --seed 1``.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from looplift.fuzz import check, programs
from looplift.fuzz import runner as fuzz_runner
from looplift.fuzz.__main__ import main as fuzz_main
from looplift.fuzz.generator import InputSpec, TensorSpec, input_specs
from looplift.testing import compare_calls

EXAMPLES = int(os.environ.get("LOOPLIFT_FUZZ_EXAMPLES", "300"))
RANDOM = os.environ.get("LOOPLIFT_FUZZ_RANDOM") == "1"
SETTINGS = dict(deadline=None, derandomize=not RANDOM, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)

#: What a run of EXAMPLES programs must have generated at least once.
REQUIRED_FEATURES = {
    "small", "medium", "large", "lift:auto", "lift:always", "requires_grad", "hetero:dtype", "hetero:grad",
    "hetero:size",
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


def test_generated_programs_behave_like_the_original() -> None:
    seen: Counter = Counter()
    verdicts: Counter = Counter()

    @settings(max_examples=EXAMPLES, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        seen.update(program.tags)
        result = check(program, compile=False, variants=2)
        verdicts[result.verdict] += 1
        verdicts["lifted"] += result.lifted
        assert result.ok, result.describe()

    run()
    assert verdicts["agree"] + verdicts["precision"] >= EXAMPLES * 0.9, verdicts
    missing = REQUIRED_FEATURES - set(seen)
    assert not missing, f"the generator never produced {sorted(missing)} in {EXAMPLES} programs"
    # the run must exercise the lifting path, not only conversions hoisting
    assert verdicts["lifted"] >= EXAMPLES // 10, verdicts


@pytest.mark.slow
@pytest.mark.parametrize("compile", ["auto", True])
def test_generated_programs_compiled(compile) -> None:
    """A tiny slice with compile on: the first 3 programs with large inputs that lift.
    (``compile="auto"`` compiles a region only after it has run a while, in the background, so
    a short program keeps it eager; ``compile=True`` compiles at once, ~20 s a region on two
    cores the first time, less once Inductor's cache has it.)"""
    lifted: list[bool] = []

    @settings(max_examples=15, **SETTINGS)
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

    @settings(max_examples=25, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        with fuzz_runner.loaded(program.source) as module, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare_calls(module.f, module.f, program.args(0), scale=program.inputs.scale)

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

    @settings(max_examples=5, **SETTINGS)
    @given(programs())
    def run(program) -> None:
        result = check(program, variants=1)
        if result.raised is None:
            assert result.verdict == "disagree", result.describe()
            assert result.signature.startswith("result: type"), result.signature

    run()


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
    assert summary["disagreements"] == (0 if status == 0 else summary["disagreements"])
    assert {"verdicts", "seconds", "programs_per_second", "minimal", "features"} <= set(summary)
    md = tmp_path / "summary.md"
    fuzz_main(["--examples", "2", "--seed", "3", "--summary", str(md), "-q", "--no-shrink"])
    assert md.read_text().startswith("# looplift fuzz campaign")
