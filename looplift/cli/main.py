"""Entry point of the ``looplift`` command: ``demo``, ``show``, ``scan``, ``ops``, ``bench``.

Each subcommand lives in its own module with ``add_parser(subparsers)``; the parser it adds sets
``func`` (called with the parsed arguments, returning the exit status).  Modules are imported
only when their command runs, so ``looplift scan`` does not pay for importing torch.

Exit status, as usual for a command line: 0 success, 1 the command's own failure (findings,
a mismatch), 2 a usage error (argparse's own, an unknown name, a bad environment variable),
130 interrupted.  Errors are one line on stderr.  ``-v``/``-vv`` turn on looplift's own loggers
(`looplift.logs`) at INFO/DEBUG; other libraries' loggers are left alone.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from looplift import __version__, logs
from looplift.errors import SettingError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("looplift.cli.demo", "run the built-in examples: sources, decisions, results, timings"),
    "show": ("looplift.cli.show", "print the rewrite of FILE.py:FUNC and its decisions"),
    "scan": ("looplift.cli.scan", "find tensor/NumPy conversions inside loops (a linter)"),
    "ops": ("looplift.cli.ops", "print the table of supported NumPy operations"),
    "bench": ("looplift.cli.bench", "run the benchmark suite (benchmarks/)"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="looplift", description="Make loops that mix PyTorch and NumPy fast.",
        epilog="environment: LOOPLIFT_LOGS=cache,compile (or +all) logs those categories to stderr; "
               "see docs/debugging.md")
    parser.add_argument("--version", action="version", version=f"looplift {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log looplift's decisions to stderr (-vv: with details)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if command == name:
            importlib.import_module(module).add_parser(subparsers, name, help_text)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        logs.configure_from_environment()
    except SettingError as exc:
        print(f"looplift: error: {exc}", file=sys.stderr)
        return 2
    if args.verbose:
        logs.enable_all(logging.INFO if args.verbose == 1 else logging.DEBUG)
    try:
        return int(args.func(args) or 0)
    except SettingError as exc:
        print(f"looplift {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
