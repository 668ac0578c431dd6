"""Annotations: what the passes conclude about syntax-tree nodes, stored on the nodes.

Every pass writes its conclusions here and every transform reads them (the AutoGraph ``pyct``
``anno`` module is the model): a fact has one key, documented by its enum value, and lives on the
node it is about, so a transform never re-derives a fact from the shape of generated code, and a
deep copy of a tree copies its facts with it.
"""
from __future__ import annotations

import ast
import enum
from typing import Any

_FIELD = "___looplift_anno"


class Key(enum.Enum):
    """The facts passes record; the value says what the fact is."""

    SITE = "a stable id of an expression in the user's source, kept through copies (observed types key on it)"
    TYPE = "the abstract value the original program has at this expression (analysis/types.py)"
    STATIC_TYPE = "TYPE computed without observed facts: what effects analyses may rely on unguarded"
    REP = "what the rewritten program holds here: TYPE with the lifted bits placement decided"
    HOISTED = "this IfExp caches a hoisted conversion, ``h if h is not None else (h := conversion)`` (hoist)"
    LIFT = "a conversion kept as a tensor: (Conversion, the source's abstract value) (placement)"
    SHORTEN = "a ``t.detach().cpu().numpy()`` left in NumPy that may take one step (placement)"
    LOWER = "a NumPy operation run as lowered torch: registry.lowering.Lowered (placement)"
    DEFER = "a host read kept on the device until its value leaves: the read's kind (placement)"
    FOLD = "an accumulation ``x += read`` whose reads are folded where x leaves: the fold op (placement)"
    MATERIALIZE = "this expression's value is made what the original holds where it is used (placement)"
    DEMOTE = "names rebound to what the original holds just before this statement (placement)"
    REGION = "this node is computed by an outlined region: the region's name (regions)"
    BATCH = "a loop run as one batched computation: the batching plan (dependence)"
    SKIPPED = "why a conversion or operation here stays as the original code: a Decision (placement)"


def getanno(node: ast.AST, key: Key, default: Any = None) -> Any:
    return getattr(node, _FIELD, {}).get(key, default)


def hasanno(node: ast.AST, key: Key) -> bool:
    return key in getattr(node, _FIELD, {})


def setanno(node: ast.AST, key: Key, value: Any) -> None:
    store = getattr(node, _FIELD, None)
    if store is None:
        store = {}
        setattr(node, _FIELD, store)
    store[key] = value


def delanno(node: ast.AST, key: Key) -> None:
    getattr(node, _FIELD, {}).pop(key, None)


def clear(tree: ast.AST, *keys: Key) -> None:
    """Remove ``keys`` from every node of ``tree`` (a pass that reruns starts clean)."""
    for node in ast.walk(tree):
        store = getattr(node, _FIELD, None)
        if store:
            for key in keys:
                store.pop(key, None)


def number_sites(tree: ast.AST) -> None:
    """Give every expression of ``tree`` a ``SITE`` id (its position in a walk of the user's tree)."""
    for index, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.expr):
            setanno(node, Key.SITE, index)
