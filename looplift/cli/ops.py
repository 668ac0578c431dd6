"""``looplift ops [FILTER]``: the table of supported NumPy operations (see ``docs/supported-ops.md``).

The same table the docs file holds, generated from the registry, as plain text columns or as
Markdown; ``FILTER`` keeps the operations whose name or torch target contains it.  Exit status 1
when nothing matches.
"""
from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               help_text: str) -> argparse.ArgumentParser:
    """Add the ``ops`` subcommand to the ``looplift`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text + " (also in docs/supported-ops.md).",
        epilog="exit status: 0 operations listed, 1 nothing matches FILTER")
    parser.add_argument("filter", nargs="?", default=None, metavar="FILTER",
                        help="show only operations whose name or torch target contains this text (e.g. linalg)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text",
                        help="plain text columns (default) or the Markdown of docs/supported-ops.md")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from looplift.registry import docs  # imports torch: only when this command runs

    selected = docs.select(args.filter)
    if not selected:
        print(f"no supported operation matches {args.filter!r}", file=sys.stderr)
        return 1
    render = docs.render_markdown if args.format == "markdown" else docs.render_text
    print(render(selected))
    return 0
