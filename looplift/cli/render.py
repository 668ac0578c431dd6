"""Terminal output shared by ``demo`` and ``show``: colors, the rewrite as a diff, the decisions."""
from __future__ import annotations

import ast
import dataclasses
import difflib
import os
from typing import Any, TextIO


class Style:
    """ANSI styling, or none."""

    CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"


def use_color(no_color: bool, stream: TextIO) -> bool:
    """Colors only on a terminal, and never with ``--no-color`` or ``NO_COLOR`` set."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def source_diff(report: Any, name: str, label: str) -> list[str]:
    """The original (normalized by ``ast.unparse``) against the rewrite, whole function in context.

    Both sides go through ``ast.unparse`` so the diff shows what looplift changed, not how the
    unparser formats code (comments are not in the syntax tree, so they are dropped), and both
    are without decorators (``@looplift`` wraps the rewrite, it is not part of it)."""
    try:
        tree = ast.parse(report.original_source)
    except SyntaxError:
        original = report.original_source.splitlines()
    else:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.decorator_list = []
        original = ast.unparse(tree).splitlines()
    rewritten = report.source.splitlines()
    context = max(len(original), len(rewritten))
    return list(difflib.unified_diff(original, rewritten, f"{name} (original)", f"{name} ({label})",
                                     n=context, lineterm=""))


def color_diff(lines: list[str], style: Style) -> list[str]:
    """A unified diff with added lines green, removed red, headers bold."""
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            out.append(style(line, "bold"))
        elif line.startswith("@@"):
            out.append(style(line, "cyan"))
        elif line.startswith("+"):
            out.append(style(line, "green"))
        elif line.startswith("-"):
            out.append(style(line, "red"))
        else:
            out.append(line)
    return out


def decisions(report: Any) -> list[str]:
    """``str(report)`` without the rewritten source (a diff shows it)."""
    return str(dataclasses.replace(report, source="")).splitlines()
