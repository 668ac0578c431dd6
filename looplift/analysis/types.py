"""The types pass: the abstract value the *original* program holds at every expression.

No lift policy lives here: the pass says what the program computes (a float32 tensor of rank 2
on the CPU, a NumPy scalar, a list the function created and never shared, an opaque object),
and annotates every expression with it (``anno.Key.TYPE``, or ``STATIC_TYPE`` for the run without
observed facts).  Its facts come from three sources, all answered by ``known``:

* the parameters' abstract values (from the call's arguments, ``signature.py``);
* the program itself: literals, the function's globals (``np`` is NumPy), NumPy's own result
  rules (``registry.probe``) and torch's (``typing_torch``, on meta tensors);
* values observed at run time at a site (``observed``: a call's result, an item of a container,
  an attribute, a loop target), for what the code alone cannot say (``model(x)``).

Observed facts are assumptions: the rewritten code guards every value it relies on where the
value is used, so effects analyses (hoisting) read only ``STATIC_TYPE``.
"""
from __future__ import annotations

import ast
import builtins
import operator
import types
from typing import Any, Mapping

import numpy as np

from .. import anno, pragmas, registry, semantics
from ..anno import Key
from ..dtypes import LIFTABLE_NP_DTYPES, NP_TO_TORCH, TORCH_TO_NP
from ..errors import Refusal
from ..lattice import (AV, TOP, UNBOUND, ArrayV, ConstV, DictV, ListV, ObjV, PlainV, PyScalarV, RangeV,
                       TensorV, TopV, TupleV, holds_local_container, join)
from . import conversions, typing_torch
from .rules import (BINOPS, COMPARES, FRESH, READ_BUILTIN_RESULTS, UNARYOPS, dict_value, element_of, hashable,
                    hold, holder, is_immutable_scalar, is_int, is_local_dict, is_local_list, iterator_result,
                    list_elem, module_attribute, non_local, numpy_result, python_binop, tensor_index,
                    tensor_operator, unpack)
from .walker import Env, Use, Walker, join_all

_MISSING = object()
#: Guard value for a builtin: the name must stay absent from the function's globals.
ABSENT = object()

class TypesPass(Walker):
    """One run of the types pass (see the module docstring)."""

    def __init__(self, fn: ast.FunctionDef, globals_: Mapping[str, Any], *,
                 observed: Mapping[int, AV] | None = None, key: Key = Key.TYPE) -> None:
        super().__init__(fn)
        self.globals = globals_
        self.observed = observed or {}
        self.key = key
        self.resolve = conversions.make_resolver(self.scope.locals, globals_)
        self.global_guards: dict[str, Any] = {}
        """Global names whose current objects the facts rely on (checked on every call)."""

    # ------------------------------------------------------------- facts
    def known(self, node: ast.AST, value: AV) -> AV:
        """What is known about the value at ``node``: what was observed there, where the program
        says nothing or only what torch's probes guess (a rank can depend on sizes the probes do
        not have: ``squeeze``) or that it may be a tensor among other things (``t.grad``: a
        tensor or None); else ``value`` as the program says.  An observed fact is as safe as
        for an unknown value: every use relying on it is guarded (the module docstring)."""
        if self.observed and any(isinstance(o, (TopV, TensorV)) for o in value.options()):
            seen = self.observed.get(anno.getanno(node, Key.SITE))
            if seen is not None:
                return seen
        return value

    def record(self, node: ast.AST, value: AV) -> AV:
        anno.setanno(node, self.key, value)
        return value

    # ----------------------------------------------------------- the walker's hooks
    def expr(self, node: ast.expr, env: Env, use: Use) -> AV:
        method = getattr(self, f"_expr_{type(node).__name__}", None)
        if method is None:
            raise Refusal(f"unsupported expression {type(node).__name__}", getattr(node, "lineno", None))
        value = self.record(node, method(node, env))
        if use in (Use.RETAIN, Use.EXIT):
            self.escape(node, value, env)
        return value

    def escape(self, node: ast.expr, value: AV, env: Env) -> None:
        """A list or dict the function made (or an item of such a dict) is kept or aliased by code
        the analysis does not follow: from now on it may change behind the analysis' back."""
        name = holder(node, env)
        if name in self.scope.locals and holds_local_container(value):
            env[name] = non_local(env.get(name, value))

    def contained(self, node: ast.expr | None, value: AV, env: Env) -> AV:
        """A value stored into a dict: a new list or dict stays local (only the dict reaches it),
        anything else is shared from now on."""
        if isinstance(node, FRESH):
            return value
        if node is not None:
            self.escape(node, value, env)
        return non_local(value)

    def assign(self, target: ast.expr, value_node: ast.expr | None, value: AV, env: Env) -> None:
        if isinstance(target, ast.Name):
            value = self.known(target, value)
            if value_node is not None and holds_local_container(value) and not isinstance(value_node, FRESH):
                self.escape(value_node, value, env)  # a second name for the list: both may change it
                value = non_local(value)
            if target.id in self.scope.unliftable or target.id not in self.scope.locals:
                value = non_local(value)
            self.record(target, value)
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = unpack(value, len(target.elts))
            if items is None or any(isinstance(e, ast.Starred) for e in target.elts):
                items = [TOP] * len(target.elts)
            for element, item in zip(target.elts, items):
                if isinstance(element, ast.Starred):
                    self.store_target(element.value, env)
                else:
                    self.assign(element, None, item, env)
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value, env, Use.OPERAND)
            self.expr(target.slice, env, Use.READ)
            if is_local_list(base) and isinstance(target.value, ast.Name):
                env[target.value.id] = ListV(join(list_elem(base), value), local=True)
            elif holder(target, env) is not None:
                hold(env, target, self.contained(value_node, value, env))
            elif value_node is not None:
                self.escape(value_node, value, env)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, env, Use.RETAIN)
            if value_node is not None:
                self.escape(value_node, value, env)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value_node, TOP, env)

    def augassign(self, node: ast.AugAssign, env: Env) -> None:
        target = node.target
        op = BINOPS.get(type(node.op))
        if isinstance(target, ast.Name):
            current = self.record(target, self.lookup(target, env))
            value = self.expr(node.value, env, Use.OPERAND)
            if all(is_immutable_scalar(o) for o in current.options()):
                env[target.id] = self.record(node, self.binop_result(op, current, value))  # x op= y rebinds x
            elif all(isinstance(o, ArrayV) and not is_immutable_scalar(o) for o in current.options()):
                env[target.id] = current  # in place: the array keeps its type
            elif all(isinstance(o, TensorV) for o in current.options()):
                env[target.id] = current
            else:
                env[target.id] = TOP  # a NumPy scalar among the alternatives rebinds (to a tensor, say)
            return
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            base = self.expr(target.value, env, Use.OPERAND)
            if is_local_dict(base) and not isinstance(target.slice, ast.Slice):  # an item of a dict the function made
                self.expr(target.slice, env, Use.READ)
                current = self.record(target, dict_value(base))
                scalar = all(is_immutable_scalar(o) for o in current.options())
                value = self.expr(node.value, env, Use.OPERAND if scalar else Use.RETAIN)
                hold(env, target, self.binop_result(op, current, value) if scalar else TOP)
                return
        self.expr(node.value, env, Use.RETAIN)
        self.store_target(target, env)

    def element_of(self, iter_node: ast.expr, value: AV, env: Env) -> AV:
        return element_of(value)

    def store_target(self, target: ast.expr, env: Env) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = self.record(target, self.known(target, TOP))
        else:
            super().store_target(target, env)

    # ------------------------------------------------------------- names
    def lookup(self, node: ast.Name, env: Env) -> AV:
        if node.id in self.scope.locals or node.id in env:  # a comprehension's own names are in env too
            return env.get(node.id, UNBOUND)
        return self.global_value(node.id)

    def global_value(self, name: str) -> AV:
        obj = self.globals.get(name, _MISSING)
        if obj is _MISSING:
            obj = getattr(builtins, name, _MISSING)
            if obj is _MISSING:
                return TOP
            self.global_guards[name] = ABSENT
        elif isinstance(obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type,
                              np.ufunc)) or callable(obj):
            self.global_guards[name] = obj
        else:
            return TOP  # a global variable: its value may change between calls
        return ObjV(obj)

    # ------------------------------------------------------------- expressions
    def _expr_Constant(self, node: ast.Constant, env: Env) -> AV:
        value = node.value
        if isinstance(value, (bool, int, float, complex, str, bytes)) or value is None or value is Ellipsis:
            return ConstV(value)
        return TOP

    def _expr_Name(self, node: ast.Name, env: Env) -> AV:
        return self.lookup(node, env)

    def _expr_Attribute(self, node: ast.Attribute, env: Env) -> AV:
        base = self.expr(node.value, env, Use.OPERAND)
        if isinstance(base, ObjV) and isinstance(base.obj, types.ModuleType):
            return module_attribute(base.obj, node.attr)
        if isinstance(base, TensorV):
            return self.known(node, typing_torch.attribute_result(base, node.attr))
        if isinstance(base, TupleV) and base.fields and node.attr in base.fields and base.items is not None:
            return base.items[base.fields.index(node.attr)]
        if all(isinstance(o, ArrayV) for o in base.options()):
            entry = registry.for_attribute(node.attr)
            if entry is not None:
                return numpy_result(entry, [base], {})
        return self.known(node, TOP)

    def _expr_Call(self, node: ast.Call, env: Env) -> AV:
        conversion = conversions.match(node, self.resolve)
        if conversion is not None:
            return self.conversion(conversion, env)
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.expr(func.value, env, Use.OPERAND)
            if isinstance(receiver, ObjV) and getattr(receiver.obj, func.attr, None) is pragmas.loop:
                receiver = ObjV(pragmas)  # ``looplift.loop`` where ``looplift`` is the decorator
            if not (isinstance(receiver, ObjV) and isinstance(receiver.obj, types.ModuleType)):
                self.record(func, TOP)
                return self.known(node, self.method_call(node, func, receiver, env))
            callee = self.record(func, module_attribute(receiver.obj, func.attr))
        else:
            callee = self.expr(func, env, Use.RETAIN)
        return self.known(node, self.function_call(node, callee, env))

    def arguments(self, node: ast.Call, env: Env, use: Use) -> tuple[list[AV], dict[str, AV]] | None:
        """The arguments' values (None with ``*args``/``**kwargs``: those are only kept)."""
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            for a in node.args:
                self.expr(a.value if isinstance(a, ast.Starred) else a, env, Use.RETAIN)
            for k in node.keywords:
                self.expr(k.value, env, Use.RETAIN)
            return None
        return ([self.expr(a, env, use) for a in node.args],
                {k.arg: self.expr(k.value, env, use) for k in node.keywords if k.arg is not None})

    def function_call(self, node: ast.Call, callee: AV, env: Env) -> AV:
        obj = callee.obj if isinstance(callee, ObjV) else _MISSING
        entry = registry.for_object(obj) if obj is not _MISSING else None
        qualified = semantics.qualified_name(obj) if obj is not _MISSING else None
        read_only = entry is not None or (qualified is not None and semantics.is_read_only_function(qualified))
        values = self.arguments(node, env, Use.OPERAND if read_only else Use.RETAIN)
        if values is None:
            return TOP
        args, kwargs = values
        if entry is not None:
            return numpy_result(entry, args, kwargs)
        if obj in (enumerate, zip):
            return iterator_result(obj, args, kwargs)
        if obj is reversed and len(args) == 1 and not kwargs:
            return RangeV(element_of(args[0]))
        if obj is range:
            return RangeV(PyScalarV(int))
        if obj is pragmas.loop and len(args) == 1 and not kwargs:
            return args[0]  # the loop marker returns its argument
        if obj is list and len(args) == 1 and not kwargs:
            return ListV(element_of(args[0]), local=True)
        if obj is not _MISSING and hashable(obj) and obj in READ_BUILTIN_RESULTS:
            return READ_BUILTIN_RESULTS[obj]
        if qualified is not None and qualified.startswith("torch."):
            return typing_torch.function_result(obj, qualified, args, kwargs)
        return TOP

    def method_call(self, node: ast.Call, func: ast.Attribute, receiver: AV, env: Env) -> AV:
        name = func.attr
        arrays = all(isinstance(o, ArrayV) for o in receiver.options())
        tensors = all(isinstance(o, TensorV) for o in receiver.options())
        local_list = is_local_list(receiver)
        reads = arrays or tensors or (local_list and name not in semantics.CONTAINER_STORING_METHODS)
        values = self.arguments(node, env, Use.OPERAND if reads else Use.RETAIN)
        if values is None:
            return TOP
        args, kwargs = values
        if local_list:
            return self.list_method(func, receiver, name, args, kwargs, env)
        if is_local_dict(receiver):
            self.escape(func.value, receiver, env)  # dict methods are not followed
            return TOP
        if tensors and isinstance(receiver, TensorV):
            return typing_torch.method_result(receiver, name, args, kwargs)
        if arrays:
            entry = registry.for_method(name)
            if entry is not None:
                return numpy_result(entry, [receiver, *args], kwargs)
            return TOP
        self.escape(func.value, receiver, env)
        return TOP

    def list_method(self, func: ast.Attribute, receiver: AV, name: str, args: list[AV],
                    kwargs: dict[str, AV], env: Env) -> AV:
        """Methods of a list the function created (and did not share)."""
        elem = list_elem(receiver)
        if holder(func.value, env) is None:
            self.escape(func.value, receiver, env)
            return TOP
        if (name, len(args)) in (("append", 1), ("insert", 2)) and not kwargs:
            hold(env, func.value, ListV(join(elem, non_local(args[-1])), local=True))
            return ConstV(None)
        if name == "extend" and len(args) == 1 and not kwargs:
            hold(env, func.value, ListV(join(elem, element_of(args[0])), local=True))
            return ConstV(None)
        if name == "pop":
            return elem
        if name in ("index", "count"):
            return PyScalarV(int)
        if name == "copy":
            return ListV(elem, local=True)
        return TOP

    def conversion(self, conv: conversions.Conversion, env: Env) -> AV:
        """A conversion between torch and NumPy: what the original gets."""
        source = self.expr(conv.source, env, Use.OPERAND)
        link = conv.node.func.value if isinstance(conv.node.func, ast.Attribute) else conv.node.args[0]
        while link is not conv.source and isinstance(link, ast.Call):  # the .detach().cpu() links
            self.record(link, source)
            link = link.func.value  # type: ignore[attr-defined]
        if conv.direction == "to_numpy":
            options = list(source.options())
            if all(isinstance(o, TensorV) for o in options) and len(options) == 1:
                tensor = options[0]
                dtype = TORCH_TO_NP.get(tensor.dtype) if tensor.dtype is not None else None
                return ArrayV(dtype, tensor.ndim) if dtype is not None else TOP
            if conv.how != "numpy" and all(isinstance(o, ArrayV) for o in options):
                entry = registry.for_object(self.resolve(conv.node.func))
                return numpy_result(entry, [source], {}) if entry is not None else TOP
            return TOP
        if len(list(source.options())) == 1 and isinstance(source, ArrayV) and source.dtype in LIFTABLE_NP_DTYPES:
            return TensorV(NP_TO_TORCH[source.dtype], source.ndim, "cpu", False)
        return TOP

    def _expr_BinOp(self, node: ast.BinOp, env: Env) -> AV:
        left = self.expr(node.left, env, Use.OPERAND)
        right = self.expr(node.right, env, Use.OPERAND)
        return self.binop_result(BINOPS.get(type(node.op)), left, right)

    def binop_result(self, op: str | None, left: AV, right: AV) -> AV:
        if op is None:
            return TOP
        if any(isinstance(o, TensorV) for v in (left, right) for o in v.options()):
            return tensor_operator(op, left, right)
        if any(isinstance(o, ArrayV) for v in (left, right) for o in v.options()):
            entry = registry.for_operator(op)
            return numpy_result(entry, [left, right], {}) if entry is not None else TOP
        return python_binop(left, right, op)

    def _expr_UnaryOp(self, node: ast.UnaryOp, env: Env) -> AV:
        if isinstance(node.op, ast.Not):
            self.expr(node.operand, env, Use.READ)
            return PyScalarV(bool)
        operand = self.expr(node.operand, env, Use.OPERAND)
        op = UNARYOPS[type(node.op)]
        if any(isinstance(o, ArrayV) for o in operand.options()):
            entry = registry.for_operator(op)
            return numpy_result(entry, [operand], {}) if entry is not None else TOP
        if isinstance(operand, TensorV):
            return typing_torch.probe_call(getattr(operator, op), [operand], {})
        if isinstance(operand, ConstV) and isinstance(operand.value, (int, float, complex)) and \
                not isinstance(operand.value, bool) and op != "invert":
            return ConstV(-operand.value if op == "neg" else operand.value)
        return operand if isinstance(operand, PyScalarV) and operand.type is not bool else TOP

    def _expr_Compare(self, node: ast.Compare, env: Env) -> AV:
        if len(node.ops) == 1 and type(node.ops[0]) in COMPARES:
            left = self.expr(node.left, env, Use.OPERAND)
            right = self.expr(node.comparators[0], env, Use.OPERAND)
            if any(isinstance(o, (ArrayV, TensorV)) for v in (left, right) for o in v.options()):
                return self.binop_result(COMPARES[type(node.ops[0])], left, right)
            return PyScalarV(bool) if all(isinstance(o, (PyScalarV, ConstV)) for v in (left, right)
                                          for o in v.options()) else TOP
        identity = all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops)
        for part in (node.left, *node.comparators):
            self.expr(part, env, Use.OPERAND if identity else Use.READ)
        return PyScalarV(bool) if identity else TOP

    def _expr_BoolOp(self, node: ast.BoolOp, env: Env) -> AV:
        return join_all(self.expr(value, env, Use.READ) for value in node.values)

    def _expr_IfExp(self, node: ast.IfExp, env: Env) -> AV:
        if anno.hasanno(node, Key.HOISTED):  # ``h if h is not None else (h := conversion)``
            self.expr(node.test, env, Use.OPERAND)
            self.expr(node.body, env, Use.OPERAND)
            return self.expr(node.orelse, env, Use.OPERAND)
        self.expr(node.test, env, Use.READ)
        narrowing = self.narrowing(node.test, env)
        return join(self.branch(node.body, env, narrowing, True), self.branch(node.orelse, env, narrowing, False))

    def _expr_NamedExpr(self, node: ast.NamedExpr, env: Env) -> AV:
        value = self.expr(node.value, env, Use.OPERAND)
        self.assign(node.target, node.value, value, env)
        return env.get(node.target.id, value) if node.target.id in self.scope.locals else value

    def _expr_Subscript(self, node: ast.Subscript, env: Env) -> AV:
        base = self.expr(node.value, env, Use.OPERAND)
        index = self.expr(node.slice, env, Use.OPERAND)
        if is_local_list(base):
            return list_elem(base) if not isinstance(node.slice, ast.Slice) else base
        if is_local_dict(base) and not isinstance(node.slice, ast.Slice):
            return dict_value(base)
        if isinstance(base, TupleV) and base.items is not None and isinstance(index, ConstV) \
                and isinstance(index.value, int) and -len(base.items) <= index.value < len(base.items):
            return base.items[index.value]
        if all(isinstance(o, ArrayV) for o in base.options()):
            entry = registry.for_operator("getitem")
            return numpy_result(entry, [base, index], {}) if entry is not None else TOP
        if isinstance(base, TensorV):
            return self.known(node, tensor_index(base, index))
        if isinstance(base, (ListV, TupleV)) and not isinstance(node.slice, ast.Slice) and is_int(index):
            return self.known(node, element_of(base))
        return self.known(node, TOP)

    def _expr_Slice(self, node: ast.Slice, env: Env) -> AV:
        parts = []
        for part in (node.lower, node.upper, node.step):
            if part is None:
                parts.append(None)
                continue
            value = self.expr(part, env, Use.READ)
            parts.append(value.value if isinstance(value, ConstV) and isinstance(value.value, int) else _MISSING)
        if any(p is _MISSING for p in parts):
            return PlainV(slice)
        return ConstV(slice(*parts))

    def _expr_Tuple(self, node: ast.Tuple, env: Env) -> AV:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.expr(e, env, Use.RETAIN)
            return TupleV(None, TOP)
        items = [self.expr(e, env, Use.OPERAND) for e in node.elts]
        for element, item in zip(node.elts, items):
            self.escape(element, item, env)
        items = [non_local(i) for i in items]
        if all(isinstance(i, ConstV) for i in items):
            return ConstV(tuple(i.value for i in items))  # type: ignore[attr-defined]
        return TupleV(tuple(items))

    def _expr_List(self, node: ast.List, env: Env) -> AV:
        items = [self.expr(e, env, Use.RETAIN if isinstance(e, ast.Starred) else Use.OPERAND) for e in node.elts]
        for element, item in zip(node.elts, items):
            self.escape(element, item, env)
        return ListV(join_all(non_local(i) for i in items), local=True)

    def _expr_Set(self, node: ast.Set, env: Env) -> AV:
        for e in node.elts:
            self.expr(e, env, Use.RETAIN)
        return TOP

    def _expr_Dict(self, node: ast.Dict, env: Env) -> AV:
        if any(key is None for key in node.keys):  # ``{**other}``: not followed
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    self.expr(key, env, Use.RETAIN)
                self.expr(value, env, Use.RETAIN)
            return TOP
        values = []
        for key, value in zip(node.keys, node.values):
            self.expr(key, env, Use.RETAIN)
            values.append(self.contained(value, self.expr(value, env, Use.OPERAND), env))
        return DictV(join_all(values), local=True)

    def _expr_Starred(self, node: ast.Starred, env: Env) -> AV:
        self.expr(node.value, env, Use.RETAIN)
        return TOP

    def _expr_JoinedStr(self, node: ast.JoinedStr, env: Env) -> AV:
        for value in node.values:
            self.expr(value, env, Use.READ)
        return PlainV(str)

    def _expr_FormattedValue(self, node: ast.FormattedValue, env: Env) -> AV:
        self.expr(node.value, env, Use.READ)
        if node.format_spec is not None:
            self.expr(node.format_spec, env, Use.READ)
        return TOP

    def _expr_Lambda(self, node: ast.Lambda, env: Env) -> AV:
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
            self.expr(default, env, Use.RETAIN)
        return TOP

    def comprehension(self, node: ast.expr, env: Env) -> AV:
        """A comprehension runs at once, in its own scope: its body is typed in an inner
        environment (the names it binds do not leak, walrus targets aside).  The value of its
        last part (a dict comprehension's value)."""
        inner = dict(env)
        for generator in node.generators:  # type: ignore[attr-defined]
            iterable = self.expr(generator.iter, inner, Use.OPERAND)
            element = self.known(generator.target, element_of(iterable))
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    value = element if target is generator.target else self.known(target, TOP)
                    inner[target.id] = self.record(target, value)
            for condition in generator.ifs:
                self.expr(condition, inner, Use.READ)
        value: AV = TOP
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                value = self.expr(getattr(node, part), inner, Use.RETAIN)
        for name in self.scope.locals:  # walrus targets bind in the function's scope
            if name in inner and inner[name] != env.get(name):
                env[name] = join(env.get(name, UNBOUND), inner[name])
        return value

    def _expr_ListComp(self, node: ast.ListComp, env: Env) -> AV:
        self.comprehension(node, env)
        return ListV(TOP, local=True)

    def _expr_GeneratorExp(self, node: ast.expr, env: Env) -> AV:
        self.comprehension(node, env)
        return TOP

    _expr_SetComp = _expr_GeneratorExp

    def _expr_DictComp(self, node: ast.DictComp, env: Env) -> AV:
        value = self.comprehension(node, env)
        return DictV(value if isinstance(node.value, FRESH) else non_local(value), local=True)

    def _expr_Await(self, node: ast.AST, env: Env) -> AV:
        raise Refusal("await/yield are not rewritten", getattr(node, "lineno", None))

    _expr_Yield = _expr_Await
    _expr_YieldFrom = _expr_Await
