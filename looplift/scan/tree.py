"""Fast child iteration over ``ast`` nodes, shared by the visitor and the loop summary.

``ast.iter_child_nodes`` also yields the ``Load``/``Store`` context and operator nodes, which
are a third of a typical tree and never matter to the scan; skipping them (with the field
list cached per node class) is what keeps a scan of thousands of files within seconds.
"""
from __future__ import annotations

import ast
from typing import Iterator

_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of an AST class that can hold child nodes worth visiting."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in getattr(cls, "_fields", ()) if f not in _SKIPPED_FIELDS)
    return fields


def child_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The direct children of ``node``, without context and operator nodes."""
    for name in child_fields(node.__class__):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item
        elif isinstance(value, ast.AST):
            yield value
