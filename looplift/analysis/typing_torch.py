"""Result types of torch code in the loop, asked of torch itself.

Real loops compute their tensors with torch (``model(x).argmax(1)``, ``F.softmax(logits, -1)``,
``loss.item()``), so the types pass must know what torch functions and tensor methods return.
Rather than restate torch's dtype rules, it runs the call on *meta* tensors (shape and dtype, no
data, no computation) standing for the abstract operands, as ``registry/probe.py`` runs NumPy on
probe arrays.  Probes have size 2 on every axis, so a result's rank may differ from the real one
where sizes matter (``squeeze()``); every value whose rank or dtype the rewritten code relies on is
guarded where it is used, so a wrong guess costs speed, never correctness.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .. import semantics
from ..dtypes import TENSOR_CAST_METHODS, TORCH_TO_NP
from ..lattice import AV, BOTTOM, TOP, ArrayV, ConstV, ListV, ObjV, PlainV, PyScalarV, TensorV, TupleV, join

PROBE_SIDE = 2
MAX_COMBINATIONS = 4
_META = torch.device("meta")

#: Tensor methods whose result says nothing the types pass needs, or that have effects.
_UNPROBED_METHODS = frozenset({"backward", "register_hook", "numpy", "tolist", "item", "cpu", "cuda", "to",
                               "detach", "data_ptr", "storage", "untyped_storage", "share_memory_",
                               "pin_memory", "record_stream"})


class _NoProbe(Exception):
    pass


def _probe(value: AV) -> list[Any]:
    """Stand-ins for an operand: meta tensors for tensors, 1 for numbers, literals as they are."""
    out: list[Any] = []
    for option in value.options():
        if isinstance(option, TensorV):
            if option.dtype is None or option.ndim is None:
                raise _NoProbe
            out.append(torch.ones((PROBE_SIDE,) * option.ndim, dtype=option.dtype, device=_META))
        elif isinstance(option, ConstV):
            out.append(option.value)
        elif isinstance(option, PyScalarV):
            out.append(option.type(1))
        elif isinstance(option, ObjV) and isinstance(option.obj, (torch.dtype, torch.device)):
            out.append(option.obj)
        elif isinstance(option, TupleV) and option.items is not None:
            out.extend(itertools.product(*(_probe(i) for i in option.items)))
        else:
            raise _NoProbe
    return out


def _device(values: Sequence[AV]) -> str | None:
    """The device of the tensor operands (None when unknown or mixed)."""
    devices = {o.device for v in values for o in v.options() if isinstance(o, TensorV)}
    return devices.pop() if len(devices) == 1 else None


def _grad(values: Sequence[AV]) -> bool | None:
    """Whether a result may require grad: False when no tensor operand does."""
    flags = {o.requires_grad for v in values for o in v.options() if isinstance(o, TensorV)}
    return False if flags == {False} else None


def _abstract(result: Any, device: str | None, grad: bool | None) -> AV:
    if isinstance(result, torch.Tensor):
        return TensorV(result.dtype, result.ndim, device, grad if result.dtype.is_floating_point else False)
    if isinstance(result, tuple):
        fields = getattr(type(result), "__match_args__", None) or getattr(type(result), "_fields", None)
        items = tuple(_abstract(r, device, grad) for r in result)
        return TupleV(items, fields=tuple(fields) if fields else None)
    if isinstance(result, (list,)):
        elem: AV = BOTTOM
        for r in result:
            elem = join(elem, _abstract(r, device, grad))
        return ListV(elem, local=False)
    if isinstance(result, bool):
        return PyScalarV(bool)
    if isinstance(result, (int, float, complex)):
        return PyScalarV(type(result))
    if isinstance(result, torch.Size):
        return TupleV(None, PyScalarV(int))
    return TOP


def probe_call(fn: Any, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """What ``fn(*args, **kwargs)`` returns for these abstract operands, or TOP."""
    try:
        arg_probes = [_probe(a) for a in args]
        kw_probes = [_probe(v) for v in kwargs.values()]
    except _NoProbe:
        return TOP
    names = list(kwargs)
    device, grad = _device([*args, *kwargs.values()]), _grad([*args, *kwargs.values()])
    result: AV = BOTTOM
    combos = list(itertools.islice(itertools.product(*arg_probes, *kw_probes), MAX_COMBINATIONS + 1))
    if len(combos) > MAX_COMBINATIONS:
        return TOP
    for combo in combos:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                value = fn(*combo[:len(args)], **dict(zip(names, combo[len(args):])))
            except Exception:
                return TOP
        result = join(result, _abstract(value, device, grad))
    return result


def function_result(fn: Any, qualified: str, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """The result of a torch function (``torch.softmax``, ``F.nll_loss``) called on these operands."""
    if not semantics.is_read_only_function(qualified) or semantics.draws_random(qualified):
        return TOP
    if not any(isinstance(o, TensorV) for v in (*args, *kwargs.values()) for o in v.options()):
        return TOP  # creation functions: device and dtype come from arguments the probes lack
    return probe_call(fn, args, kwargs)


def method_result(receiver: TensorV, name: str, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """The result of ``receiver.<name>(*args, **kwargs)`` for a tensor receiver."""
    if name == "detach":
        return replace(receiver, requires_grad=False)
    if name == "cpu":
        return replace(receiver, device="cpu")
    if name == "cuda":
        return replace(receiver, device="cuda")
    if name == "to":
        return _to(receiver, args, kwargs)
    if name in TENSOR_CAST_METHODS and not args and not kwargs:
        dtype = TENSOR_CAST_METHODS[name]
        return replace(receiver, dtype=dtype, requires_grad=receiver.requires_grad if dtype.is_floating_point else False)
    if name == "item":
        return _item(receiver)
    if name == "numpy":
        dtype = TORCH_TO_NP.get(receiver.dtype) if receiver.dtype is not None else None
        return ArrayV(dtype, receiver.ndim) if dtype is not None else TOP
    if name == "tolist":
        return TOP
    if name in _UNPROBED_METHODS or semantics.is_inplace_method(name):
        return receiver if semantics.is_inplace_method(name) else TOP
    method = getattr(torch.Tensor, name, None)
    if method is None:
        return TOP
    return probe_call(method, [receiver, *args], kwargs)


def attribute_result(receiver: TensorV, name: str) -> AV:
    """``t.T``, ``t.grad``, ``t.shape``, ``t.device``, ..."""
    if name in ("T", "mT", "H", "mH", "data"):
        return replace(receiver, requires_grad=False) if name == "data" else receiver
    if name == "grad":
        return join(TensorV(receiver.dtype, receiver.ndim, receiver.device, False), PlainV(type(None)))
    if name == "shape":
        return TupleV(None, PyScalarV(int))
    if name in ("ndim",):
        return PyScalarV(int)
    if name in ("requires_grad", "is_cuda", "is_leaf"):
        return PyScalarV(bool)
    return TOP


def _item(receiver: TensorV) -> AV:
    if receiver.dtype is None:
        return TOP
    if receiver.dtype is torch.bool:
        return PyScalarV(bool)
    if receiver.dtype.is_complex:
        return PyScalarV(complex)
    return PyScalarV(float if receiver.dtype.is_floating_point else int)


def _to(receiver: TensorV, args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
    """``t.to(device)``, ``t.to(dtype)``, ``t.to(device, dtype)``, ``t.to(other)``: dtype and
    device where the arguments say them literally, unknown where they do not."""
    dtype, device = receiver.dtype, receiver.device
    for value in (*args, *(kwargs[k] for k in ("device", "dtype") if k in kwargs)):
        options = list(value.options())
        literal = options[0] if len(options) == 1 else None
        if isinstance(literal, ObjV) and isinstance(literal.obj, torch.dtype):
            dtype = literal.obj
        elif isinstance(literal, ObjV) and isinstance(literal.obj, torch.device):
            device = literal.obj.type
        elif isinstance(literal, ConstV) and isinstance(literal.value, str):
            device = torch.device(literal.value).type
        elif isinstance(literal, TensorV):
            dtype, device = literal.dtype, literal.device
        elif not (isinstance(literal, ConstV) and isinstance(literal.value, bool)):
            device = None  # a device held in a variable: unknown
    grad = receiver.requires_grad if dtype is not None and dtype.is_floating_point else False
    return TensorV(dtype, receiver.ndim, device, grad)


def is_tensor_value(value: AV) -> bool:
    return all(isinstance(o, TensorV) for o in value.options())


def numpy_dtype_of(obj: Any) -> Any:
    """``np.float32`` given as a ``dtype=`` literal, as a NumPy dtype (None otherwise)."""
    try:
        return np.dtype(obj)
    except TypeError:
        return None
