"""Differential checking: does a decorated function behave exactly like the original?

``compare_calls(original, decorated, make_args)`` runs both on fresh copies of the same
arguments and compares what a user can observe: the return value (types, NumPy dtypes, shapes,
values within float tolerance), the arguments afterwards (mutation), printed output and the
exception raised.  The test suite, the fuzzer and users' own tests share it.
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

#: (rtol, atol) per floating dtype: the float32 bound is NumPy's own rounding noise for
#: reordered sums; float64 is tight.
TOLERANCES = {np.dtype("float16"): (1e-3, 1e-3), np.dtype("float32"): (1e-5, 1e-6),
              np.dtype("float64"): (1e-10, 1e-12)}


class Mismatch(AssertionError):
    """The two runs differ; the message says where."""


def _close(a: np.ndarray, b: np.ndarray, path: str, scale: float) -> None:
    if a.dtype.kind in "fc":
        rtol, atol = TOLERANCES.get(a.dtype, (1e-5, 1e-6))
        if not np.allclose(a, b, rtol=rtol, atol=atol * scale, equal_nan=True):
            raise Mismatch(f"{path}: values differ: {a!r} vs {b!r}")
    elif not np.array_equal(a, b):
        raise Mismatch(f"{path}: values differ: {a!r} vs {b!r}")


def assert_same(a: Any, b: Any, path: str = "result", scale: float = 1.0) -> None:
    """Raise ``Mismatch`` unless ``b`` is what a user would take for ``a``.

    ``scale`` widens the absolute tolerance for values computed from large sums."""
    if type(a) is not type(b):
        raise Mismatch(f"{path}: type {type(a).__name__} vs {type(b).__name__} ({a!r} vs {b!r})")
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            raise Mismatch(f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
        _close(a, b, path, scale)
    elif isinstance(a, np.generic):
        if a.dtype != b.dtype:
            raise Mismatch(f"{path}: dtype {a.dtype} vs {b.dtype}")
        _close(np.asarray(a), np.asarray(b), path, scale)
    elif isinstance(a, torch.Tensor):
        if (a.dtype, a.shape, a.device, a.requires_grad) != (b.dtype, b.shape, b.device, b.requires_grad):
            raise Mismatch(f"{path}: tensor {a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)}")
        _close(a.detach().cpu().numpy(), b.detach().cpu().numpy(), path, scale)
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise Mismatch(f"{path}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]", scale)
    elif isinstance(a, dict):
        if list(a) != list(b):
            raise Mismatch(f"{path}: keys {list(a)} vs {list(b)}")
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]", scale)
    elif isinstance(a, float):
        if not (math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6 * scale) or (math.isnan(a) and math.isnan(b))):
            raise Mismatch(f"{path}: {a!r} vs {b!r}")
    elif isinstance(a, (int, str, bytes, bool, type(None), complex)):
        if a != b:
            raise Mismatch(f"{path}: {a!r} vs {b!r}")


def clone(value: Any) -> Any:
    """A deep copy that also copies tensors (keeping ``requires_grad``)."""
    if isinstance(value, torch.Tensor):
        copied = value.detach().clone()
        return copied.requires_grad_(value.requires_grad) if value.is_leaf else copied
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clone(v) for v in value)
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    return copy.deepcopy(value)


@dataclass
class Outcome:
    result: Any
    error: BaseException | None
    output: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def run(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> Outcome:
    """Call ``fn`` on copies of the arguments, capturing output and any exception."""
    args, kwargs = clone(args), clone(kwargs or {})
    buffer = io.StringIO()
    result, error = None, None
    with contextlib.redirect_stdout(buffer):
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # compared, not swallowed
            error = exc
    return Outcome(result, error, buffer.getvalue(), args, kwargs)


def compare_calls(original: Callable[..., Any], decorated: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any] | None = None, *, scale: float = 1.0,
                  compare_messages: bool = False) -> Outcome:
    """Run both and raise ``Mismatch`` on any observable difference; returns the original's outcome."""
    expected = run(original, args, kwargs)
    actual = run(decorated, args, kwargs)
    if (expected.error is None) != (actual.error is None) or \
            (expected.error is not None and type(expected.error) is not type(actual.error)):
        raise Mismatch(f"exception: {expected.error!r} vs {actual.error!r}") from actual.error
    if compare_messages and expected.error is not None and str(expected.error) != str(actual.error):
        raise Mismatch(f"exception message: {expected.error} vs {actual.error}")
    if expected.output != actual.output:
        raise Mismatch(f"printed output differs:\n{expected.output!r}\nvs\n{actual.output!r}")
    if expected.error is None:
        assert_same(expected.result, actual.result, "result", scale)
    assert_same(expected.args, actual.args, "args after the call", scale)
    assert_same(expected.kwargs, actual.kwargs, "kwargs after the call", scale)
    return expected
