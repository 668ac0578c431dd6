"""Run generated programs: the original function against ``looplift(compile=...)(fn)``.

``check(program)`` writes the program to a real ``.py`` file (looplift reads source with
``inspect.getsource``), imports it, decorates its function and compares the two with
``looplift.testing.compare_calls`` on fresh inputs: the first call specializes (a cache miss),
later variants (other values, same signature) run the cached specialization.

``run_campaign`` drives ``check`` with Hypothesis: it counts every generated program, and when a
program disagrees with a kind of failure not seen before, lets Hypothesis shrink it to a minimal
program before it goes on generating.  Disagreements of a kind already found are counted, not
shrunk again.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import itertools
import linecache
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..api import looplift
from ..errors import LoopliftWarning
from ..testing import Mismatch, compare_calls, observed_paths
from ..timelimit import time_limit
from .generator import Program

logger = logging.getLogger("looplift.fuzz")

_counter = itertools.count()
_directory: str | None = None


def _workdir() -> str:
    global _directory
    if _directory is None or not os.path.isdir(_directory):
        _directory = tempfile.mkdtemp(prefix="looplift-fuzz-")
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


def cleanup() -> None:
    """Remove the directory the generated modules were written to."""
    global _directory
    if _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)
        _directory = None


@contextlib.contextmanager
def loaded(source: str, stem: str = "prog") -> Any:
    """Import ``source`` from a fresh file; the file exists while the block runs."""
    name = f"looplift_fuzz_{stem}_{os.getpid()}_{next(_counter)}"
    path = os.path.join(_workdir(), name + ".py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.dont_write_bytecode = saved
        sys.modules.pop(name, None)
        with contextlib.suppress(OSError):
            os.remove(path)
        linecache.checkcache(path)


class _Collect(logging.Handler):
    """Keeps looplift's own log records (internal errors) out of the fuzzer's output."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _captured_looplift_log() -> Any:
    target = logging.getLogger("looplift")
    handler = _Collect()
    saved = target.propagate
    target.addHandler(handler)
    target.propagate = False
    try:
        yield handler.records
    finally:
        target.removeHandler(handler)
        target.propagate = saved


@dataclass
class Result:
    """What one program did under ``check``."""

    program: Program
    verdict: str
    """``agree``, ``disagree`` (an observable difference: values judged by
    ``looplift.testing``'s rule against a float64 reference run), ``timeout`` (the decorated
    function ran past the time limit), ``slow`` (the original itself did: the program is too slow
    to judge, which says nothing of looplift) or ``crash`` (the harness failed: a bug in the
    fuzzer, an oracle without a rule for a value, or looplift's decorator itself)."""
    detail: str = ""
    signature: str = ""
    """A coarse kind of the failure, stable under shrinking (``exception: TypeError vs RuntimeError``)."""
    variant: int = 0
    raised: str | None = None
    """The exception type the original raised, if any."""
    lifted: bool = False
    """Observed at run time: a conversion kept a tensor or an operation ran on the tensor path."""
    hoisted: bool = False
    compiled: bool = False
    fallback: str | None = None
    notes: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    paths: Counter = field(default_factory=Counter)
    """``looplift.runtime.paths`` counts over every decorated call of the program."""

    @property
    def ok(self) -> bool:
        return self.verdict in ("agree", "slow")

    def describe(self) -> str:
        lines = [f"verdict: {self.verdict} ({self.signature}) on input variant {self.variant} "
                 f"with LOOPLIFT_LIFT={self.program.inputs.lift}",
                 f"detail: {self.detail}",
                 f"inputs: {self.program.inputs.code()}",
                 f"tags: {', '.join(sorted(self.program.tags))}",
                 "program:", self.program.function_source()]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "signature": self.signature, "detail": self.detail,
                "variant": self.variant, "raised": self.raised, "lifted": self.lifted,
                "hoisted": self.hoisted, "fallback": self.fallback,
                "internal_errors": self.internal_errors, "inputs": self.program.inputs.code(),
                "source": self.program.function_source(), "tags": sorted(self.program.tags),
                "seconds": round(self.seconds, 4)}


_TYPE_IN_REPR = re.compile(r"([A-Za-z_][\w.]*)\(")


def signature_of(message: str) -> str:
    """A coarse, shrink-stable kind of a ``Mismatch`` message."""
    first = message.splitlines()[0] if message else ""
    if first.startswith("exception:"):
        left, _, right = first[len("exception:"):].partition(" vs ")
        kind = lambda text: (_TYPE_IN_REPR.findall(text) or [text.strip()])[0]  # noqa: E731
        return f"exception: {kind(left)} vs {kind(right)}"
    if first.startswith("exception message"):
        return "exception message"
    if first.startswith("printed output"):
        return "printed output"
    where = "args" if first.startswith("args") else "kwargs" if first.startswith("kwargs") else "result"
    body = first.split(": ", 1)[1] if ": " in first else first
    if body.startswith("type "):
        parts = body.split()
        return f"{where}: type {parts[1]} vs {parts[3]}" if len(parts) > 3 else f"{where}: type"
    if body.startswith("dtype "):
        return f"{where}: {body.split(' (')[0]}"
    if body.startswith("tensor "):
        return f"{where}: tensor metadata"
    if body.startswith("values differ"):
        return f"{where}: values differ"
    if re.match(r"\w+\(?[\w, ]*\)? vs ", body) and ("(" in body):
        return f"{where}: dtype/shape"
    for word in ("length", "keys"):
        if body.startswith(word):
            return f"{where}: {word}"
    return f"{where}: {body[:40]}"


@contextlib.contextmanager
def _environment(name: str, value: str) -> Any:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


class ProgramTimeout(BaseException):
    """A program ran longer than ``check``'s ``timeout``.  A ``BaseException``, like
    ``KeyboardInterrupt``: the program's own ``except Exception``, looplift's fallback to the
    original code and ``compare_calls``' record of what a call raised must not take it (one of
    them did, and the other run of a program that never ends went on for good)."""


def _time_limit(seconds: float | None) -> Any:
    """The program's time limit (see ``looplift.timelimit``)."""
    return time_limit(seconds, lambda: ProgramTimeout(f"the program ran longer than {seconds} s"))


def check(program: Program, *, compile: Any = False, variants: int = 3, timeout: float | None = 120.0,
          host_reads: str | None = None) -> Result:
    """Compare the original and decorated function on ``variants`` sets of inputs (at most 3:
    the first specializes, the second has other values, the third other shapes), in the
    program's lifting mode (``program.inputs.lift``).

    ``timeout`` (seconds, main thread only) turns a program that hangs into a ``timeout``
    verdict instead of a hung campaign.  ``host_reads``: also count and judge host reads
    (``compare_calls``' option of that name)."""
    started = time.perf_counter()
    result = Result(program, "agree")
    in_original = [False]
    with contextlib.ExitStack() as stack:
        stack.enter_context(_time_limit(timeout))
        stack.enter_context(_environment("LOOPLIFT_LIFT", program.inputs.lift))
        records = stack.enter_context(_captured_looplift_log())
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        try:
            module = stack.enter_context(loaded(program.source))
            fn = getattr(module, program.name)
            decorated = looplift(compile=compile)(fn)
            original = _flagging(fn, in_original)
            for variant in range(variants):
                result.variant = variant
                with observed_paths() as counts:
                    outcome = compare_calls(original, decorated, program.args(variant), host_reads=host_reads)
                result.paths.update(counts)
                if variant == 0 and outcome.error is not None:
                    result.raised = type(outcome.error).__name__
        except Mismatch as mismatch:
            result.verdict = "disagree"
            result.detail = str(mismatch)
            if mismatch.__cause__ is not None:
                cause = mismatch.__cause__
                result.detail += "\n--- decorated raised ---\n" + "".join(
                    traceback.format_exception(type(cause), cause, cause.__traceback__))
            result.signature = signature_of(str(mismatch))
        except ProgramTimeout as exc:
            result.verdict = result.signature = "slow" if in_original[0] else "timeout"
            result.detail = str(exc)
        except Exception as exc:  # the harness, not the program: report it
            result.verdict = "crash"
            result.detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            result.signature = f"crash: {type(exc).__name__}"
        else:
            pass
        dispatcher = getattr(locals().get("decorated"), "__looplift__", None)
        if dispatcher is not None:
            for spec in list(dispatcher.cache.values()):
                report = spec.report
                result.hoisted |= bool(report.hoisted)
                result.compiled |= bool(report.compiled)
                if report.fallback:
                    result.fallback = report.fallback
                    if report.fallback.startswith("internal error"):
                        result.internal_errors.append(report.fallback)
        result.lifted = bool(result.paths["lift.hit"] or result.paths["op.tensor"])
        result.notes = [str(w.message) for w in caught if issubclass(w.category, LoopliftWarning)]
        for record in records:
            if record.exc_info:
                result.internal_errors.append("".join(traceback.format_exception(*record.exc_info))[-2000:])
    result.seconds = time.perf_counter() - started
    return result


def _flagging(fn: Callable[..., Any], flag: list[bool]) -> Callable[..., Any]:
    """``fn``, with ``flag[0]`` true while it runs, and still true once a time limit stopped it."""

    @functools.wraps(fn)
    def original(*args: Any, **kwargs: Any) -> Any:
        flag[0] = True
        try:
            result = fn(*args, **kwargs)
        except Exception:
            flag[0] = False
            raise
        flag[0] = False
        return result

    return original


def minimize(result: Result, *, compile: Any = False, variants: int = 3, budget: int = 400,
             host_reads: str | None = None) -> Result:
    """Delete lines and blocks of a disagreeing program while it still disagrees the same way.

    Hypothesis shrinks the choices a program was drawn from; this removes what those choices
    could not (a statement in the middle of a body).  At most ``budget`` re-runs."""

    if result.ok:
        return result
    program = result.program
    head = program.source[:program.source.index(f"def {program.name}(")]
    lines = program.function_source().rstrip("\n").splitlines()
    runs = 0

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    changed = True
    while changed and runs < budget:
        changed = False
        i = 1
        while i < len(lines) and runs < budget:
            if _LOOP_STEP.match(lines[i]):  # without it a while loop never ends
                i += 1
                continue
            end = i + 1
            while end < len(lines) and indent(lines[end]) > indent(lines[i]):
                end += 1
            spans = [(i, end), (i, i + 1)] if end > i + 1 else [(i, i + 1)]
            for a, b in spans:
                candidate = lines[:a] + lines[b:]
                source = head + "\n".join(candidate) + "\n"
                try:
                    compile_source(source)
                except SyntaxError:
                    continue
                runs += 1
                attempt = check(replace(program, source=source), compile=compile, variants=variants,
                                host_reads=host_reads)
                if attempt.signature == result.signature:
                    lines, result, changed = candidate, attempt, True
                    break
            else:
                i += 1
    return result


_LOOP_STEP = re.compile(r"\s*[ij] \+= 1\s*$")


def compile_source(source: str) -> None:
    compile(source, "<looplift-fuzz>", "exec", dont_inherit=True)


# ---------------------------------------------------------------------------------------------
# Campaigns


class Disagreement(AssertionError):
    """Raised inside the Hypothesis test so that it shrinks the program."""


class _Stop(BaseException):
    """Ends a Hypothesis run at once (not an ``Exception``: Hypothesis does not shrink it)."""


@dataclass
class Summary:
    examples: int
    seed: int
    compile: Any
    variants: int
    device: str = "cpu"
    generated: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    verdicts: Counter = field(default_factory=Counter)
    signatures: Counter = field(default_factory=Counter)
    raised: Counter = field(default_factory=Counter)
    fallbacks: Counter = field(default_factory=Counter)
    tags: Counter = field(default_factory=Counter)
    lifted: int = 0
    hoisted: int = 0
    compiled: int = 0
    large: int = 0
    lift_always: int = 0
    internal_errors: int = 0
    minimal: list[Result] = field(default_factory=list)
    """One shrunk program per kind of disagreement."""
    first_seen: dict[str, Result] = field(default_factory=dict)
    """The first (unshrunk) program of each kind."""
    internal_error_examples: list[Result] = field(default_factory=list)
    """Programs for which looplift's transformation itself failed (it fell back)."""

    def add(self, result: Result) -> None:
        self.generated += 1
        self.verdicts[result.verdict] += 1
        if not result.ok:
            self.signatures[result.signature] += 1
            self.first_seen.setdefault(result.signature, result)
        if result.raised:
            self.raised[result.raised] += 1
        if result.fallback:
            self.fallbacks[re.sub(r"line \d+: ", "", result.fallback)[:100]] += 1
        self.tags.update(result.program.tags)
        self.lifted += result.lifted
        self.hoisted += result.hoisted
        self.compiled += result.compiled
        self.large += result.program.inputs.large
        self.lift_always += result.program.inputs.lift == "always"
        self.internal_errors += bool(result.internal_errors)
        if result.internal_errors and len(self.internal_error_examples) < 10:
            self.internal_error_examples.append(result)

    @property
    def disagreements(self) -> int:
        return self.verdicts["disagree"] + self.verdicts["crash"] + self.verdicts["timeout"]

    def as_dict(self) -> dict[str, Any]:
        rate = self.generated / self.seconds if self.seconds else 0.0
        return {
            "examples": self.examples, "seed": self.seed, "compile": self.compile, "variants": self.variants,
            "device": self.device,
            "generated": self.generated, "stopped_early": self.stopped_early, "seconds": round(self.seconds, 1),
            "programs_per_second": round(rate, 2),
            "verdicts": dict(self.verdicts), "disagreements": self.disagreements,
            "disagreement_kinds": dict(self.signatures),
            "lifted": self.lifted, "hoisted": self.hoisted, "compiled": self.compiled, "large_inputs": self.large,
            "lift_always": self.lift_always,
            "original_raised": dict(self.raised.most_common()),
            "fallbacks": dict(self.fallbacks.most_common(20)),
            "internal_errors": self.internal_errors,
            "features": dict(sorted(self.tags.items())),
            "minimal": [r.as_dict() for r in self.minimal],
            "first_seen": {k: r.as_dict() for k, r in self.first_seen.items()},
            "internal_error_examples": [r.as_dict() for r in self.internal_error_examples],
        }

    def markdown(self) -> str:
        d = self.as_dict()
        lines = [f"# looplift fuzz campaign (seed {self.seed}, compile={self.compile!r}, device {self.device})", "",
                 f"- programs: {self.generated} (asked {self.examples}), {self.variants} input sets each",
                 f"- time: {d['seconds']} s ({d['programs_per_second']} programs/s)",
                 f"- verdicts: {dict(self.verdicts)}",
                 f"- disagreements: {self.disagreements}",
                 f"- lifted (observed: a conversion kept a tensor or an operation ran on the tensor path): "
                 f"{self.lifted}; conversions hoisted: {self.hoisted}; "
                 f"compiled: {self.compiled}; large inputs: {self.large}; "
                 f"run with LOOPLIFT_LIFT=always: {self.lift_always}",
                 f"- the original raised: {dict(self.raised.most_common())}",
                 f"- looplift internal errors (fell back): {self.internal_errors}", ""]
        if self.signatures:
            lines += ["## Disagreements by kind", ""]
            lines += [f"- `{sig}`: {count}" for sig, count in self.signatures.most_common()]
            lines.append("")
        for r in self.minimal:
            lines += [f"### {r.signature}", "", "```python", r.program.function_source().rstrip(), "```", "",
                      f"inputs: `{r.program.inputs.code()}`", "", "```", r.detail[:3000], "```", ""]
        if self.internal_error_examples:
            lines += ["## Programs looplift failed to transform (internal errors; they ran as the original)", ""]
            for r in self.internal_error_examples[:3]:
                last = r.internal_errors[-1].strip().splitlines()[-1] if r.internal_errors else ""
                lines += ["```python", r.program.function_source().rstrip(), "```", "",
                          f"inputs: `{r.program.inputs.code()}`; error: `{last}`", ""]
        if self.fallbacks:
            lines += ["## Most common whole-function fallbacks", ""]
            lines += [f"- {count} x {reason}" for reason, count in self.fallbacks.most_common(10)]
            lines.append("")
        lines += ["## Features generated", "", ", ".join(f"{k}: {v}" for k, v in sorted(self.tags.items())), ""]
        return "\n".join(lines)


def run_campaign(examples: int, seed: int = 0, *, compile: Any = False, variants: int = 3, shrink: bool = True,
                 progress: Callable[[Summary], None] | None = None, progress_every: int = 100,
                 device: str = "cpu", time_limit: float | None = None, host_reads: str | None = None,
                 lift: str | None = None) -> Summary:
    """Generate ``examples`` programs from ``seed`` and check each one (see the module docstring).

    ``lift``: run every program with ``LOOPLIFT_LIFT`` set to it (default: the mode each program
    draws).  ``device``: where the input tensors live.  ``time_limit``: stop generating after
    this many seconds (the summary says how many programs ran).  ``host_reads``: judge host reads too
    (``"strict"``: none inside looplift but at exits; ``"no-more"``: also never more than the
    original)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    from .generator import input_specs, programs

    summary = Summary(examples, seed, compile, variants, device=device)
    started = time.perf_counter()
    rounds = 0
    while summary.generated < examples and rounds < 50:
        rounds += 1
        state: dict[str, Any] = {"generating": True, "target": None, "last": None, "out_of_time": False}
        remaining = examples - summary.generated

        @settings(max_examples=remaining, database=None, deadline=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                  phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                  verbosity=Verbosity.quiet, print_blob=False)
        @hypothesis_seed(seed * 1_000_003 + rounds)
        @given(programs(input_specs(device)))
        def probe(program: Program) -> None:
            if time_limit is not None and time.perf_counter() - started > time_limit:
                state["out_of_time"] = True
                raise _Stop()
            if lift is not None:
                program = replace(program, inputs=replace(program.inputs, lift=lift))
            result = check(program, compile=compile, variants=variants, host_reads=host_reads)
            if state["generating"]:
                summary.add(result)
                summary.seconds = time.perf_counter() - started
                if progress is not None and summary.generated % progress_every == 0:
                    progress(summary)
                if result.ok or result.signature in {r.signature for r in summary.minimal}:
                    return
                if not shrink:
                    return
                state["generating"] = False
                state["target"] = result.signature
                logger.warning("disagreement (%s) in program %d; shrinking", result.signature, summary.generated)
            if not result.ok and result.signature == state["target"]:
                state["last"] = result
                raise Disagreement(result.signature)

        try:
            probe()
        except Disagreement:
            pass
        except _Stop:
            pass
        except KeyboardInterrupt:
            logger.warning("interrupted after %d programs", summary.generated)
            state["out_of_time"] = True
        except Exception:  # Hypothesis itself gave up (flaky, ...): note it and go on
            logger.exception("hypothesis run %d stopped", rounds)
        if state["last"] is not None:
            summary.minimal.append(minimize(state["last"], compile=compile, variants=variants, host_reads=host_reads))
            logger.warning("minimal program for %s:\n%s", state["last"].signature, state["last"].describe())
        if state["out_of_time"]:
            logger.warning("time limit reached after %d programs", summary.generated)
            break
        if state["generating"] and summary.generated < examples and state["last"] is None:
            # Hypothesis stopped on its own (it ran out of new programs): another seed goes on
            continue
    summary.seconds = time.perf_counter() - started
    summary.stopped_early = summary.generated < examples
    cleanup()
    return summary
