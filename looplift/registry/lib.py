"""Plain torch helpers that lowered code calls (as ``lib.<name>``) where one expression cannot
say what NumPy does.  Each is a pure function of tensors and Python values that reads no tensor
data on the host (see ``lowering.py``): value-dependent NumPy behaviour is written with
``torch.where``, and what depends on sizes reads only shapes.  The runtime interpreter calls the
same helpers, so both paths share one definition of each rule.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------
# Elementwise


def int_floor_divide(x: Any, y: Tensor) -> Tensor:
    """NumPy's integer ``x // y``: 0 where ``y`` is 0 (torch raises on the CPU and gives
    garbage on CUDA)."""
    zero = y == 0
    return torch.where(zero, 0, x // torch.where(zero, 1, y))


def int_remainder(x: Any, y: Tensor) -> Tensor:
    """NumPy's integer ``x % y``: 0 where ``y`` is 0."""
    zero = y == 0
    return torch.where(zero, 0, x % torch.where(zero, 1, y))


def int_fmod(x: Tensor, y: Tensor) -> Tensor:
    """NumPy's integer ``fmod``: 0 where ``y`` is 0."""
    zero = y == 0
    return torch.where(zero, 0, torch.fmod(x, torch.where(zero, 1, y)))


def float_remainder(x: Tensor, y: Any) -> Tensor:
    """NumPy's float remainder: ``fmod`` moved into the divisor's sign (``npy_divmod``), exact for
    every pair; torch's ``a - b*floor(a/b)`` gives NaN where ``a/b`` overflows (a subnormal
    divisor).  A zero result takes the divisor's sign."""
    mod = torch.fmod(x, y)
    moved = torch.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)
    return torch.where(mod == 0, torch.copysign(torch.zeros_like(mod), y), moved)


def sign(x: Tensor) -> Tensor:
    """``np.sign`` of floats keeps NaN; ``torch.sign`` turns it into 0."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def cbrt(x: Tensor) -> Tensor:
    """The real cube root (torch has none): ``sign(x) * |x| ** (1/3)``."""
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


def int_matmul(x: Tensor, y: Tensor) -> Tensor:
    """Integer ``matmul``, wrapping like NumPy's: torch's on the CPU; elsewhere (CUDA has no
    integer matmul) as products summed in the operands' dtype."""
    return torch.matmul(x, y) if x.device.type == "cpu" else matmul_by_sums(x, y)


def matmul_by_sums(x: Tensor, y: Tensor) -> Tensor:
    """``matmul`` as broadcast products summed over the inner axis (1-d operands as NumPy treats
    them: a row, a column, dropped from the result)."""
    a = x.unsqueeze(0) if x.ndim == 1 else x
    b = y.unsqueeze(-1) if y.ndim == 1 else y
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions {a.shape[-1]} and {b.shape[-2]} differ")
    product = (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2, dtype=x.dtype)
    if x.ndim == 1:
        product = product.squeeze(-2)
    return product.squeeze(-1) if y.ndim == 1 else product


def sqrt_at_half(x: Tensor, exponent: Tensor) -> Tensor:
    """NumPy's float power with an exponent that repeats along its loop (a NumPy scalar): its
    fast path takes ``sqrt`` where the exponent is 0.5 (``-inf ** 0.5`` is NaN there, +inf in C's
    ``pow``)."""
    return torch.where(exponent == 0.5, torch.sqrt(x), torch.pow(x, exponent))
