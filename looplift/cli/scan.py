"""``looplift scan PATH...``: the linter's command line (see ``docs/scan.md``).

Exit status, as CI expects from a linter: 0 when nothing is reported, 1 when something is
(unless ``--exit-zero``), 2 on a usage error such as a path that does not exist.
"""
from __future__ import annotations

import argparse
import sys

from looplift.scan import scan_paths
from looplift.scan.findings import parse_codes
from looplift.scan.report import format_codes, format_json, format_statistics, format_text


def _codes_argument(text: str) -> tuple[str, ...]:
    try:
        return parse_codes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               help_text: str) -> argparse.ArgumentParser:
    """Add the ``scan`` subcommand to the ``looplift`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text + ". Codes: looplift scan --list-codes; docs: docs/scan.md.",
        epilog="exit status: 0 nothing found, 1 findings reported, 2 usage error",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files and directories (walked for *.py)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--select", type=_codes_argument, metavar="CODES",
                        help="report only these codes or prefixes, comma-separated (e.g. LL001,LL003 or LL0)")
    parser.add_argument("--ignore", type=_codes_argument, metavar="CODES",
                        help="do not report these codes or prefixes (the more specific of --select/--ignore wins)")
    parser.add_argument("--exit-zero", action="store_true", help="exit with status 0 even when something is reported")
    parser.add_argument("--statistics", action="store_true",
                        help="print the count per code after the findings (to stderr with --format json)")
    parser.add_argument("--list-codes", action="store_true", help="print the codes and exit")
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="log more (-vv for every file scanned)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Scan ``args.paths``, print the findings, and return the exit status."""
    if args.list_codes:
        print("\n".join(format_codes()))
        return 0
    if not args.paths:
        print("looplift scan: error: no PATH given (try: looplift scan .)", file=sys.stderr)
        return 2
    try:
        found = scan_paths(args.paths, select=args.select, ignore=args.ignore)
    except FileNotFoundError as exc:
        print(f"looplift scan: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(format_json(found))
    else:
        for line in format_text(found):
            print(line)
    if args.statistics:
        stream = sys.stderr if args.format == "json" else sys.stdout
        for line in format_statistics(found):
            print(line, file=stream)
    return 1 if found and not args.exit_zero else 0
