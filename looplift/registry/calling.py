"""The runtime form of an entry: the tensor path when a lifted value is present, NumPy otherwise.

Rewritten code calls ``looplift.runtime.op.<ident>(...)``.  Arguments may be tensors (lifted
values), NumPy values (a guard kept a value in NumPy, or it never left NumPy) or Python objects.
The implementation is therefore total: the tensor path runs only when it can reproduce NumPy,
and every other case, including every exception, is answered by NumPy itself on the NumPy form
of the same arguments.  Registry operations are pure, so running NumPy after a failed tensor
path repeats nothing the user can observe.
"""
from __future__ import annotations

from typing import Any, Callable

from .coerce import has_tensor, to_numpy
from .entry import OpEntry


def runtime_callable(entry: OpEntry) -> Callable[..., Any]:
    from ..runtime import paths  # here: looplift.runtime imports this module
    reference = entry.reference
    tensor_path = entry.torch_impl

    def call(*args: Any, **kwargs: Any) -> Any:
        if has_tensor(args, kwargs):
            try:
                result = tensor_path(*args, **kwargs)
                if paths.ENABLED: paths.note("op.tensor")  # noqa: E701
                return result
            except Exception:
                args = tuple(to_numpy(a) for a in args)
                kwargs = {k: to_numpy(v) for k, v in kwargs.items()}
        if paths.ENABLED: paths.note("op.numpy")  # noqa: E701
        return reference(*args, **kwargs)

    call.__name__ = call.__qualname__ = entry.ident
    call.__doc__ = f"{entry.key} with NumPy semantics ({entry.torch_name} on lifted values)."
    call.entry = entry  # type: ignore[attr-defined]
    return call
