"""The table of supported operations, generated from the registry.

``python -m looplift.registry.docs`` writes ``docs/supported-ops.md``; ``looplift ops`` prints the
same table in the terminal; a test fails when the file is out of date.  Every row comes from an
entry's own fields (key, forms, notes) and its lowering, computed for representative operands of
its first declared form that lowers (``lowered``), grouped by the module that defines the entry,
so the table cannot drift from what the registry does.
"""
from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import Refusal
from ..lattice import AV, ArrayV, ConstV, ListV, PyScalarV
from . import entries, lowering
from .cases import OMIT, Arr, Axis, Case, Lifted, Lit, OneOf, Py, Seq
from .entry import OpEntry
from .probe import abstract_form

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

The "Lowered" column is the torch expression the rewritten code runs, decided from the operands'
types when the code is generated, for representative operands (named `a`, `b`, ... in order; a
lifted operand is a tensor of the NumPy dtype shown). Other dtypes and forms get their own
expression; where none exists the call stays in NumPy, for the reason given.
Every entry is checked against NumPy by `tests/test_registry.py` (the runtime fallback) and
`tests/test_registry_lowering.py` (the lowered code).
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
    return entry.key, lowered(entry), entry.forms or "-", entry.notes or "-"


# ---------------------------------------------------------------------------------------------
# The lowering for representative operands


#: The dtype a representative array operand takes where its form allows it.
_DTYPE = "float32"
_NDIM = 2


class _FirstChoices:
    """The ``cases.Drawer`` interface answering every draw with a plain, representative choice
    (2-d float32 arrays of ones, the first option, sides of 2): ``Custom`` forms build an
    example from it."""

    def shape(self, ndim: tuple[int, int] = (0, 3), min_side: int = 0, max_side: int = 4) -> tuple[int, ...]:
        return (max(min(2, max_side), min_side),) * min(max(ndim[0], _NDIM), ndim[1])

    def integer(self, low: int, high: int) -> int:
        return min(max(low, 2), high)

    def choice(self, options: Any) -> Any:
        return list(options)[0]

    def array(self, shape: tuple[int, ...], dtypes: tuple[str, ...] = (_DTYPE,), values: str = "any",
              lifted: bool | None = True) -> Any:
        value = np.ones(shape, _representative_dtype(dtypes))
        return Lifted(value[()] if not shape else value) if lifted is not False else value


def _representative_dtype(dtypes: Sequence[str]) -> str:
    return _DTYPE if _DTYPE in dtypes else dtypes[0]


def _spec_value(spec: Any, args: Sequence[AV]) -> AV | None:
    """The representative abstract operand of a spec (None: a keyword left out)."""
    if isinstance(spec, Arr):
        ndim = args[spec.like].ndim if spec.like is not None else min(max(spec.ndim[0], _NDIM), spec.ndim[1])
        return ArrayV(np.dtype(_representative_dtype(spec.dtypes)), ndim, scalar=ndim == 0,
                      lifted=spec.lifted is not False)
    if isinstance(spec, Py):
        return PyScalarV(float if float in spec.types else spec.types[0])
    if isinstance(spec, (Lit, OneOf)):
        return _spec_value(spec.options[0], args)
    if isinstance(spec, Axis):
        return ConstV(-1 if args[spec.of].ndim else None)
    if isinstance(spec, Seq):
        return ListV(_spec_value(spec.item, args))
    return None if spec is OMIT else ConstV(spec)


def representative(case: Case) -> tuple[list[AV], dict[str, AV]]:
    """Representative abstract operands of a declared form."""
    if case.custom is not None:
        args, kwargs = case.custom.build(_FirstChoices())
        return [abstract_form(a) for a in args], {k: abstract_form(v) for k, v in kwargs.items()}
    args: list[AV] = []
    for spec in case.args:
        value = _spec_value(spec, args)
        if value is None:  # a positional argument left out leaves out those after it
            break
        args.append(value)
    kwargs = {name: _spec_value(spec, args) for name, spec in case.kwargs.items()}
    return args, {name: value for name, value in kwargs.items() if value is not None}


def _describe(value: AV) -> str:
    if isinstance(value, ArrayV):
        return f"{value.dtype} {'scalar' if value.scalar else f'{value.ndim}-d'}"
    if isinstance(value, PyScalarV):
        return f"Python {value.type.__name__}"
    if isinstance(value, ListV):
        return f"list of {_describe(value.elem)}"
    return repr(value)


class _Named(ast.NodeTransformer):
    """Placeholders renamed for reading: ``_0`` -> ``a``, ``_k_axis`` -> ``axis``."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.copy_location(ast.Name(self.names.get(node.id, node.id), node.ctx), node)


@functools.lru_cache(maxsize=None)
def lowered(entry: OpEntry) -> str:
    """The entry's lowered expression for the representative operands of its first declared
    form that lowers, with those operands' types; else why it stays in NumPy."""
    if entry.numpy_only or entry.lower is None:
        return f"stays in NumPy: {entry.numpy_only or 'no lowering yet'}"
    reasons = []
    for case in entry.cases:
        args, kwargs = representative(case)
        try:
            result = lowering.lower(entry, args, kwargs)
        except Refusal as refusal:
            reasons.append(refusal.reason.removeprefix(f"{entry.key}: "))
            continue
        names = {f"_{i}": chr(ord("a") + i) for i in range(len(args))}
        names.update({f"_k_{name}": name for name in kwargs})
        text = ast.unparse(_Named(names).visit(result.expression))
        typed = [f"{names[n]}: {_describe(v)}" for n, v in zip(result.names, [*args, *kwargs.values()])
                 if not isinstance(v, ConstV)]
        return f"`{text}` ({', '.join(typed)})" if typed else f"`{text}`"
    return f"stays in NumPy: {reasons[0]}"


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
                  "| Operation | Lowered | Forms | Falls back to NumPy when / notes |", "|---|---|---|---|"]
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
        lines += ["", f"{GROUPS.get(name, name)} ({len(rows)})"]
        for entry in rows:
            key, lowering_text, forms, notes = _row(entry)
            lines.append(f"  {key:<{width}}  {lowering_text.replace('`', '')}")
            lines.append(f"  {'':<{width}}  forms: {forms}")
            if entry.notes:
                lines.append(f"  {'':<{width}}  notes: {notes}")
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
