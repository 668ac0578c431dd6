"""What looplift knows about torch, NumPy and Python calls, written down once.

The analysis (types, effects, hoisting, host reads) and the static ``scan`` ask the same
questions of a call: is it a conversion between torch and NumPy, and of what?  Does it read
tensor data on the host?  May it modify or keep its arguments?  Is its result fresh or a view of
its operand?  The answers live here, as data keyed by *qualified names* (``"numpy.copyto"``,
``"torch.from_numpy"``, ``"builtins.len"``) and method names, so the scan can use them without
importing torch and the analysis by resolving a callee to its qualified name (``qualified_name``).

A method name alone cannot say whose method it is; each table says which receivers it is about.
"""
from __future__ import annotations

import types
from typing import Any

# ---------------------------------------------------------------------------------------------
# Conversions between torch and NumPy

#: Tensor methods a ``.numpy()`` conversion may go through without changing the data it
#: converts: ``t.detach().cpu().numpy()`` converts ``t``.  The analysis lifts such chains.
DATA_PRESERVING_STEPS = frozenset({"detach", "cpu", "contiguous", "clone", "resolve_conj", "resolve_neg"})
#: Of those, the steps that return the tensor itself, or an alias of its memory, for a CPU tensor
#: without grad: there ``t.numpy()`` alone gives the same array.
ALIASING_STEPS = frozenset({"detach", "cpu"})
#: Steps that change a conversion's result without changing *what* it converts (a device move
#: or a dtype cast): the scan reports ``x.float().cpu().numpy()`` as one conversion of ``x``.
CONVERSION_STEPS = DATA_PRESERVING_STEPS | frozenset({
    "cuda", "to", "float", "double", "half", "bfloat16", "long", "int", "short", "bool", "byte", "char",
})
#: Steps that copy the data even on the CPU.
COPYING_STEPS = frozenset({"clone"})

#: NumPy functions that turn a tensor into an array; the value: copies even on the CPU.
TO_NUMPY_FUNCTIONS: dict[str, bool] = {
    "numpy.asarray": False, "numpy.asanyarray": False, "numpy.ascontiguousarray": False, "numpy.array": True,
}
#: torch functions that turn an array into a tensor; the value: copies even on the CPU.
TO_TENSOR_FUNCTIONS: dict[str, bool] = {
    "torch.from_numpy": False, "torch.as_tensor": False, "torch.asarray": False, "torch.tensor": True,
}

#: Tensor methods that read tensor data on the host (a device sync on an accelerator), with the
#: kind of Python value they return.
HOST_READ_METHODS: dict[str, str] = {"item": "scalar", "tolist": "list", "numpy": "array"}
#: Builtins that read a tensor's single value on the host (``float(loss)``).
HOST_READ_BUILTINS = frozenset({"builtins.float", "builtins.int", "builtins.bool", "builtins.complex"})

# ---------------------------------------------------------------------------------------------
# Effects of calls

#: NumPy functions that write into an argument.
NUMPY_MUTATORS = frozenset({
    "numpy.copyto", "numpy.put", "numpy.place", "numpy.putmask", "numpy.fill_diagonal",
    "numpy.put_along_axis", "numpy.random.shuffle",
})
#: ndarray methods that write into the array (tensor methods that do end in ``_``).
ARRAY_MUTATING_METHODS = frozenset({
    "fill", "sort", "put", "itemset", "resize", "setfield", "setflags", "partition", "byteswap",
})
#: Container methods that modify their receiver.
CONTAINER_MUTATING_METHODS = frozenset({
    "append", "appendleft", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
    "update", "setdefault", "popitem", "add", "discard",
})
#: Container methods that store their arguments in the receiver.
CONTAINER_STORING_METHODS = frozenset({"append", "appendleft", "extend", "insert", "update", "setdefault", "add"})
#: Methods of any receiver that only read their arguments (formatting, logging, lookups).
READING_METHODS = frozenset({
    "format", "join", "write", "debug", "info", "warning", "error", "exception", "log", "get",
    "index", "count", "startswith", "endswith", "copy", "keys", "values", "items",
})


def is_inplace_method(name: str) -> bool:
    """torch's convention: ``add_`` (and ``_foreach_add_``) modify their receiver or first
    argument; dunders such as ``__iadd__`` do not count."""
    return name.endswith("_") and not name.endswith("__")


def modifies_receiver(method: str) -> bool:
    """``x.add_(...)``, ``a.sort()``, ``xs.append(...)``: the call changes its receiver."""
    return is_inplace_method(method) or method in CONTAINER_MUTATING_METHODS or method in ARRAY_MUTATING_METHODS


#: Builtins that neither modify nor keep their arguments (and call no user code that matters:
#: ``len``/``repr`` of a tensor or array run no user code).
READ_ONLY_BUILTINS = frozenset(f"builtins.{name}" for name in (
    "abs", "all", "any", "bool", "callable", "complex", "divmod", "enumerate", "float", "format",
    "frozenset", "getattr", "hasattr", "hash", "id", "int", "isinstance", "issubclass", "iter",
    "len", "list", "max", "min", "next", "pow", "print", "range", "repr", "reversed", "round",
    "set", "slice", "sorted", "str", "sum", "tuple", "type", "zip", "dict", "map", "filter",
))
#: Modules whose functions neither modify nor keep their arguments, except in-place functions
#: (``is_inplace_method`` names), ``out=`` arguments and ``NUMPY_MUTATORS``.
READ_ONLY_MODULES = ("torch.", "numpy.", "math.")
#: Of those, namespaces with stateful objects or functions that do modify their arguments.
STATEFUL_MODULES = ("torch.nn.", "torch.optim.", "torch.autograd.", "torch.utils.", "torch.distributed.")


def is_read_only_function(qualified: str) -> bool:
    """A function known neither to modify nor to keep its arguments (see ``READ_ONLY_MODULES``)."""
    if qualified in READ_ONLY_BUILTINS:
        return True
    if not qualified.startswith(READ_ONLY_MODULES) or qualified.startswith(STATEFUL_MODULES):
        return False
    name = qualified.rsplit(".", 1)[-1]
    return not is_inplace_method(name) and qualified not in NUMPY_MUTATORS


def may_modify_arguments(qualified: str, method: str | None) -> bool:
    """Whether a call may modify the objects passed to it (``method`` set for ``obj.m(...)``)."""
    if is_read_only_function(qualified):
        return False
    return method is None or not (modifies_receiver(method) or method in READING_METHODS)


def may_keep_arguments(qualified: str, method: str | None, array_receiver: bool) -> bool:
    """Whether a call may keep the objects passed to it beyond the call (store them).

    ``xs.append(v)`` keeps ``v``; ``t.add_(v)`` and ``np.mean(v)`` do not; an unknown function
    may.  ``array_receiver``: the receiver is known to be a tensor or an ndarray."""
    if method in CONTAINER_STORING_METHODS:
        return True
    if is_read_only_function(qualified):
        return False
    return method is None or not (array_receiver or is_inplace_method(method) or method in READING_METHODS)


#: torch functions that draw from the global random generator (an observable effect: code that
#: ran them cannot be run again from the start).
TORCH_RANDOM_FUNCTIONS = frozenset(f"torch.{name}" for name in (
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal",
    "bernoulli", "multinomial", "poisson", "manual_seed", "seed", "dropout",
))


def draws_random(qualified: str) -> bool:
    """The function draws from (or reseeds) a global random generator."""
    return qualified.startswith("numpy.random.") or qualified in TORCH_RANDOM_FUNCTIONS or \
        qualified.startswith(("random.", "torch.nn.functional.dropout"))


# ---------------------------------------------------------------------------------------------
# Fresh results and views

#: Methods of tensors and arrays whose result is (or may be) the receiver itself or a view of
#: its memory.  A write through the result reaches the receiver.
VIEW_METHODS = frozenset({
    "detach", "cpu", "cuda", "to", "contiguous", "float", "double", "half", "bfloat16", "long",
    "int", "bool", "type_as", "view", "view_as", "reshape", "t", "T", "mT", "transpose", "permute",
    "squeeze", "unsqueeze", "flatten", "expand", "expand_as", "narrow", "select", "unfold",
    "as_strided", "numpy", "ravel", "swapaxes", "diagonal", "real", "imag", "data", "astype",
})
#: Methods of non-array objects whose result shares state with the receiver.
SHARING_METHODS = frozenset({
    "parameters", "named_parameters", "buffers", "named_buffers", "values", "items", "children", "modules",
})
#: torch/NumPy functions whose result may share the first argument's memory.
VIEW_FUNCTIONS = frozenset(f"{module}.{name}" for module, names in (
    ("numpy", ("asarray", "asanyarray", "ascontiguousarray", "reshape", "ravel", "squeeze", "transpose",
               "swapaxes", "moveaxis", "rollaxis", "expand_dims", "broadcast_to", "atleast_1d", "atleast_2d",
               "atleast_3d", "diagonal", "flip", "fliplr", "flipud", "rot90", "real", "imag")),
    ("torch", ("as_tensor", "asarray", "from_numpy", "reshape", "squeeze", "unsqueeze", "transpose",
               "permute", "swapaxes", "moveaxis", "flatten", "narrow", "select", "view_as_real",
               "view_as_complex", "detach", "t", "diagonal", "expand_copy")),
) for name in names)
#: Attributes of tensors and arrays that only describe them (reading one reads no data).
METADATA_ATTRIBUTES = frozenset({
    "shape", "ndim", "dtype", "size", "device", "itemsize", "nbytes", "is_cuda", "requires_grad", "layout",
})


def result_may_alias(qualified: str | None, method: str | None) -> bool:
    """The result of a read-only call may share memory with its first operand or receiver."""
    if method is not None:
        return method in VIEW_METHODS or method in SHARING_METHODS
    return qualified in VIEW_FUNCTIONS


# ---------------------------------------------------------------------------------------------
# Names of objects


def qualified_name(obj: Any) -> str | None:
    """The qualified name the tables use for a callable (``np.copyto`` -> ``"numpy.copyto"``,
    ``len`` -> ``"builtins.len"``, ``torch.from_numpy`` -> ``"torch.from_numpy"``), or None.

    NumPy and torch define many functions in private submodules (``numpy._core.fromnumeric``);
    the tables name them by their public home, so the public module is taken when the object is
    reachable there under its own name."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    module = getattr(obj, "__module__", None) or ""
    if isinstance(obj, types.BuiltinFunctionType) and getattr(obj, "__self__", None) is not None \
            and not isinstance(obj.__self__, types.ModuleType):
        return None  # a bound method of some object
    root = module.split(".")[0]
    for public in _PUBLIC_HOMES.get(root, ()):
        if getattr(_module(public), name, None) is obj:
            return f"{public}.{name}"
    if type(obj).__name__ == "ufunc":  # NumPy ufuncs carry no __module__
        return f"numpy.{name}"
    return f"{module}.{name}" if module else None


#: Public namespaces checked, in order, for objects defined in a package's private modules.
_PUBLIC_HOMES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy", "numpy.linalg", "numpy.random", "numpy.fft"),
    "torch": ("torch", "torch.linalg", "torch.nn.functional", "torch.fft", "torch.special"),
    "builtins": ("builtins",),
    "": ("numpy",),
}


def _module(name: str) -> Any:
    import sys

    return sys.modules.get(name)
