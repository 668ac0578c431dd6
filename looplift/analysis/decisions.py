"""The decisions placement makes where a value meets torch or NumPy: conversions, host reads,
NumPy operations and updates of numbers (``analysis/placement.py`` walks the code and calls
these; each decision is an annotation, and each refusal a reason in the report)."""
from __future__ import annotations

import ast
from dataclasses import replace

from .. import anno, registry, semantics
from ..anno import Key
from ..errors import Refusal
from ..dtypes import TORCH_TO_NP
from ..lattice import AV, ArrayV, ListV, PyScalarV, TensorV, conflicted, contains_lifted, demoted, describe, join
from ..registry import lowering
from ..report import Decision
from . import conversions
from .rules import fold_type, hold, holder, is_python_number, is_tensor, unliftable
from .walker import Env, Use, join_all

#: Python operations on deferred numbers done later, on the host (``runtime/deferred.LATER_OPS``).
LATER_OPS = ("add", "sub", "mul")
#: The Python number ``.tolist()`` makes of an element, by NumPy dtype kind.
_PY_NUMBERS = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


class Decisions:
    """The deciding half of ``Placement`` (a mixin: it reads the walk's state)."""

    def scalar_update(self, node: ast.AugAssign, target: ast.Name, op: str | None, current: AV, value: AV,
                      env: Env) -> AV:
        """``x op= y`` where ``x`` is a number: an ordinary binary operation that rebinds ``x``."""
        later = self.later(op, current, value)
        if later is not None:
            anno.setanno(node, Key.FOLD, op)  # x op= read: computed on the host where x leaves
            return later
        if contains_lifted(current) and not any(isinstance(o, ArrayV) for o in current.options()):
            self.pending.add(target.id)  # a deferred number updated by something else: read it first
            current = demoted(current)
        if contains_lifted(current) or contains_lifted(value):
            lowered = self.lower(node, registry.for_operator(op) if op else None, [current, value], {})
            if lowered is not None:
                return lowered
            if contains_lifted(current):
                self.pending.add(target.id)
        self.use(node.value, value, Use.READ, env)
        return demoted(self.type_of(node))

    def lower(self, node: ast.AST, entry: registry.OpEntry | None, args: list[AV], kwargs: dict[str, AV]) -> AV | None:
        """The lifted result of a NumPy operation run as lowered torch (annotated), or None."""
        if entry is None or not self.lifting:
            return None
        if self.writes_in_place and entry.copies_views is not None and entry.copies_views(args):
            self.skip(node, f"{entry.key} runs in NumPy",
                      "NumPy returns a view where torch copies, and this function writes into arrays in place")
            return None
        try:
            lowered = lowering.lower(entry, args, kwargs)
        except Refusal as refusal:
            self.skip(node, f"{entry.key} runs in NumPy", refusal.reason)
            return None
        anno.setanno(node, Key.LOWER, lowered)
        return lowered.result

    def conversion(self, conv: conversions.Conversion, env: Env) -> AV:
        """A conversion between torch and NumPy: kept as a tensor when the types allow."""
        source = self.expr(conv.source, env, Use.OPERAND)
        node = conv.node
        if conv.direction == "to_numpy":
            if not is_tensor(source):
                self.use(conv.source, source, Use.RETAIN, env)
                if self.lifting and self.loops:
                    self.skip(node, f"{conv.describe()} kept", not_one_tensor(source))
                elif self.loops:
                    self.plan.switched_off[node] = Decision(node.lineno, f"{conv.describe()} kept", self.off_reason())
                return demoted(self.type_of(node))
            tensor = next(iter(source.options()))
            assert isinstance(tensor, TensorV)
            reason = unliftable(tensor, conv)
            if reason is None and anno.getanno(node, Key.SITE) in self.kept:
                reason = self.kept[anno.getanno(node, Key.SITE)]
            if reason is None and self.lifting:
                anno.setanno(node, Key.LIFT, (conv, tensor))
                return replace(self.type_of(node), lifted=True)  # type: ignore[arg-type]
            if self.lifting and reason:
                self.skip(node, f"{conv.describe()} kept", reason)
            elif not self.lifting and self.loops:
                self.plan.switched_off[node] = Decision(node.lineno, f"{conv.describe()} kept", self.off_reason())
            if self.shortening and conv.how == "numpy" and conv.chain and set(conv.chain) <= semantics.ALIASING_STEPS \
                    and tensor.device == "cpu" and tensor.requires_grad is False:
                anno.setanno(node, Key.SHORTEN, conv)
            return self.type_of(node)
        if contains_lifted(source) and self.lifting and isinstance(source, ArrayV) \
                and not (source.scalar and conv.how == "from_numpy"):
            anno.setanno(node, Key.LIFT, (conv, source))
            return self.type_of(node)
        self.use(conv.source, source, Use.READ, env)
        return self.type_of(node)

    def host_read(self, read: conversions.HostRead, env: Env) -> AV:
        """``t.item()``/``float(t)``: deferred (kept on the device) while only names, lists,
        accumulators and returns see it; ``use`` puts the read back where Python needs it."""
        source = self.expr(read.source, env, Use.OPERAND)
        result = self.type_of(read.node)
        spliced = self.splice(read, source) if read.how == "tolist" else None
        if spliced is not None:
            return spliced
        if read.how == "tolist" or not self.lifting or not self.loops or not isinstance(result, PyScalarV):
            self.use(read.source, source, Use.RETAIN, env)
            if self.loops and not self.lifting:
                self.plan.switched_off[read.node] = Decision(read.node.lineno, f"{read.describe()} read on the host",
                                                             self.off_reason())
            elif self.loops and read.how == "tolist":
                self.keep_read(read.node, self.kept.get(anno.getanno(read.node, Key.SITE)) or
                               _not_spliced(read.node in self.splices))
            elif self.loops:
                self.keep_read(read.node, "not deferred")
            return demoted(result)
        why = self.kept.get(anno.getanno(read.node, Key.SITE))
        if why is not None:
            self.use(read.source, source, Use.RETAIN, env)
            self.keep_read(read.node, why)
            return demoted(result)
        if read.how == "int" and any(isinstance(o, (TensorV, ArrayV)) and o.dtype is not None and
                                     _floating(o.dtype) for o in source.options()):
            self.use(read.source, source, Use.RETAIN, env)
            self.keep_read(read.node, "int() of a float raises for NaN and infinities: it runs in its iteration")
            return demoted(result)
        if not (is_tensor(source) or (contains_lifted(source) and
                                      all(isinstance(o, ArrayV) and o.scalar for o in source.options()))):
            self.use(read.source, source, Use.RETAIN, env)  # a NumPy value: nothing to defer
            return demoted(result)
        anno.setanno(read.node, Key.DEFER, read)
        return replace(result, lifted=True)

    def splice(self, read: conversions.HostRead, source: AV) -> AV | None:
        """``xs.extend(t.tolist())`` / ``xs += t.tolist()`` (a splice site), ``t`` one 1-d tensor
        or lifted 1-d array: one deferred read per element (``runtime/deferred.defer``), so the
        list has the original's length without a read.  The value, a list of deferred numbers,
        is only taken by a local list's ``extend`` or ``+=``; any other consumer makes the read
        where it stands (``use``).  None where this does not apply."""
        if not (self.lifting and self.loops) or read.node not in self.splices or \
                anno.getanno(read.node, Key.SITE) in self.kept:
            return None
        item = _element(source)
        if item is None:
            return None
        anno.setanno(read.node, Key.DEFER, read)
        return ListV(PyScalarV(item, lifted=True))

    def into_list(self, at: ast.expr, elem: AV, item: AV, env: Env) -> None:
        """``item`` joins the elements of the local list at ``at`` (a name, or an item of a local
        dict: ``rules.holder``): lifted and real tensors in one list conflict (the list, or the
        dict holding it, then stays plain)."""
        joined = join(elem, item)
        hold(env, at, ListV(joined, local=True))
        if conflicted(joined):
            self.conflicts.add(holder(at, env))

    def later(self, op: str | None, left: AV, right: AV) -> AV | None:
        """``left op right`` on Python numbers of which one may be a deferred read: kept to
        compute on the host where the value leaves (``runtime/deferred.later`` computes at once
        where neither is deferred at run time: ``x = 0`` before ``x += loss.item()``, or the items of
        one dict); None if not that."""
        if op not in LATER_OPS or not self.lifting or not self.loops:
            return None
        if not (contains_lifted(left) or contains_lifted(right)) or not (is_python_number(left) and is_python_number(right)):
            return None
        return join_all(PyScalarV(fold_type(a, b), lifted=True) for a in left.options() for b in right.options())

    def off_reason(self) -> str:
        """Why lifting is off in the innermost enclosing loop."""
        for loop in reversed(self.loop_nodes):
            if loop in self.loops_off:
                return self.loops_off[loop]
        if self.loop_nodes and isinstance(self.loop_nodes[-1], (ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            return "a dict or set comprehension or a generator builds NumPy values (loops and list comprehensions " \
                   "are lifted)"
        return "lifting is off here (cost model or marker)"

    def keep_read(self, node: ast.AST, why: str) -> None:
        read = conversions.host_read(node, self.resolve)
        what = read.describe() if read is not None else "host read"
        self.plan.kept_reads[node] = Decision(getattr(node, "lineno", 0), f"{what} read on the host here", why)

    def skip(self, node: ast.AST, what: str, reason: str) -> None:
        self.plan.skipped[node] = Decision(getattr(node, "lineno", 0), what, reason)


def _element(source: AV) -> type | None:
    """The Python number each element of ``source.tolist()`` is, where ``source`` is one 1-d
    tensor or one lifted 1-d array (of a 0-d one ``.tolist()`` is a number, which ``extend``
    refuses; of an n-d one, nested lists: neither is spliced)."""
    options = list(source.options())
    if len(options) != 1:
        return None
    value = options[0]
    if isinstance(value, TensorV) and value.ndim == 1 and value.dtype is not None:
        dtype = TORCH_TO_NP.get(value.dtype)
    elif isinstance(value, ArrayV) and value.lifted and not value.scalar and value.ndim == 1:
        dtype = value.dtype
    else:
        return None
    return _PY_NUMBERS.get(dtype.kind) if dtype is not None else None


def _not_spliced(site: bool) -> str:
    """Why a ``.tolist()`` is read where it stands."""
    if not site:
        return "only a .tolist() spliced into a list the function made (`xs.extend(t.tolist())`) is deferred"
    return ("its operand is not one 1-d tensor of a known dtype here (of a 0-d tensor .tolist() is a number, "
            "of an n-d one nested lists): only a 1-d tensor's elements are deferred")


def _floating(dtype: object) -> bool:
    return bool(getattr(dtype, "is_floating_point", False)) or getattr(dtype, "kind", "") in "fc"


def not_one_tensor(value: AV) -> str:
    """Why a conversion's operand cannot be kept as a tensor: what else it may be."""
    others = sorted({describe(o) for o in value.options() if not isinstance(o, TensorV)})
    if others:
        return f"its operand is not always a tensor here (it may be {' or '.join(others)})"
    return "its operand's dtype or rank is not the same at every iteration"
