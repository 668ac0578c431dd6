"""What a call does to its receiver and its arguments, as far as a static scan can tell.

Two questions depend on it: may a loop *modify* a value (then a conversion of that value is
not invariant, see `effects`), and may a call *keep* a converted value beyond the iteration
(then each iteration needs its own result and hoisting the conversion would share one object
between iterations, see `visitor`).  Both err on the safe side: a call not known to leave its
arguments alone is assumed to modify and keep them.
"""
from __future__ import annotations

#: Methods that modify their receiver although their name does not end in ``_``.
CONTAINER_MUTATORS = frozenset({
    "append", "appendleft", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
    "update", "setdefault", "popitem", "add", "discard", "fill", "resize", "put", "itemset",
    "partition",
})
#: Methods that store their arguments in the receiver.
_CONTAINER_ADDERS = frozenset({"append", "appendleft", "extend", "insert", "update", "setdefault", "add", "put"})
#: NumPy functions that modify their arguments.
NUMPY_MUTATORS = frozenset({
    "numpy.copyto", "numpy.put", "numpy.place", "numpy.putmask", "numpy.fill_diagonal",
    "numpy.put_along_axis", "numpy.random.shuffle",
})
#: Callables known neither to modify nor to keep their arguments, besides torch/NumPy/math.
_PURE_BUILTINS = frozenset({
    "print", "len", "isinstance", "issubclass", "range", "enumerate", "zip", "reversed", "sorted",
    "iter", "next", "list", "tuple", "set", "frozenset", "dict", "str", "repr", "format", "float",
    "int", "bool", "complex", "min", "max", "sum", "abs", "round", "any", "all", "map", "filter",
    "type", "id", "hash", "getattr", "hasattr", "divmod", "pow",
})
_PURE_MODULES = ("torch.", "numpy.", "math.")
#: Methods that read their arguments only (formatting, logging, lookups).
_READING_METHODS = frozenset({
    "format", "join", "write", "debug", "info", "warning", "error", "exception", "log", "get",
    "index", "count", "startswith", "endswith",
})
#: Methods whose result is (or may be) the receiver itself or a view of its memory.
SAME_OBJECT_METHODS = frozenset({
    "detach", "cpu", "cuda", "to", "contiguous", "float", "double", "half", "bfloat16", "long",
    "int", "bool", "type_as", "view", "view_as", "reshape", "t", "transpose", "permute", "squeeze",
    "unsqueeze", "flatten", "expand", "expand_as", "narrow", "select", "unfold", "as_strided",
    "numpy", "ravel", "swapaxes", "parameters", "named_parameters", "buffers", "named_buffers",
    "values", "items", "children", "modules",
})
#: torch/NumPy functions whose result may share the first argument's memory.
SAME_OBJECT_FUNCTIONS = frozenset({
    "asarray", "asanyarray", "ascontiguousarray", "as_tensor", "from_numpy", "reshape", "ravel",
    "squeeze", "unsqueeze", "transpose", "permute", "swapaxes", "moveaxis", "expand_dims",
    "broadcast_to", "atleast_1d", "atleast_2d", "atleast_3d", "flatten", "narrow", "select",
    "view_as_real", "view_as_complex", "detach",
})


def is_inplace_method(name: str) -> bool:
    """torch's convention: ``add_`` (and ``_foreach_add_``) modify their receiver or first
    argument; dunders such as ``__iadd__`` do not count."""
    return name.endswith("_") and not name.endswith("__")


def modifies_receiver(method: str) -> bool:
    """``x.add_(...)``, ``xs.append(...)``: the call changes ``x``/``xs``."""
    return is_inplace_method(method) or method in CONTAINER_MUTATORS


def is_pure_function(qualified: str) -> bool:
    """torch/NumPy/math functions and common builtins neither modify nor keep their arguments
    (in-place ones, ``out=`` and ``NUMPY_MUTATORS`` are handled separately)."""
    return qualified.startswith(_PURE_MODULES) or qualified in _PURE_BUILTINS


def may_modify_arguments(qualified: str, method: str | None) -> bool:
    """Whether a call may modify the objects passed to it.  ``method`` is set for ``obj.m(...)``."""
    if is_pure_function(qualified):
        return False
    return method is None or not (modifies_receiver(method) or method in _READING_METHODS)


def may_keep_arguments(qualified: str, method: str | None, array_receiver: bool) -> bool:
    """Whether a call may keep the objects passed to it beyond the call (store them).

    ``xs.append(v)`` keeps ``v``; ``t.add_(v)`` and ``np.mean(v)`` do not; an unknown function
    may.  ``array_receiver``: the receiver is known to be a tensor or an ndarray.
    """
    if method in _CONTAINER_ADDERS:
        return True
    if is_pure_function(qualified):
        return False
    return method is None or not (array_receiver or is_inplace_method(method) or method in _READING_METHODS)
