"""The table of supported operations, generated from the registry.

``python -m looplift.registry.docs`` writes ``docs/supported-ops.md``; ``looplift ops`` prints the
same table in the terminal; a test fails when the file is out of date.  Every row comes from an
entry's own fields (key, torch target, forms, notes), grouped by the module that defines the
entry's tensor path, so the table cannot drift from what the registry does.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, Sequence

from . import entries
from .entry import OpEntry

#: Entry modules in the order the table shows them, with a heading each.
GROUPS: dict[str, str] = {
    "ufuncs": "Elementwise functions and operators",
    "reductions": "Reductions",
    "shape": "Shape manipulation and joining",
    "indexing": "Indexing",
    "linalg": "Products and linear algebra",
    "sorting": "Sorting, searching, selection, rounding",
    "creation": "Array creation",
    "methods": "Conversions, attributes, len",
}

#: Where the generated file lives, relative to the repository root.
DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "supported-ops.md"

_HEADER = """\
# Supported NumPy operations

Generated from the op registry by `python -m looplift.registry.docs` (do not edit by hand;
`looplift ops` prints the same table).

looplift runs these NumPy operations as torch operations on values that came from tensors. Each
one reproduces NumPy exactly: the same dtype, shape, kind of result (NumPy scalar, array, tuple,
Python object) and values (within float tolerance), or the same exception. Where its tensor path
cannot guarantee that, the call runs in NumPy instead (on the same values, converted back), so a
fallback costs time, never correctness. The last column says where that happens.
Every entry is checked against NumPy by `tests/test_registry.py`.
"""


def group_of(entry: OpEntry) -> str:
    """The entry module that defines the entry's tensor path."""
    return entry.torch_impl.__module__.rsplit(".", 1)[-1]


def select(text: str | None = None) -> list[OpEntry]:
    """Entries whose key or torch target contains ``text`` (all of them for None)."""
    needle = (text or "").lower()
    return [e for e in entries() if needle in e.key.lower() or needle in e.torch_name.lower()]


def _grouped(selected: Iterable[OpEntry]) -> dict[str, list[OpEntry]]:
    groups: dict[str, list[OpEntry]] = {name: [] for name in GROUPS}
    for entry in selected:
        groups.setdefault(group_of(entry), []).append(entry)
    return {name: rows for name, rows in groups.items() if rows}


def _row(entry: OpEntry) -> tuple[str, str, str, str]:
    return entry.key, entry.torch_name, entry.forms or "-", entry.notes or "-"


def _count(selected: Sequence[OpEntry]) -> str:
    return f"{len(selected)} operation{'' if len(selected) == 1 else 's'}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(selected: Sequence[OpEntry] | None = None) -> str:
    selected = entries() if selected is None else selected
    lines = [_HEADER, f"**{_count(selected)}** in {len(_grouped(selected))} groups.", ""]
    for name, rows in _grouped(selected).items():
        lines += [f"## {GROUPS.get(name, name)} ({len(rows)})", "",
                  f"Defined in `looplift/registry/{name}.py`.", "",
                  "| Operation | torch | Forms | Falls back to NumPy when / notes |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(f"`{_cell(cell)}`" if i == 0 else _cell(cell) for i, cell in enumerate(_row(e)))
                  + " |" for e in rows]
        lines.append("")
    return "\n".join(lines)


def render_text(selected: Sequence[OpEntry] | None = None) -> str:
    """Plain columns for a terminal: operation, torch target, then forms and notes."""
    selected = entries() if selected is None else selected
    lines = [_count(selected)]
    for name, rows in _grouped(selected).items():
        width = max(len(e.key) for e in rows)
        target = max(len(e.torch_name) for e in rows)
        lines += ["", f"{GROUPS.get(name, name)} ({len(rows)})"]
        for entry in rows:
            key, torch_name, forms, notes = _row(entry)
            lines.append(f"  {key:<{width}}  {torch_name:<{target}}  {forms}")
            if entry.notes:
                lines.append(f"  {'':<{width}}  {'':<{target}}  notes: {notes}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``docs/supported-ops.md`` (or the path given)."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else DOCS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {path} ({len(entries())} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
