"""``looplift demo``: run the built-in examples and show what looplift does to each.

For every example (``looplift/demo/``) it prints the original source and looplift's rewrite as
one unified diff, the decisions (``str`` of ``explain``'s report: hoisted, rewritten,
materialized, compiled, left alone and why), whether the results are identical
(``looplift.testing.compare_calls``: return values, dtypes, shapes, arguments, printed output) and
the median time per call of the original and of the decorated function.  Progress goes to
stderr; everything else to stdout, plain when stdout is not a terminal.

``torch.compile`` is off unless ``--compile`` is given: compiling a region takes seconds on a
small CPU, longer than the whole demo should, and the eager torch ops already show what
lifting does.  Exit status: 0 when every example matched, 1 when one did not (or failed), 2 on a
usage error (an unknown example, a device that is not there).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import sys
import textwrap
import time
import timeit
import warnings
from typing import Any, Callable, TextIO

from .arguments import device_problem, positive_int
from .render import Style, color_diff, decisions, source_diff, use_color
from .values import describe

logger = logging.getLogger("looplift.cli.demo")

#: Time per timed batch of calls: enough calls per batch to rise above the timer's noise.
BATCH_SECONDS = 0.02
MAX_CALLS_PER_BATCH = 50
WIDTH = 96


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               help_text: str) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand to the ``looplift`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text + ". Runs offline in less than a minute on a 2-core CPU.",
        epilog="exit status: 0 every example matched the original, 1 a mismatch or a failure, 2 usage error",
    )
    parser.add_argument("--example", action="append", metavar="NAME",
                        help="run only this example (repeatable; see --list)")
    parser.add_argument("--list", action="store_true", help="print the examples and exit")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                        help="compile lifted regions with torch.compile (default: off, because compiling "
                             "takes seconds per region on a small CPU)")
    parser.add_argument("--device", default="cpu", metavar="DEVICE",
                        help="where the example tensors live: cpu (default) or cuda")
    parser.add_argument("--repeat", type=positive_int(), default=5, metavar="N",
                        help="timed rounds per example; the median is printed (default: 5)")
    parser.add_argument("--no-timing", action="store_true", help="skip the timings")
    parser.add_argument("--threads", type=positive_int(), metavar="N",
                        help="torch.set_num_threads(N) before timing (default: torch's own choice); "
                             "on a busy 2-core machine, 1 gives far steadier torch timings")
    parser.add_argument("--no-color", action="store_true",
                        help="plain output (also when stdout is not a terminal or NO_COLOR is set)")
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="log more (-vv for the raw timings)")
    parser.set_defaults(func=run)
    return parser


# ----------------------------------------------------------------------------------------------
# Output helpers


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    return f"{seconds * 1e3:.2f} ms"


# ----------------------------------------------------------------------------------------------
# Running one example


@dataclasses.dataclass
class Outcome:
    name: str
    status: str = "identical"
    """``identical``, ``MISMATCH`` or ``FAILED``."""
    detail: str = ""
    original: float | None = None
    lifted: float | None = None
    reads: tuple[int, int] | None = None
    """Host reads of tensor data in one call, the original's and looplift's (after its first call)."""

    @property
    def speedup(self) -> float | None:
        if self.original is None or self.lifted is None or self.lifted <= 0:
            return None
        return self.original / self.lifted


def _synchronizer(device: str) -> Callable[[], None]:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def time_pair(original: Callable[[], Any], lifted: Callable[[], Any], repeat: int,
              sync: Callable[[], None]) -> tuple[float, float]:
    """Median seconds per call of each, measured in rounds that alternate the two (and which of
    them goes first), so that a machine's changing load hits both alike."""
    def once(fn: Callable[[], Any]) -> None:
        fn()
        sync()

    start = time.perf_counter()
    once(original)
    single = max(time.perf_counter() - start, 1e-7)
    number = max(1, min(MAX_CALLS_PER_BATCH, int(BATCH_SECONDS / single)))
    def timer(fn: Callable[[], Any]) -> timeit.Timer:
        return timeit.Timer(lambda: once(fn))

    timers = [timer(original), timer(lifted)]
    rounds: tuple[list[float], list[float]] = ([], [])
    for index in range(repeat):
        # alternate which one goes first: the first of a pair pays for waking torch's and
        # NumPy's thread pools, which on a busy machine is a large, one-sided error
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            rounds[which].append(timers[which].timeit(number) / number)
    logger.debug("%d calls per round; original %s; looplift %s", number,
                 [f"{s * 1e3:.3f}" for s in rounds[0]], [f"{s * 1e3:.3f}" for s in rounds[1]])
    return statistics.median(rounds[0]), statistics.median(rounds[1])


def run_example(example: Any, device: str, args: argparse.Namespace, out: TextIO, style: Style) -> Outcome:
    from looplift import LoopliftWarning, explain, looplift
    from looplift.testing import Mismatch, compare_calls, run

    outcome = Outcome(example.name)
    where = "cpu" if example.cpu_only else device
    inputs = example.inputs(where)
    decorated = looplift(compile=args.compile)(example.function)
    name = example.function.__name__

    print(style(f"== {example.name}: {example.title}", "bold"), file=out)
    print(textwrap.fill(example.story, WIDTH), file=out)
    params = list(example.function.__code__.co_varnames[:example.function.__code__.co_argcount])
    print("inputs:", file=out)
    for param, value in zip(params, inputs):
        print(f"  {param} = {describe(value)}", file=out)
    if where != device:
        print(f"  (kept on the CPU: this code calls .numpy() directly, which a {device} tensor refuses)",
              file=out)
    print(file=out)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = explain(decorated, *inputs)
        try:
            compare_calls(example.function, decorated, inputs)
        except Mismatch as exc:
            outcome.status, outcome.detail = "MISMATCH", str(exc)
        outcome.reads = tuple(run(fn, inputs, host_reads=True).reads.total  # type: ignore[union-attr]
                              for fn in (example.function, decorated))

    label = f"looplift, compile={args.compile}"
    if report.fallback:
        print(style(f"runs as the original code: {report.fallback}", "yellow"), file=out)
    else:
        diff = source_diff(report, name, label)
        if diff:
            print("source: the original and looplift's rewrite (both as ast.unparse prints them)", file=out)
            print("\n".join(color_diff(diff, style)), file=out)
        else:
            print("source: unchanged (nothing here crosses between torch and NumPy inside a loop)",
                  file=out)
    print(file=out)
    print("decisions:", file=out)
    for line in decisions(report):
        print("  " + line, file=out)
    lifted_warnings = [w for w in caught if issubclass(w.category, LoopliftWarning)]
    other_warnings = [w for w in caught if not issubclass(w.category, LoopliftWarning)]
    if lifted_warnings:
        print("LoopliftWarning at the first call (these lines run as NumPy, correctly, just not lifted):",
              file=out)
        for w in lifted_warnings:
            print(textwrap.indent(textwrap.fill(str(w.message), WIDTH - 2), "  "), file=out)
    for w in other_warnings:
        logger.info("warning while running %s: %s: %s", example.name, w.category.__name__, w.message)

    if outcome.status == "identical":
        print(style("result: identical", "green") + " (compare_calls: types, dtypes, shapes, values within "
              "float tolerance, arguments afterwards, printed output)", file=out)
    else:
        print(style(f"result: {outcome.status}: {outcome.detail}", "red"), file=out)
    print(f"host reads of tensor data per call (each a sync on a GPU): original {outcome.reads[0]}, "
          f"looplift {outcome.reads[1]}", file=out)

    if not args.no_timing:
        sync = _synchronizer(where)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome.original, outcome.lifted = time_pair(
                lambda: example.function(*inputs), lambda: decorated(*inputs), args.repeat, sync)
        speed = outcome.speedup
        verdict = "" if speed is None else _verdict(speed)
        print(f"timing: original {_ms(outcome.original)}, looplift {_ms(outcome.lifted)} per call "
              f"(median of {args.repeat}) -> {style(verdict, 'bold')}", file=out)
    print(file=out)
    return outcome


#: Speed ratios closer to 1 than this are reported as the same speed: a median of a few calls on
#: a shared machine moves by more than that from run to run.
SAME_SPEED = 0.05


def _verdict(speed: float) -> str:
    if abs(speed - 1) < SAME_SPEED:
        return f"the same speed ({speed:.2f}x, within the {SAME_SPEED:.0%} a median of a few calls moves)"
    return f"{speed:.2f}x faster" if speed >= 1 else f"{1 / speed:.2f}x slower"


# ----------------------------------------------------------------------------------------------
# The command


def _check_device(device: str) -> str | None:
    """None when the demo can run on ``device``, else the message to print."""
    import torch

    problem = device_problem(device)
    if problem is None and torch.device(device).type not in ("cpu", "cuda", "mps"):
        problem = "the demo runs on cpu, cuda or mps"
    return f"--device {device}: {problem}" if problem else None


def _select(names: list[str] | None) -> tuple[list[Any], str | None]:
    from looplift import demo

    if not names:
        return list(demo.EXAMPLES), None
    chosen: list[Any] = []
    for name in dict.fromkeys(names):
        try:
            chosen.append(demo.by_name(name))
        except KeyError:
            return [], f"unknown example {name!r}; the examples are: {', '.join(demo.names())}"
    return chosen, None


def _summary(outcomes: list[Outcome], args: argparse.Namespace, device: str, out: TextIO, style: Style) -> None:
    import torch

    print(style(f"summary (device {device}, compile={args.compile}, torch {torch.__version__}, "
                f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs)", "bold"), file=out)
    width = max(len(o.name) for o in outcomes) + 2
    print(f"  {'example':<{width}}{'result':<11}{'original':>11}{'looplift':>11}{'speedup':>9}"
          f"{'host reads':>13}", file=out)
    for o in outcomes:
        speed = f"{o.speedup:.2f}x" if o.speedup is not None else "-"
        reads = f"{o.reads[0]} -> {o.reads[1]}" if o.reads is not None else "-"
        status = style(f"{o.status:<11}", "green" if o.status == "identical" else "red")
        print(f"  {o.name:<{width}}{status}{_ms(o.original):>11}{_ms(o.lifted):>11}{speed:>9}{reads:>13}",
              file=out)
    if not args.no_timing:
        print(textwrap.fill(
            "Timings are medians of alternating rounds on this machine; on a shared or busy CPU they move "
            "a lot from run to run. On the CPU, looplift lifts only items of 131072+ elements (with "
            "--compile, also items of 16384+ whose lifted operations all fuse into compiled regions; "
            "smaller ones only get their conversions hoisted), and what it lifts depends on the NumPy "
            "operations its registry covers (`looplift ops`).", WIDTH), file=out)


def run(args: argparse.Namespace) -> int:
    """Run the chosen examples; the exit status says whether all of them matched."""
    from looplift import demo

    if args.list:
        width = max(len(n) for n in demo.names()) + 2
        for example in demo.EXAMPLES:
            print(f"{example.name:<{width}}{example.title}")
        return 0
    chosen, error = _select(args.example)
    if error:
        print(f"looplift demo: error: {error}", file=sys.stderr)
        return 2
    problem = _check_device(args.device)
    if problem:
        print(f"looplift demo: error: {problem}", file=sys.stderr)
        return 2

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = sys.stdout
    style = Style(use_color(args.no_color, out))
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for index, example in enumerate(chosen, 1):
        print(f"[{index}/{len(chosen)}] {example.title} ...", file=sys.stderr, flush=True)
        print(style(f"[{index}/{len(chosen)}]", "dim"), end=" ", file=out)
        try:
            outcomes.append(run_example(example, args.device, args, out, style))
        except Exception as exc:  # one broken example must not hide the others
            logger.debug("example %s failed", example.name, exc_info=True)
            print(style(f"FAILED: {type(exc).__name__}: {exc} (run with -vv for the traceback)", "red"),
                  file=out)
            print(file=out)
            outcomes.append(Outcome(example.name, "FAILED", f"{type(exc).__name__}: {exc}"))
        out.flush()
    _summary(outcomes, args, args.device, out, style)
    logger.info("demo finished in %.1f s", time.perf_counter() - started)
    return 0 if all(o.status == "identical" for o in outcomes) else 1
