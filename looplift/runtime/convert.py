"""Run-time conversions of the rewritten code: guarded lifts, and materialization where values leave.

``lift_method``/``lift_call`` replace a tensor-to-NumPy conversion.  They check, on every call,
that the tensor is what the specialization assumed (dtype, rank, no grad unless detached, on the
CPU unless ``.cpu()`` was called); then the value stays a tensor.  Otherwise they perform the
original conversion, so an odd element of a list, or a tensor that would make the original
raise, behaves exactly as before (everything downstream accepts NumPy values too).

``materialize`` turns what the rewritten program holds back into what the original held: a lifted
n-d tensor into an ndarray, a lifted 0-d tensor into a NumPy scalar, a ``Deferred`` read into its
Python value, a ``Later`` into the number it computes; lists and dicts in place, tuples into new tuples.  Everything that
leaves at one point crosses from each device in *one* transfer: tensors off the CPU are packed
into one byte buffer, copied once, and unpacked on the host.  Lifted CPU tensors become arrays
that share their memory, as ``t.numpy()`` does.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np
import torch

from ..dtypes import TORCH_BY_NAME, TORCH_TO_NP
from . import paths
from .deferred import LATER_OPS, READS, Deferred, Later
from .state import NotBatchable, batching

Tensor = torch.Tensor
Parameter = torch.nn.Parameter
#: The functions that turn an array into a tensor, by object: how each is named.
TO_TENSOR_FUNCTIONS: dict[Any, str] = {torch.from_numpy: "from_numpy", torch.tensor: "tensor",
                                       torch.as_tensor: "as_tensor", torch.asarray: "asarray"}
_ALIGN = 16


#: The user's tensors that lifts kept without a copy, by the address of their memory (the first
#: one lifted, while it lives): every tensor in that memory (the lifted one or its detached alias,
#: and views such as ``np.ravel(a)`` lowered to ``a.reshape(-1)``) is made NumPy by ``.numpy()`` on
#: its own, so the array shares the memory as the original's did and writes through it reach the
#: user's tensor.  Every other small CPU tensor (results of lowered code, snapshots) crosses in one
#: packed copy.
SHARED: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()
#: CPU tensors up to this many bytes are packed when they leave (one host read for all); larger
#: ones are made NumPy in place (no copy: on the CPU that is free).
PACK_CPU_BYTES = 1 << 16


def _guard(x: Any, dtype: str, ndim: int | None, chain: tuple[str, ...]) -> bool:
    """``x`` is the tensor the specialization assumed: ``ndim`` None is a rank unknown statically
    (it changes from item to item), at least 1: a 0-d tensor's array makes NumPy give scalars."""
    return ((type(x) is Tensor or type(x) is Parameter) and x.dtype is TORCH_BY_NAME[dtype]
            and (x.dim() == ndim if ndim is not None else x.dim() >= 1)
            and (not x.requires_grad or "detach" in chain)
            and (x.is_cpu or "cpu" in chain))


def _steps(x: Any, chain: tuple[str, ...]) -> Any:
    """``x.<chain>()``: the original conversion's method calls, in order."""
    for name in chain:
        x = getattr(x, name)()
    return x


def numpy_of(x: Any, chain: tuple[str, ...]) -> Any:
    """``x.<chain>().numpy()`` for a chain of ``detach``/``cpu`` steps.  For a plain CPU tensor
    without grad those steps return ``x`` or an alias of it, so ``x.numpy()`` gives the same
    array (the same memory) without making the intermediate tensors."""
    if type(x) is Tensor and x.is_cpu and not x.requires_grad:
        return x.numpy()
    return _steps(x, chain).numpy()


def _lifted(x: Tensor, copies: bool) -> Tensor:
    """The tensor kept for a conversion: detached, and a snapshot where the original copied
    (``np.array``, ``.clone()``, or ``.cpu()`` of a device tensor: later in-place writes to the
    tensor must not reach the value)."""
    if paths.ENABLED:
        paths.note("lift.hit")
    if copies:
        return x.detach().clone()
    if x.numel() and not batching():  # (a batch's items are a stacked copy: nothing to share)
        SHARED.setdefault(x.untyped_storage().data_ptr(), x)  # the user's tensor, while it lives: see SHARED
    return x.detach() if x.requires_grad else x


def lift_method(x: Any, dtype: str, ndim: int | None, chain: tuple[str, ...]) -> Any:
    """``x.<chain>().numpy()``, kept as a tensor when the guard holds."""
    if _guard(x, dtype, ndim, chain):
        return _lifted(x, "clone" in chain or ("cpu" in chain and not x.is_cpu))
    _missed()
    return _steps(x, chain).numpy()


def lift_call(fn: Callable[[Any], Any], x: Any, dtype: str, ndim: int | None, chain: tuple[str, ...],
              copies: bool) -> Any:
    """``fn(x.<chain>())`` for ``np.asarray``/``np.array``, kept as a tensor when the guard holds."""
    if _guard(x, dtype, ndim, chain):
        return _lifted(x, copies or "clone" in chain or ("cpu" in chain and not x.is_cpu))
    _missed()
    return fn(_steps(x, chain))


def _missed() -> None:
    """A guard did not hold: the original conversion runs (a batch stops: ``runtime/batch.py``)."""
    if paths.ENABLED:
        paths.note("lift.miss")
    if batching():
        raise NotBatchable


def to_tensor(fn: Callable[[Any], Any], a: Any) -> Any:
    """``torch.from_numpy(a)`` / ``torch.tensor(a)`` / ``torch.as_tensor(a)`` of a lifted value:
    the tensor itself (on the CPU, where the original's tensor lives), copied where the original
    copies."""
    how = TO_TENSOR_FUNCTIONS.get(fn)
    if type(a) is not Tensor or how is None or (how == "from_numpy" and a.dim() == 0):
        return fn(materialize(a))
    if a.device.type != "cpu":
        return a.cpu()  # the original's tensor was made from a host array
    # a new tensor object over the same memory (or a copy), as the original made one
    return a.clone() if how == "tensor" else a.detach()


def meta(x: Any, name: str) -> Any:
    """``a.shape``/``a.dtype``/... of the array a lifted value stands for, read from the tensor
    (metadata: no data is read).  A NumPy value answers for itself."""
    if type(x) is not Tensor:
        return getattr(x, name)
    if name == "shape":
        return tuple(x.shape)
    if name == "ndim":
        return x.dim()
    if name == "size":
        return x.numel()
    dtype = TORCH_TO_NP[x.dtype]
    if name == "dtype":
        return dtype
    if name == "itemsize":
        return dtype.itemsize
    return dtype.itemsize * x.numel()  # nbytes


# ---------------------------------------------------------------------------------------------
# Materialization


def materialize(x: Any) -> Any:
    """What the original holds for ``x`` (lists and dicts are converted in place); one transfer per device."""
    cls = type(x)
    if cls is Tensor and x.is_cpu:  # one tensor: its own memory, so writes to the array reach its views
        return _array(x.detach().numpy() if x.requires_grad else x.numpy())
    if cls is list and _HOLDING.isdisjoint(map(type, x)):
        return x  # host values only (a batch's results): nothing to read
    how = _scalar_reads(x) if cls is list else None
    if how is not None:
        with torch.no_grad():
            numbers = torch.stack([d.tensor for d in x]).tolist()  # what each .item() gives, in one read
        x[:] = numbers if how == "item" else list(map(READS[how], numbers))
        if paths.ENABLED:
            paths.note("exit.transfer")
        return x
    if cls in _HOLDING:
        transfer = _Transfer()
        transfer.collect(x)
        transfer.run()
        return transfer.rebuild(x)
    return x


#: The kinds of value ``materialize`` converts or looks into.
_HOLDING = frozenset((Tensor, list, tuple, dict, Deferred, Later))


def _scalar_reads(x: list[Any]) -> str | None:
    """``how`` when ``x`` is a list of deferred reads, all made ``how``, of 0-d tensors of one
    dtype on one device (the list ``losses.append(loss.item())`` builds): read with one stack.
    (A spliced ``.tolist()`` element reads a 1-d tensor: not this.)"""
    if not x or type(x[0]) is not Deferred:
        return None
    first = x[0].tensor
    how, dtype, device = x[0].how, first.dtype, first.device
    for d in x:
        if type(d) is not Deferred or d.how != how:
            return None
        t = d.tensor
        if t.ndim != 0 or t.dtype is not dtype or t.device != device:
            return None
    return how


def _array(array: np.ndarray) -> Any:
    """A lifted 0-d value stands for a NumPy scalar."""
    return array[()] if array.ndim == 0 else array


class _Transfer:
    """The tensors inside a value, copied to the host together: one byte buffer per device."""

    def __init__(self) -> None:
        self.pending: dict[torch.device, list[Tensor]] = {}
        self.host: dict[int, np.ndarray] = {}  # id(tensor) -> its bytes on the host
        self.seen: set[int] = set()
        self.totals: dict[int, Any] = {}  # id(Later) -> its value
        self.lists: dict[int, list[Any]] = {}  # id(tensor) -> its .tolist(), for spliced elements

    def collect(self, x: Any) -> None:
        cls = type(x)
        if cls is Tensor:
            if id(x) not in self.seen and (not x.is_cpu or _packed_on_cpu(x)):
                self.seen.add(id(x))
                self.pending.setdefault(x.device, []).append(x)
        elif cls is Deferred:
            if id(x.tensor) not in self.seen:
                self.seen.add(id(x.tensor))
                self.pending.setdefault(x.tensor.device, []).append(x.tensor)
        elif cls is Later:
            stack = [x]  # a chain of computations: walked, not recursed
            while stack:
                node = stack.pop()
                if type(node) is Later:
                    if id(node) not in self.seen:
                        self.seen.add(id(node))
                        stack += [node.b, node.a]
                else:
                    self.collect(node)
        elif cls in (list, tuple):
            for item in x:
                self.collect(item)
        elif cls is dict:
            for item in x.values():
                self.collect(item)

    def run(self) -> None:
        """One copy per device: the tensors of each dtype joined into one flat tensor (a stack of
        0-d tensors, the common case of deferred reads, is one operation), the dtypes' bytes
        joined into one buffer."""
        with torch.no_grad():
            for tensors in self.pending.values():
                groups: dict[torch.dtype, list[Tensor]] = {}
                for t in tensors:
                    groups.setdefault(t.dtype, []).append(t)
                pieces, starts, offset = [], [], 0
                for dtype, group in groups.items():
                    flat = torch.stack(group) if all(t.ndim == 0 for t in group) else \
                        torch.cat([t.reshape(-1) for t in group])
                    data = flat.view(torch.uint8) if dtype is not torch.bool else flat.to(torch.uint8)
                    pad = -offset % _ALIGN
                    if pad:
                        pieces.append(data.new_zeros(pad))
                        offset += pad
                    pieces.append(data.reshape(-1))
                    size = 1 if dtype is torch.bool else flat.element_size()
                    for t in group:
                        starts.append((t, offset))
                        offset += t.numel() * size
                buffer = (torch.cat(pieces) if len(pieces) > 1 else pieces[0]).cpu().numpy()
                if paths.ENABLED:
                    paths.note("exit.transfer")
                for t, start in starts:
                    self.host[id(t)] = _unpack(buffer, start, t)

    def tensor_value(self, t: Tensor) -> np.ndarray:
        found = self.host.get(id(t))
        if found is not None:
            return found
        return t.detach().numpy() if t.requires_grad else t.numpy()

    def elements(self, t: Tensor) -> list[Any]:
        """``t.tolist()`` of a 1-d snapshot, made once for all its spliced elements (NumPy's
        ``tolist`` gives the Python numbers torch's does; a dtype NumPy lacks stays a tensor)."""
        found = self.lists.get(id(t))
        if found is None:
            found = self.lists[id(t)] = self.tensor_value(t).tolist()
        return found

    def value_of(self, later: Later) -> Any:
        """The number a ``Later`` computes: its operands first (iteratively, in order), each
        node once (a value kept mid-way is reused)."""
        stack: list[tuple[Later, bool]] = [(later, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in self.totals:
                continue
            if ready:
                a, b = (self.totals[id(v)] if type(v) is Later else self.rebuild(v) for v in (node.a, node.b))
                self.totals[id(node)] = LATER_OPS[node.op](a, b)
                continue
            stack.append((node, True))
            stack += [(v, False) for v in (node.b, node.a) if type(v) is Later and id(v) not in self.totals]
        return self.totals[id(later)]

    def rebuild(self, x: Any) -> Any:
        cls = type(x)
        if cls is Tensor:
            return _array(self.tensor_value(x))
        if cls is Deferred:
            if x.index is not None:
                return self.elements(x.tensor)[x.index]
            return _read(self.tensor_value(x.tensor), x.how)
        if cls is Later:
            return self.value_of(x)
        if cls is list:
            for i, item in enumerate(x):
                if type(item) in _HOLDING:
                    x[i] = self.rebuild(item)
            return x
        if cls is dict:
            for key, item in x.items():
                if type(item) in _HOLDING:
                    x[key] = self.rebuild(item)  # an existing key: the dict keeps its size and order
            return x
        if cls is tuple and any(type(i) in _HOLDING for i in x):
            return tuple(self.rebuild(i) for i in x)
        return x


def _packed_on_cpu(x: Tensor) -> bool:
    return x.numel() * x.element_size() <= PACK_CPU_BYTES and \
        (not x.numel() or x.untyped_storage().data_ptr() not in SHARED)


def _unpack(buffer: np.ndarray, start: int, t: Tensor) -> np.ndarray:
    nbytes = t.numel() * t.element_size() if t.dtype is not torch.bool else t.numel()
    raw = buffer[start:start + nbytes]
    dtype = TORCH_TO_NP.get(t.dtype)
    if dtype is None:  # a dtype NumPy lacks (bfloat16): through torch on the host
        return torch.from_numpy(raw.copy()).view(t.dtype).reshape(t.shape)  # type: ignore[return-value]
    return raw.view(dtype).reshape(tuple(t.shape))


def _read(value: Any, how: str) -> Any:
    """The Python value ``how`` gives for a tensor whose host copy is ``value``: the same
    conversion torch makes (a NumPy element's ``tolist`` is the Python number ``item`` gives)."""
    if isinstance(value, torch.Tensor):
        return READS[how](value)
    if value.size != 1:
        return READS[how](torch.from_numpy(value))  # raises as torch does
    number = value.reshape(()).tolist()
    return number if how == "item" else READS[how](number)
