"""Run-time conversions of the rewritten code: guarded lifts and materialization.

``lift_method``/``lift_call`` replace a tensor-to-NumPy conversion.  They check, on every call,
that the tensor is what the specialization assumed (dtype, ndim, no grad unless detached, on
the CPU unless ``.cpu()`` was called); then the value stays a tensor.  Otherwise they perform the
original conversion, so an odd element of a list, or a tensor that would make the original
raise, behaves exactly as before (every registry op accepts NumPy values too).

``materialize`` turns lifted values back into what the original held: an n-d tensor into an
ndarray, a 0-d tensor into a NumPy scalar; lists in place (one device-to-host copy per dtype and
device, not one per element); tuples into new tuples.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ..dtypes import TORCH_BY_NAME
from . import paths

Tensor = torch.Tensor
#: The functions that turn an array into a tensor, by object: how each is named.
TO_TENSOR_FUNCTIONS: dict[Any, str] = {torch.from_numpy: "from_numpy", torch.tensor: "tensor",
                                       torch.as_tensor: "as_tensor", torch.asarray: "asarray"}


def _guard(x: Any, dtype: str, ndim: int, chain: tuple[str, ...]) -> bool:
    return (type(x) is Tensor and x.dtype is TORCH_BY_NAME[dtype] and x.dim() == ndim
            and (not x.requires_grad or "detach" in chain)
            and (x.device.type == "cpu" or "cpu" in chain))


def numpy_of(x: Any, chain: tuple[str, ...]) -> Any:
    """``x.<chain>().numpy()`` for a chain of ``detach``/``cpu`` steps.  For a plain CPU tensor
    without grad those steps return ``x`` or an alias of it, so ``x.numpy()`` gives the same
    array (the same memory) without making the intermediate tensors; anything else takes the
    original steps, with their results and exceptions."""
    if type(x) is Tensor and x.is_cpu and not x.requires_grad:
        return x.numpy()
    return _steps(x, chain).numpy()


def _steps(x: Any, chain: tuple[str, ...]) -> Any:
    """``x.<chain>()``: the original conversion's method calls, in order."""
    for name in chain:
        x = getattr(x, name)()
    return x


def _lifted(x: Tensor, copies: bool) -> Tensor:
    if x.requires_grad:
        x = x.detach()
    return x.clone() if copies else x


def lift_method(x: Any, dtype: str, ndim: int, chain: tuple[str, ...]) -> Any:
    """``x.<chain>().numpy()``, kept as a tensor when the guard holds."""
    if _guard(x, dtype, ndim, chain):
        if paths.ENABLED: paths.note("lift.hit")  # noqa: E701
        return _lifted(x, "clone" in chain or ("cpu" in chain and x.device.type != "cpu"))
    if paths.ENABLED: paths.note("lift.miss")  # noqa: E701
    return _steps(x, chain).numpy()


def lift_call(fn: Callable[[Any], Any], x: Any, dtype: str, ndim: int, chain: tuple[str, ...],
              copies: bool) -> Any:
    """``fn(x.<chain>())`` for ``np.asarray``/``np.array``, kept as a tensor when the guard holds."""
    if _guard(x, dtype, ndim, chain):
        if paths.ENABLED: paths.note("lift.hit")  # noqa: E701
        return _lifted(x, copies or "clone" in chain or ("cpu" in chain and x.device.type != "cpu"))
    if paths.ENABLED: paths.note("lift.miss")  # noqa: E701
    return fn(_steps(x, chain))


def to_tensor(fn: Callable[[Any], Any], a: Any) -> Any:
    """``torch.from_numpy(a)`` / ``torch.tensor(a)`` / ``torch.as_tensor(a)`` of a lifted value:
    the tensor itself (on the CPU, where the original's tensor lives), copied where the original
    copies."""
    how = TO_TENSOR_FUNCTIONS.get(fn)
    if type(a) is not Tensor or how is None or (how == "from_numpy" and a.dim() == 0):
        if paths.ENABLED: paths.note("lift.miss")  # noqa: E701
        return fn(materialize(a))
    if paths.ENABLED: paths.note("lift.hit")  # noqa: E701
    if a.device.type != "cpu":
        return a.cpu()  # the original's tensor was made from a host array
    # a new tensor object over the same memory (or a copy), as the original made one
    return a.clone() if how == "tensor" else a.detach()


def _to_numpy(x: Tensor) -> Any:
    array = x.detach().cpu().numpy() if x.device.type != "cpu" or x.requires_grad else x.numpy()
    return array[()] if array.ndim == 0 else array


def materialize(x: Any) -> Any:
    """The NumPy value a lifted value stands for (lists are converted in place)."""
    cls = type(x)
    if cls is Tensor:
        return _to_numpy(x)
    if cls is list:
        _materialize_list(x)
        return x
    if cls is tuple and any(type(i) in (Tensor, list, tuple) for i in x):
        return tuple(materialize(i) for i in x)
    return x


def _materialize_list(items: list[Any]) -> None:
    off_cpu: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, item in enumerate(items):
        if type(item) is Tensor:
            if item.device.type == "cpu":
                items[i] = _to_numpy(item)
            else:
                off_cpu.setdefault((item.device, item.dtype), []).append(i)
        elif type(item) in (list, tuple):
            items[i] = materialize(item)
    for indices in off_cpu.values():
        # one device-to-host copy for every element of this device and dtype
        tensors = [items[i].detach() for i in indices]
        host = torch.cat([t.reshape(-1) for t in tensors]).cpu().numpy()
        offset = 0
        for i, t in zip(indices, tensors):
            n = t.numel()
            piece = host[offset:offset + n].reshape(tuple(t.shape))
            items[i] = piece[()] if t.dim() == 0 else piece
            offset += n
