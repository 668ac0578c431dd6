"""``looplift bench``: run the benchmark suite in ``benchmarks/`` (see ``docs/performance.md``).

The suite lives beside the package in a source checkout (``benchmarks/run.py``, runnable on its
own); this command finds it there and runs it with the same options.  An installed copy of
looplift without the checkout has no suite: the command says so and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

#: the checkout's root: ``<root>/looplift/cli/bench.py``
ROOT = Path(__file__).resolve().parent.parent.parent


def _runner() -> ModuleType | None:
    """``benchmarks.run`` from the checkout, or None when there is no checkout."""
    if not (ROOT / "benchmarks" / "run.py").is_file():
        return None
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.run")


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to the ``looplift`` parser."""
    runner = _runner()
    parser = subparsers.add_parser(
        name, help=help_text,
        description=help_text + ": the original loop, hand-written torch, torch.compile and looplift, "
                                "side by side (docs/performance.md).",
        epilog="exit status: 0 done, 2 usage error (unknown option, --device cuda without CUDA, no benchmarks/)")
    if runner is not None:
        runner.add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the suite (``benchmarks.run.run``); 2 when the checkout's ``benchmarks/`` is missing."""
    runner = _runner()
    if runner is None:
        print(f"looplift bench: no benchmarks/ directory beside the looplift package ({ROOT}); "
              "run it from a source checkout", file=sys.stderr)
        return 2
    return runner.run(args)
