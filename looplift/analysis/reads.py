"""The host-read ledger: every read of tensor data by the host inside a loop of the original
program, and what the rewrite does with it.

On an accelerator each such read (``t.item()``, ``float(t)``, ``t.cpu().numpy()``, ``if t:``)
waits for the device.  The ledger lists them by line with their fate in the rewrite: kept on the
device and read once where the values leave, converted once (hoisted), one transfer for a
batched loop, or still read every iteration, with the reason (the line whose code needs the
value on the host).  It is computed from the passes' annotations, so it says what the rewrite
does, not what it hopes.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .. import anno
from ..anno import Key
from ..lattice import TensorV
from ..report import Decision
from . import conversions

LOOPS = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class Ledger:
    reads: list[Decision] = field(default_factory=list)
    per_iteration_original: int = 0
    per_iteration_rewrite: int = 0
    exits: int = 0

    @property
    def summary(self) -> str:
        if not self.reads:
            return ""
        return (f"per iteration: {self.per_iteration_original} in the original, {self.per_iteration_rewrite} in the "
                f"rewrite; values leave the rewrite's lifted code at {self.exits} place(s)")


def _tensor(node: ast.AST) -> bool:
    value = anno.getanno(node, Key.TYPE)
    return value is not None and any(isinstance(o, TensorV) for o in value.options())


def sites(root: ast.AST, resolve: Callable[[ast.expr], object], inner: bool = True
          ) -> list[tuple[ast.AST, ast.AST, str]]:
    """(site, the loop it repeats in, what it reads) for every host read of a tensor in a loop of
    ``root`` (with ``inner=False``, ``root`` is a loop and every read in it counts once)."""
    found: dict[int, tuple[ast.AST, ast.AST, str]] = {}
    loops = [root] if not inner else [n for n in ast.walk(root) if isinstance(n, LOOPS)]
    before = _evaluated_once(root) if not inner else set()
    for loop in loops:
        for node in ast.walk(loop):
            if id(node) in found or node is loop or id(node) in before:
                continue
            conv = conversions.match(node, resolve)
            read = conversions.host_read(node, resolve)
            if conv is not None and conv.direction == "to_numpy" and _tensor(conv.source):
                found[id(node)] = (node, loop, f"{conv.describe()} of {ast.unparse(conv.source)}")
            elif read is not None and _tensor(read.source):
                found[id(node)] = (node, loop, f"{read.describe()} of {ast.unparse(read.source)}")
            elif isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)) and _tensor(node.test):
                found[id(node)] = (node.test, loop, f"the truth of {ast.unparse(node.test)}")
    return list(found.values())


def per_iteration(loop: ast.AST, resolve: Callable[[ast.expr], object], branches: bool = True,
                  kept_reads: Iterable[ast.AST] = ()) -> int:
    """Host reads the rewrite makes in ``loop`` per iteration (each site once): reads kept, and
    every lifted value made NumPy inside the loop.  A ``return`` or ``raise`` leaves the loop:
    what it reads, it reads once per call.  ``branches=False``: only the reads every iteration
    makes (none in the body of an ``if``).  ``kept_reads``: the reads placement kept, of lifted
    values too (``float(a.mean())`` of a lifted ``a``: a read the original made in NumPy)."""
    once = _evaluated_once(loop) | {id(sub) for n in ast.walk(loop) if anno.hasanno(n, Key.HOISTED) or
                                    isinstance(n, (ast.Return, ast.Raise)) for sub in ast.walk(n)}
    if not branches:
        once |= {id(sub) for n in ast.walk(loop) if isinstance(n, ast.If)
                 for stmt in (*n.body, *n.orelse) for sub in ast.walk(stmt)}
    inside = [n for n in ast.walk(loop) if n is not loop and id(n) not in once]
    read = {id(node) for node, _, _ in sites(loop, resolve, inner=False)
            if id(node) not in once and not anno.hasanno(node, Key.DEFER) and not anno.hasanno(node, Key.LIFT)}
    read |= {id(n) for n in inside} & set(map(id, kept_reads))
    kept = len(read)
    made_numpy = sum(1 for n in inside if anno.hasanno(n, Key.MATERIALIZE))
    made_numpy += sum(len(anno.getanno(n, Key.DEMOTE, [])) for n in inside)
    return kept + made_numpy


def ledger(tree: ast.FunctionDef, resolve: Callable[[ast.expr], object], kept: dict[ast.AST, Decision]) -> Ledger:
    """The ledger of ``tree`` (annotated by the passes, before the lift transform)."""
    book = Ledger()
    batched = {id(n) for n in ast.walk(tree) if anno.hasanno(n, Key.BATCH)}
    hoisted = {id(sub) for n in ast.walk(tree) if anno.hasanno(n, Key.HOISTED) for sub in ast.walk(n)}
    for node, loop, what in sorted(sites(tree, resolve), key=lambda s: (s[0].lineno, s[0].col_offset)):
        book.per_iteration_original += 1
        if id(node) in hoisted:
            fate = "hoisted: converted once"
        elif id(loop) in batched:
            fate = "the batched loop reads all items' values in one transfer"
        elif anno.hasanno(node, Key.DEFER) or anno.hasanno(node, Key.LIFT):
            fate = "kept on the device; read once, where the values leave"
        else:
            reason = kept.get(node)
            fate = f"read every iteration ({reason.reason})" if reason is not None else "read every iteration"
        book.reads.append(Decision(node.lineno, what, fate))
    outermost = _outermost(tree)
    in_loops = {id(n) for loop in outermost for n in ast.walk(loop)}
    leaving = _leaving(tree)
    for node in ast.walk(tree):
        if id(node) in in_loops and anno.hasanno(node, Key.MATERIALIZE):
            fate = "read once, as the value leaves the loop" if id(node) in leaving else \
                "read every iteration: code there that is not lifted needs the value"
            book.reads.append(Decision(node.lineno, f"{_short(node)} made NumPy", fate))
    book.reads.sort(key=lambda d: d.line)
    book.per_iteration_rewrite = sum(per_iteration(loop, resolve) for loop in outermost)
    book.exits = exits(tree)
    return book


def exits(tree: ast.FunctionDef) -> int:
    """Places where lifted values leave the rewrite once per call: after the loops, or in a
    ``return``/``raise`` inside one."""
    in_loops = {id(n) for loop in _outermost(tree) for n in ast.walk(loop)}
    leaving = _leaving(tree)
    return sum(1 for n in ast.walk(tree) if (id(n) not in in_loops or id(n) in leaving) and
               (anno.hasanno(n, Key.MATERIALIZE) or anno.hasanno(n, Key.DEMOTE)))


def _evaluated_once(loop: ast.AST) -> set[int]:
    """The nodes of what a loop iterates over (``for x in <iter>``, a comprehension's first
    ``in``): evaluated once, before its first iteration."""
    if isinstance(loop, ast.For):
        source: ast.AST | None = loop.iter
    elif isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        source = loop.generators[0].iter
    else:
        source = None
    return {id(n) for n in ast.walk(source)} if source is not None else set()


def _outermost(tree: ast.AST) -> list[ast.AST]:
    return [loop for loop in ast.walk(tree) if isinstance(loop, LOOPS) and not _nested(loop, tree)]


def _leaving(tree: ast.AST) -> set[int]:
    return {id(sub) for n in ast.walk(tree) if isinstance(n, (ast.Return, ast.Raise)) for sub in ast.walk(n)}


def _nested(loop: ast.AST, tree: ast.AST) -> bool:
    return any(other is not loop and isinstance(other, LOOPS) and any(sub is loop for sub in ast.walk(other))
               for other in ast.walk(tree))


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
