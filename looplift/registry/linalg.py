"""Products and linear algebra: dot, vdot, inner, outer, tensordot, einsum, trace, diag,
``linalg.norm`` and the factorizations whose results are unique.

Dtypes: products follow NumPy's result type (probed); integer products run in int64 and are
cast back (two's-complement wrap-around makes that equal to NumPy's accumulation in the narrow
type), bool products are "any of the ANDs" (the int64 count is compared with 0).  ``numpy.linalg``
computes in float64 and casts the result back to float32 when every input is float32
(``_commonType``); the tensor paths do the same, which is what makes them agree with NumPy to
float32 precision on float32 input.

Exactness needs unique, well-conditioned answers: ``inv``, ``solve`` and ``cholesky`` hand
matrices with a condition number above ``MAX_CONDITION`` to NumPy (two LAPACKs may disagree on
whether such a matrix is singular, and their results differ by about cond·eps); ``qr`` does the
same (its sign convention is LAPACK's Householder one in both).  ``eigh`` and ``svd`` with
vectors are not exact (eigenvectors are defined up to sign, and up to a basis for repeated
eigenvalues), so only their value parts are here: ``eigvalsh``, ``svdvals`` and
``svd(compute_uv=False)``.

Lowered code decides the same statically and reads no tensor data: products follow IEEE on NaN
and infinity (``testing.IEEE_NOTE``; NumPy's BLAS may drop NaN·0 terms), ``det`` comes from an
LU factorization whose zero pivot is handled on the device (``lib.det``), and ``inv``, ``solve``,
``cholesky`` and ``qr`` stay in NumPy (``numpy_only``): their condition check is a property of
the values, with no exact device-side form.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..lattice import AV, ArrayV, ConstV
from ..dtypes import NP_TO_TORCH, TORCH_TO_NP
from ..errors import Refusal
from .cases import ALL, FLOAT, NUMERIC, Arr, Lifted, case, custom
from .coerce import array_result, normalize_axis, probe_dtype, require_finite, tensor_of
from .declare import flag, full_reduction, literal_arguments, not_given, operand, register_numpy
from .arguments import Args, array_value, axes, axis, bound, call_source, int_tuple, lifted, source
from .lowering import Call, Emit, Operand, Refuse, atom, cast, dtype_source, operand_source, python_number
from . import lib
from .probe import result_value
from .entry import Unsupported, always
from .ufuncs import apply

Tensor = torch.Tensor

#: Largest condition number (2-norm) a matrix may have for the tensor paths of inv, solve,
#: cholesky and qr: results then agree with NumPy's to about 1e4 * eps relative to their norm.
MAX_CONDITION = 1e4


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    device = next((v.device for v in (a, b) if isinstance(v, Tensor)), None)
    return tensor_of(a, device), tensor_of(b, device)


def _exactly(dtype: torch.dtype, fn: Callable[..., Tensor], *operands: Tensor) -> Tensor:
    """``fn`` over ``operands`` in NumPy's result ``dtype``: floats directly (IEEE on NaN and
    infinity, see ``testing.IEEE_NOTE``), integers in int64 cast back (wrap-around agrees), bools
    as int64 counts compared with 0 (NumPy ORs the ANDs)."""
    if dtype.is_floating_point:
        return fn(*(t.to(dtype) for t in operands)).to(dtype)
    result = fn(*(t.to(torch.int64) for t in operands))
    return result != 0 if dtype is torch.bool else result.to(dtype)


# ---------------------------------------------------------------------------------------------
# Products


def _contract_last(x: Tensor, y: Tensor, y_axis: int) -> Tensor:
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return _tensordot_checked(x, y, ([x.ndim - 1], [y_axis % y.ndim]))


def _tensordot_checked(x: Tensor, y: Tensor, dims: Any) -> Tensor:
    """torch.tensordot, where contracted axes must have equal sizes (torch broadcasts size 1)."""
    pairs = zip(range(x.ndim - dims, x.ndim), range(dims)) if isinstance(dims, int) else zip(*dims)
    if any(x.shape[i] != y.shape[j] for i, j in pairs):
        raise Unsupported("shapes not aligned (NumPy raises)")
    return torch.tensordot(x, y, dims=dims)


def _dot(a: Any, b: Any, out: Any = None) -> Tensor:
    """NumPy's dot: a product with a scalar, the last axis of ``a`` against the only axis of a
    1-d ``b`` or the second-to-last axis of ``b`` (a tensordot, not a batched matmul)."""
    not_given(out=out)
    x, y = _pair(a, b)
    return _exactly(probe_dtype(np.dot, (x, y)), lambda u, v: _contract_last(u, v, -2 if v.ndim > 1 else 0), x, y)


def _vdot(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    if x.numel() != y.numel():
        raise Unsupported("vectors of different sizes (NumPy raises)")
    return _exactly(probe_dtype(np.vdot, (x, y)), lambda u, v: (u.reshape(-1) * v.reshape(-1)).sum(), x, y)


def _inner(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    return _exactly(probe_dtype(np.inner, (x, y)), lambda u, v: _contract_last(u, v, -1), x, y)


def _outer(a: Any, b: Any, out: Any = None) -> Tensor:
    """NumPy: ``multiply(a.ravel()[:, newaxis], b.ravel()[newaxis, :])``."""
    not_given(out=out)
    x, y = _pair(a, b)
    return apply(np.multiply, x.reshape(-1)[:, None], y.reshape(-1)[None, :])


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    x, y = _pair(a, b)
    try:
        axes_a, axes_b = axes
        dims: Any = ([operator.index(i) for i in _as_list(axes_a)], [operator.index(i) for i in _as_list(axes_b)])
    except TypeError:
        dims = operator.index(axes)
        if dims < 0:
            raise Unsupported("negative axes (NumPy raises)") from None
    dt = probe_dtype(np.dot, (x, y))
    return array_result(_exactly(dt, lambda u, v: _tensordot_checked(u, v, dims), x, y))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Tensor:
    """Subscripts and operands (not the sublist form); dtype=/casting=/order= go to NumPy.
    ``optimize`` changes the order of the sums, and the kind of a 0-d result: NumPy's own loop
    returns a scalar, its optimized path (tensordot) a 0-d ndarray."""
    not_given(out=out, **kwargs)
    if not operands or not isinstance(operands[0], str):
        raise Unsupported("einsum without a subscripts string")
    subscripts, arrays = operands[0], operands[1:]
    device = next((v.device for v in arrays if isinstance(v, Tensor)), None)
    tensors = [tensor_of(v, device) for v in arrays]
    dt = probe_dtype(np.einsum, (subscripts, *tensors))
    result = _exactly(dt, lambda *ts: torch.einsum(subscripts, *ts), *tensors)
    if optimize is not False and result.ndim == 0:
        raise Unsupported("with optimize=, NumPy's contraction path may return a 0-d ndarray")
    return result


def _trace(a: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1, dtype: Any = None, out: Any = None) -> Tensor:
    not_given(out=out)
    x = tensor_of(a)
    dt = probe_dtype(np.trace, (x,), dtype=dtype)
    d1, d2 = normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim)
    if d1 == d2:
        raise Unsupported("axis1 and axis2 are the same (NumPy raises)")
    diagonal = torch.diagonal(x.to(dt), operator.index(offset), d1, d2)
    return torch.sum(diagonal, dim=-1).to(dt)


def _diag(v: Any, k: Any = 0) -> Tensor:
    """1-d: the matrix with ``v`` on diagonal ``k``; 2-d: a view of diagonal ``k``."""
    x = tensor_of(v)
    k = operator.index(k)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        result = torch.zeros((n, n), dtype=x.dtype, device=x.device)
        result.diagonal(k).copy_(x)
        return result
    if x.ndim == 2:
        return torch.diagonal(x, k)
    raise Unsupported("diag of ndim other than 1 or 2 (NumPy raises)")


# ---------------------------------------------------------------------------------------------
# numpy.linalg


def _vector_norm(x: Tensor, ord: Any, axis: int, keepdims: bool) -> Tensor:
    absx = torch.abs(x)
    if ord == math.inf:
        return lib.max_or_zero(absx, axis, keepdims)
    if ord == -math.inf:
        return torch.amin(absx, dim=axis, keepdim=keepdims)
    if ord == 0:
        return torch.sum((x != 0).to(x.dtype), dim=axis, keepdim=keepdims)
    if ord == 1:
        return torch.sum(absx, dim=axis, keepdim=keepdims)
    if ord is None or ord == 2:
        return torch.sqrt(torch.sum(x * x, dim=axis, keepdim=keepdims))
    if isinstance(ord, str):
        raise Unsupported("string ord for vectors (NumPy raises)")
    powered = apply(np.power, absx, ord).to(x.dtype)
    total = torch.sum(powered, dim=axis, keepdim=keepdims)
    return apply(np.power, total, np.reciprocal(ord, dtype=TORCH_TO_NP[total.dtype])).to(total.dtype)


def _singular_values(x: Tensor, rows: int, cols: int) -> Tensor:
    """Singular values computed in float64, like NumPy's svd (finite input only)."""
    require_finite(x)
    return torch.linalg.svdvals(torch.movedim(x, (rows, cols), (-2, -1)).to(torch.float64))


def _matrix_norm(x: Tensor, ord: Any, rows: int, cols: int) -> Tensor:
    absx = torch.abs(x)
    if ord in (2, -2, "nuc"):
        values = _singular_values(x, rows, cols).to(x.dtype)
        if ord == 2:
            return lib.max_or_zero(values, -1)
        return torch.amin(values, dim=-1) if ord == -2 else torch.sum(values, dim=-1)
    if ord in (1, -1):
        sums = torch.sum(absx, dim=rows)
        col = cols - 1 if cols > rows else cols
        return lib.max_or_zero(sums, col) if ord == 1 else torch.amin(sums, dim=col)
    if ord in (math.inf, -math.inf):
        sums = torch.sum(absx, dim=cols)
        row = rows - 1 if rows > cols else rows
        return lib.max_or_zero(sums, row) if ord == math.inf else torch.amin(sums, dim=row)
    if ord in (None, "fro", "f"):
        return torch.sqrt(torch.sum(x * x, dim=(rows, cols)))
    raise Unsupported("invalid norm order for matrices (NumPy raises)")


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: Any = False) -> Tensor:
    """``numpy.linalg.norm`` branch by branch (integers become float64 first)."""
    t = tensor_of(x)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    keep = flag(keepdims)
    if isinstance(ord, (list, tuple, np.ndarray, Tensor)):
        raise Unsupported("array ord")
    if axis is None and (ord is None or (ord in ("f", "fro") and t.ndim == 2) or (ord == 2 and t.ndim == 1)):
        flat = t.reshape(-1)
        result = torch.sqrt(torch.dot(flat, flat))
        return result.reshape([1] * t.ndim) if keep else result
    axes = tuple(range(t.ndim)) if axis is None else axis if isinstance(axis, tuple) else (int(axis),)
    if len(axes) == 1:
        return _vector_norm(t, ord, normalize_axis(axes[0], t.ndim), keep)
    if len(axes) != 2:
        raise Unsupported("improper number of dimensions to norm (NumPy raises)")
    rows, cols = normalize_axis(axes[0], t.ndim), normalize_axis(axes[1], t.ndim)
    if rows == cols:
        raise Unsupported("duplicate axes (NumPy raises)")
    result = _matrix_norm(t, ord, rows, cols)
    if keep:
        shape = list(t.shape)
        shape[rows] = shape[cols] = 1
        result = result.reshape(shape)
    return result


def _square_batch(a: Any) -> Tensor:
    x = tensor_of(a)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise Unsupported("not a (batch of) square matrices (NumPy raises)")
    return x


def _well_conditioned(matrix: Tensor) -> Tensor:
    """``matrix`` in float64, or Unsupported when a batch member is ill-conditioned (or holds
    NaN/inf): then NumPy decides, singular matrices included."""
    m64 = matrix.to(torch.float64)
    if m64.numel() and not bool(torch.isfinite(m64).all()):
        raise Unsupported("NaN or infinity (torch's cond raises, NumPy returns NaN)")
    if m64.numel() and not bool((torch.linalg.cond(m64) <= MAX_CONDITION).all()):
        raise Unsupported(f"condition number above {MAX_CONDITION:g}")
    return m64


def _inv(a: Any) -> Tensor:
    x = _square_batch(a)
    return torch.linalg.inv(_well_conditioned(x)).to(probe_dtype(np.linalg.inv, (x,)))


def _det(a: Any) -> Tensor:
    x = _square_batch(a)
    return lib.det(x.to(torch.float64)).to(probe_dtype(np.linalg.det, (x,)))


def _solve(a: Any, b: Any) -> Tensor:
    """NumPy 2: ``b`` is one vector if 1-d (a one-column matrix here), else a (batch of)
    matrices; both are padded to the same ndim, so that torch never reads ``b`` as a batch of
    vectors."""
    x = _square_batch(a)
    y = tensor_of(b, x.device)
    dt = probe_dtype(np.linalg.solve, (x, y))
    m = _well_conditioned(x)
    rhs = y.to(torch.float64)
    if y.ndim == 1:
        rhs = rhs[:, None]
    ndim = max(m.ndim, rhs.ndim)
    m, rhs = (t.reshape((1,) * (ndim - t.ndim) + tuple(t.shape)) for t in (m, rhs))
    result = torch.linalg.solve(m, rhs)
    return (result.squeeze(-1) if y.ndim == 1 else result).to(dt)


def _cholesky(a: Any, /, *, upper: Any = False) -> Tensor:
    """Symmetric, well-conditioned, positive definite input only (NumPy reads one triangle)."""
    x = _square_batch(a)
    m = _well_conditioned(x)
    if not torch.equal(m, m.mT):
        raise Unsupported("non-symmetric input")
    factor, info = torch.linalg.cholesky_ex(m, upper=flag(upper))
    if bool((info != 0).any()):
        raise Unsupported("not positive definite (NumPy raises)")
    return factor.to(probe_dtype(np.linalg.cholesky, (x,)))


def _qr(a: Any, mode: Any = "reduced") -> Any:
    x = tensor_of(a)
    if mode not in ("reduced", "complete", "r") or x.ndim < 2 or 0 in x.shape[-2:]:
        raise Unsupported("mode 'raw', or not a (batch of) non-empty matrices")
    dt = probe_dtype(np.linalg.qr, (x,), mode=mode)
    q, r = torch.linalg.qr(_well_conditioned(x), mode=mode)
    return r.to(dt) if mode == "r" else _QR_RESULT(q.to(dt), r.to(dt))


#: NumPy's named tuple of (Q, R), which code may read as ``.Q`` and ``.R``.
_QR_RESULT = type(np.linalg.qr(np.eye(1)))


def _eigvalsh(a: Any, UPLO: Any = "L") -> Tensor:
    x = _square_batch(a)
    if UPLO not in ("L", "U"):
        raise Unsupported("UPLO other than 'L' or 'U' (NumPy raises)")
    require_finite(x)
    values = torch.linalg.eigvalsh(x.to(torch.float64), UPLO=UPLO)
    return values.to(probe_dtype(np.linalg.eigvalsh, (x,)))


def _svdvals(x: Any, /) -> Tensor:
    t = tensor_of(x)
    if t.ndim < 2:
        raise Unsupported("not a (batch of) matrices (NumPy raises)")
    return _singular_values(t, -2, -1).to(probe_dtype(np.linalg.svdvals, (t,)))


def _svd(a: Any, full_matrices: Any = True, compute_uv: Any = True, hermitian: Any = False) -> Tensor:
    """Only the singular values: U and V are defined up to signs, which NumPy's LAPACK picks."""
    if flag(compute_uv) or flag(hermitian):
        raise Unsupported("singular vectors are not unique (signs): NumPy computes them")
    return _svdvals(a)


# ---------------------------------------------------------------------------------------------
# Lowerings
#
# Products are computed in NumPy's result dtype: floats directly (IEEE: a NaN or infinity times 0
# is NaN, where NumPy's BLAS may skip the zero products), integers in int64 and cast back (the
# wrap-around agrees), bools in float32 compared with 0 (a sum of 0/1 products is nonzero exactly
# when one term is: NumPy's OR of ANDs).  NumPy's linalg computes in float64 and casts back.


def _in_result_dtype(call: Call, operands: Sequence[Operand], product: Callable[..., str]) -> str:
    """``product`` of the operands (tensors, NumPy arrays made tensors), in NumPy's result dtype
    (see above)."""
    dtype = call.result_dtype
    work = dtype if dtype.is_floating_point else torch.float32 if dtype is torch.bool else torch.int64
    result = product(*(operand_source(call, op, work) for op in operands))
    if dtype is torch.bool:
        return f"{atom(result)} != 0"
    return cast(result, dtype, work)


def _lower_dot(args: Args) -> Emit:
    """A scalar operand multiplies; ``dot``/``matmul`` is NumPy's dot for (n-d, 1-d), (1-d, n-d) and
    (2-d, 2-d); otherwise the last axis of ``a`` meets the second-to-last of ``b`` (a tensordot,
    not a batched product)."""
    a, b = _product_operands_of(args)
    p, q = (array_value(op).ndim for op in (a, b))
    if p == 0 or q == 0:
        product = "{} * {}".format
    elif p == q == 1:  # what matmul would call, without its dispatch on ranks
        product = "torch.dot({}, {})".format
    elif q == 1 or p == 1 or (p, q) == (2, 2):
        product = "torch.matmul({}, {})".format
    else:
        return Emit(_in_result_dtype(args.call, (a, b),
                                     lambda x, y: f"lib.tensordot({x}, {y}, ([{p - 1}], [{q - 2}]))"))
    return Emit(_in_result_dtype(args.call, (a, b), product))


def _product_operands_of(args: Args) -> tuple[Operand, Operand]:
    """The two factors: arrays (NumPy ones too), at least one of them lifted."""
    a, b = args["a"], args["b"]
    if not (array_value(a) and array_value(b)) or not (a.array or b.array):
        raise Refuse("factors must be arrays, one of them lifted")
    return a, b


def _lower_vdot(args: Args) -> Emit:
    a, b = _product_operands_of(args)
    return Emit(_in_result_dtype(args.call, (a, b),
                                 lambda x, y: f"torch.dot({x}.reshape(-1), {y}.reshape(-1))"))


def _lower_inner(args: Args) -> Emit:
    """``torch.inner`` sums over the last axes as NumPy does (and multiplies by a scalar)."""
    a, b = _product_operands_of(args)
    return Emit(_in_result_dtype(args.call, (a, b), "torch.inner({}, {})".format))


def _lower_outer(args: Args) -> Emit:
    """NumPy's ``multiply`` of the flattened operands: no sum, so bools multiply as bools."""
    a, b = _product_operands_of(args)
    x, y = (atom(operand_source(args.call, op, args.call.result_dtype)) for op in (a, b))
    return Emit(f"torch.outer({x}.reshape(-1), {y}.reshape(-1))")


def _lower_tensordot(args: Args) -> Emit:
    (a, b), value = _product_operands_of(args), args.literal("axes")
    ranks = [array_value(op).ndim for op in (a, b)]
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise Refuse("axes must be an int or a pair (NumPy raises)")
        pairs = [tuple(v) if isinstance(v, (tuple, list)) else (v,) for v in value]
        dims = [[axis(i, ndim) for i in group] for group, ndim in zip(pairs, ranks)]
        if len(dims[0]) != len(dims[1]):
            raise Refuse("axes of different lengths (NumPy raises)")
    else:
        count = int_tuple(value)[0]
        if not 0 <= count <= min(ranks):
            raise Refuse("axes out of range (NumPy raises)")
        dims = [list(range(ranks[0] - count, ranks[0])), list(range(count))]
    return Emit(_in_result_dtype(args.call, (a, b),
                                 lambda x, y: f"lib.tensordot({x}, {y}, ({dims[0]}, {dims[1]}))"))


def _lower_einsum(call: Call) -> Emit:
    """Subscripts and lifted operands.  With ``optimize=`` NumPy may contract through tensordot,
    whose 0-d result is a 0-d ndarray: those stay in NumPy."""
    if not call.args or not call.args[0].is_literal or not isinstance(call.args[0].literal, str):
        raise Refuse("einsum without a literal subscripts string (the sublist form stays in NumPy)")
    optimize = call.kwargs["optimize"].literal if "optimize" in call.kwargs else False
    if set(call.kwargs) - {"optimize"} or (optimize is not False and _scalar(call)):
        raise Refuse("dtype=/casting=/order=, or optimize= with a 0-d result")
    operands = call.args[1:]
    if not all(array_value(op) for op in operands) or not any(op.array for op in operands):
        raise Refuse("operands must be arrays, one of them lifted")
    subscripts = source(call.args[0].literal)
    return Emit(_in_result_dtype(call, operands,
                                 lambda *xs: call_source("torch.einsum", subscripts, *xs)))


def _scalar(call: Call) -> bool:
    result = next(iter(call.result.options()))
    return isinstance(result, ArrayV) and result.ndim == 0


def _lower_trace(args: Args) -> Emit:
    """The diagonal summed in NumPy's result dtype (int32 sums in int64, as ``np.sum`` does)."""
    a = args.array("a")
    first, second = axis(args.literal("axis1"), a.ndim), axis(args.literal("axis2"), a.ndim)
    if first == second:
        raise Refuse("axis1 and axis2 are the same (NumPy raises)")
    offset = _int_argument(args["offset"]) if args.given("offset") else "0"
    dtype = dtype_source(args.call.result_dtype)
    return Emit(f"torch.diagonal({a.name}, {offset}, {first}, {second}).sum(-1, dtype={dtype})")


def _int_argument(op: Operand) -> str:
    """An int operand as source: its literal, or the placeholder of a Python int."""
    if op.is_literal and type(op.literal) is int:
        return str(op.literal)
    if python_number(op) is int and not op.is_literal:
        return op.name
    raise Refuse(f"{op.name} must be an int")


def _lower_diag(args: Args) -> Emit:
    """1-d: a new matrix with ``v`` on diagonal ``k``; 2-d: a view of diagonal ``k`` (read-only
    in NumPy, so the entry's ``copies_views`` keeps it from code that writes arrays)."""
    v = args.array("v")
    k = _int_argument(args["k"]) if args.given("k") else "0"
    if v.ndim == 1:
        return Emit(f"torch.diag({v.name}, {k})")
    if v.ndim == 2:
        return Emit(f"torch.diagonal({v.name}, {k})")
    raise Refuse("diag of ndim other than 1 or 2 (NumPy raises)")


def _lower_norm(args: Args) -> Emit:
    """``numpy.linalg.norm`` branch by branch, decided from the literal ``ord``, ``axis`` and
    ``keepdims``; integers become float64 first, singular values are computed in float64, maxima
    start at 0 (``lib.max_or_zero``: NumPy's ``initial=0``)."""
    x = args.array("x")
    order, where, keep = args.literal("ord"), args.literal("axis"), args.literal("keepdims")
    if type(keep) is not bool or isinstance(order, (list, tuple)):
        raise Refuse("keepdims must be a literal bool, ord a number or string")
    t = x.name if x.dtype.is_floating_point else cast(x.name, torch.float64)
    if where is None and (order is None or (order in ("f", "fro") and x.ndim == 2) or (order == 2 and x.ndim == 1)):
        total = f"torch.sqrt(torch.sum(torch.square({t})))"
        return Emit(f"{total}.reshape({source((1,) * x.ndim)})" if keep else total)
    dims = axes(tuple(range(x.ndim)) if where is None else where if isinstance(where, tuple) else (where,), x.ndim)
    if len(dims) == 1:
        return Emit(_vector_norm_source(t, order, dims[0], keep, TORCH_TO_NP[x.dtype] if x.dtype.is_floating_point
                                 else np.dtype(np.float64)))
    if len(dims) != 2:
        raise Refuse("improper number of dimensions to norm (NumPy raises)")
    result = _matrix_norm_source(t, order, *dims, dtype_source(args.call.result_dtype))
    if keep:
        result += "".join(f".unsqueeze({d})" for d in sorted(dims))
    return Emit(result)


def _vector_norm_source(t: str, order: Any, d: int, keep: bool, dtype: np.dtype) -> str:
    reduce = f"dim={d}, keepdim={keep}"
    if order == math.inf:
        return f"lib.max_or_zero(torch.abs({t}), {d}, {keep})"
    if order == -math.inf:
        return f"torch.amin(torch.abs({t}), {reduce})"
    if order == 0:
        return f"({t} != 0).to({dtype_source(NP_TO_TORCH[dtype])}).sum({reduce})"
    if order == 1:
        return f"torch.abs({t}).sum({reduce})"
    if order is None or order == 2:
        return f"torch.sqrt(torch.square({t}).sum({reduce}))"
    if isinstance(order, str) or type(order) not in (int, float):
        raise Refuse("invalid norm order for vectors (NumPy raises)")
    exponent = np.reciprocal(np.asarray(order, dtype)).item()  # NumPy's reciprocal(ord, dtype=ret.dtype)
    return f"(torch.abs({t}) ** {source(order)}).sum({reduce}) ** {source(exponent)}"


def _matrix_norm_source(t: str, order: Any, rows: int, cols: int, dtype: str) -> str:
    if order in (2, -2, "nuc"):
        values = f"torch.linalg.svdvals(torch.movedim({t}, ({rows}, {cols}), (-2, -1)).to(torch.float64)).to({dtype})"
        return {2: f"lib.max_or_zero({values}, -1)", -2: f"{values}.amin(-1)", "nuc": f"{values}.sum(-1)"}[order]
    if order in (1, -1):
        sums, other = f"torch.abs({t}).sum(dim={rows})", cols - 1 if cols > rows else cols
        return f"lib.max_or_zero({sums}, {other})" if order == 1 else f"{sums}.amin(dim={other})"
    if order in (math.inf, -math.inf):
        sums, other = f"torch.abs({t}).sum(dim={cols})", rows - 1 if rows > cols else rows
        return f"lib.max_or_zero({sums}, {other})" if order > 0 else f"{sums}.amin(dim={other})"
    if order in (None, "fro", "f"):
        return f"torch.sqrt(torch.square({t}).sum(dim=({rows}, {cols})))"
    raise Refuse("invalid norm order for matrices (NumPy raises)")


def _float64_linalg(function: str, *options: str) -> Callable[[Args], Emit]:
    """``numpy.linalg`` in float64, cast back to NumPy's result dtype (float32 for float32
    input).  torch checks LAPACK's status on the host: on CUDA that is a sync."""

    def lower(args: Args) -> Emit:
        a = lifted(next(iter(args.operands.values())))
        settings = {name: source(args.literal(name)) for name in options}
        return Emit(cast(call_source(function, cast(a.name, torch.float64, a.dtype), **settings),
                         args.call.result_dtype, torch.float64))

    lower.__name__ = f"_lower_{function.rsplit('.', 1)[1]}"
    return lower


def _lower_det(args: Args) -> Emit:
    """NumPy's ``sign * exp(logdet)`` of an LU factorization, 0 where LAPACK meets a zero pivot
    (``lib.det``: no status read on the host)."""
    a = args.array("a")
    return Emit(cast(f"lib.det({cast(a.name, torch.float64, a.dtype)})", args.call.result_dtype, torch.float64))


def _lower_svd(args: Args) -> Emit:
    """Only the singular values (``compute_uv=False``): singular vectors are defined up to sign."""
    if args.literal("compute_uv") is not False or args.literal("hermitian") is not False:
        raise Refuse("singular vectors are not unique (signs): NumPy computes them")
    return _float64_linalg("torch.linalg.svdvals")(args)


# ---------------------------------------------------------------------------------------------
# Registration


def _matrices(d: Any, *, square: bool, dtypes: tuple[str, ...] = NUMERIC) -> Lifted:
    """(Batches of) matrices, mostly well-conditioned (a dominant diagonal), now and then random,
    singular or holding NaN/inf."""
    n = d.integer(0, 4)
    m = n if square else d.integer(0, 4)
    lead = d.shape((0, 1), max_side=2)
    value = d.array(lead + (n, m), dtypes, d.choice(["small", "small", "finite", "any"]), lifted=False)
    if n == m and d.integer(0, 3):
        value = value + np.eye(n, dtype=value.dtype) * (4 * n + 1)
    return Lifted(value)


def _spd(d: Any) -> Lifted:
    """Symmetric positive (semi)definite matrices; now and then not symmetric."""
    n = d.integer(0, 4)
    base = d.array((n, n), FLOAT, "small", lifted=False)
    value = base @ base.T + np.eye(n, dtype=base.dtype) * d.choice([0, 1, 5])
    if d.integer(0, 4) == 0:
        value = value + np.triu(np.ones_like(value), 1)
    return Lifted(value)


def _product_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k = d.integer(0, 3)
    k2 = k if d.integer(0, 6) else k + 1
    left = d.choice([(), (k,), (2, k), (1, 2, k)])
    right = d.choice([(), (k2,), (k2, 3), (2, k2, 2)])
    return (d.array(left), d.array(right, lifted=None)), {}


def _inner_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k = d.integer(0, 3)
    k2 = k if d.integer(0, 6) else k + 1
    return (d.array(d.choice([(), (k,), (2, k), (1, 3, k)])), d.array(d.choice([(), (k2,), (3, k2)]), lifted=None)), {}


def _tensordot_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    a = d.array((2, 3, d.integer(0, 2)))
    form = d.choice([0, 1, 2, "pairs", "single"])
    b_shape = {0: (2,), 1: (a.value.shape[2], 2), 2: (3, a.value.shape[2]), "pairs": (3, 2),
               "single": (3, 4)}[form]
    axes = {"pairs": ([0, 1], [1, 0]), "single": (1, 0)}.get(form, form)
    b = d.array(b_shape, lifted=None)
    return ((a, b), {"axes": axes}) if d.integer(0, 1) else ((a, b, axes), {})


_EINSUM = {
    "i,i->": [(3,), (3,)], "i,i": [(2,), (2,)], "ij->j": [(2, 3)], "ij->": [(2, 3)], "ij,jk->ik": [(2, 3), (3, 2)],
    "ij,kj->ik": [(2, 3), (4, 3)], "ii->i": [(3, 3)], "ij->ji": [(2, 3)], "bij,bjk->bik": [(2, 2, 3), (2, 3, 1)],
    "...i,...i->...": [(2, 3), (2, 3)], "i,j->ij": [(2,), (3,)], "ii": [(2, 2)], "i->": [(0,)],
}


def _einsum_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    subscripts = d.choice(sorted(_EINSUM))
    values = d.choice(["finite", "any"])
    arrays = [d.array(shape, ALL, values, True if i == 0 else None) for i, shape in enumerate(_EINSUM[subscripts])]
    kwargs = {"optimize": d.choice([False, True])} if d.integer(0, 1) else {}
    return (subscripts, *arrays), kwargs


def _trace_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = d.array(d.shape((2, 3)))
    kwargs = {k: v for k, v in (("offset", d.choice([0, 1, -1, 5])), ("axis1", d.choice([0, -1, 1])),
                                 ("axis2", d.choice([1, 0, -2])), ("dtype", d.choice([None, "float64", "int32"])))
              if d.integer(0, 1)}
    return (x,), kwargs


def _diag_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = d.array(d.shape((1, 3)))
    return ((x, d.choice([0, 1, -2, 4])) if d.integer(0, 1) else (x,)), {}


def _norm_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = d.shape((0, 3))
    x = d.array(shape, ALL, d.choice(["finite", "any", "small"]))
    ndim = len(shape)
    axis = d.choice([None, None, 0, -1, (0, 1), (1, 0), (-1, 0), (0,), 2] if ndim else [None])
    matrix = axis is not None and isinstance(axis, tuple) and len(axis) == 2 or (axis is None and ndim == 2)
    ords = [None, 1, -1, 2, -2, math.inf, -math.inf, "fro", "nuc"] if matrix else [None, 0, 1, -1, 2, 3, 0.5, math.inf,
                                                                                    -math.inf, "fro"]
    kwargs = {"ord": d.choice(ords), "axis": axis, "keepdims": d.choice([False, True])}
    return (x,), {k: v for k, v in kwargs.items() if d.integer(0, 3)}


def _solve_operands(d: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    a = _matrices(d, square=True)
    n = a.value.shape[-1]
    b_shape = d.choice([(n,), (n, 2), a.value.shape[:-1] + (1,), (n + 1,)])
    return (a, d.array(b_shape, NUMERIC, "small", lifted=None)), {}


def _of_matrix(args: Sequence[AV]) -> bool:
    """``np.diag`` of a matrix is a read-only view: a write through it raises in NumPy, while
    torch's view writes into the operand (so code that writes arrays keeps the call in NumPy)."""
    return not args or any(not isinstance(o, ArrayV) or o.ndim != 1 for o in args[0].options())


def _identity_probe(value: AV) -> Any:
    """A matrix operand stands in as (a batch of) identity matrices, which every function here
    accepts (the default probes of ones are singular)."""
    array = operand(value)
    if array.ndim < 2:
        return np.ones((2,) * array.ndim, dtype=array.dtype)
    return np.broadcast_to(np.eye(2, dtype=array.dtype), (2,) * array.ndim).copy()


def _infer_on_identity(reference: Callable[..., Any]) -> Callable[..., AV]:
    def infer(args: Sequence[AV], kwargs: Mapping[str, AV]) -> AV:
        if not all(isinstance(v, ConstV) for v in kwargs.values()):
            raise Refusal("keyword arguments must be literals")
        try:
            result = reference(*map(_identity_probe, args), **{k: v.value for k, v in kwargs.items()})
        except Exception as exc:
            raise Refusal(f"NumPy raises {type(exc).__name__} for these operand types") from None
        return result_value(result)

    return infer


def _linalg(name: str, impl: Callable[..., Any], torch_name: str, cases: tuple[Any, ...], notes: str,
            forms: str = "(batches of) square matrices", lower: Callable[[Args], Emit] | None = None) -> None:
    reference = getattr(np.linalg, name)
    register_numpy(name, impl, namespace=np.linalg, torch_name=torch_name, forms=forms, notes=notes,
                   infer=_infer_on_identity(reference), cases=cases,
                   lower=bound(impl, lower) if lower is not None else None,
                   numpy_only="" if lower is not None else _CONDITION_DEPENDENT)


_LAPACK_SYNC = "on CUDA torch reads LAPACK's status to raise on failure (a sync)"
_DOT_NOTE = ("NaN/inf operands: IEEE result (NumPy's BLAS may drop NaN·0 terms); integers in int64 and cast back (wraps like NumPy; torch has no integer products "
             "on CUDA, where such calls raise and NumPy runs them), bool as any-of-ANDs; out= goes to NumPy")
register_numpy("dot", _dot, method=True, torch_name="torch.matmul, or torch.tensordot (last axis, second-to-last)",
               forms="scalars, 1-d, n-d (NumPy's dot, not matmul)", notes=_DOT_NOTE,
               cases=(custom(_product_operands, tolerance="dot"),), lower=bound(_dot, _lower_dot))
register_numpy("vdot", _vdot, torch_name="torch.dot of the flattened operands", forms="any shapes of equal size",
               notes=_DOT_NOTE, cases=(custom(_product_operands, tolerance="dot"),
                                       case(Arr(group="v"), Arr(group="v", lifted=None), tolerance="dot")),
               lower=bound(_vdot, _lower_vdot))
register_numpy("inner", _inner, torch_name="torch.inner", forms="scalars, 1-d, n-d",
               notes=_DOT_NOTE, cases=(custom(_inner_operands, tolerance="dot"),), lower=bound(_inner, _lower_inner))
register_numpy("outer", _outer, torch_name="torch.outer of the flattened operands",
               forms="any shapes (flattened)", notes="out= goes to NumPy",
               cases=(case(Arr(), Arr(lifted=None)),), lower=bound(_outer, _lower_outer))
register_numpy("tensordot", _tensordot, torch_name="torch.tensordot", forms="axes int or pair of sequences",
               notes="a 0-d result is a 0-d ndarray in NumPy and goes to NumPy; " + _DOT_NOTE,
               check=literal_arguments(_tensordot, "axes"), cases=(custom(_tensordot_operands, tolerance="dot"),),
               lower=bound(_tensordot, _lower_tensordot))
register_numpy("einsum", _einsum, torch_name="torch.einsum", forms="subscripts string and operands, optimize=",
               notes="the sublist form, dtype=/casting=/order=/out= go to NumPy; " + _DOT_NOTE +
                     "; 'ij->ji' and 'ii->i' give a copy where NumPy returns a view; 0-d results with "
                     "optimize= go to NumPy (it may return a 0-d ndarray)",
               cases=(custom(_einsum_operands, tolerance="dot"),), copies_views=always, lower=_lower_einsum)
register_numpy("trace", _trace, method=True, torch_name="torch.diagonal(...).sum(-1)",
               forms="offset, axis1, axis2, dtype=", notes="out= goes to NumPy",
               cases=(custom(_trace_operands, tolerance="sum"),), lower=bound(_trace, _lower_trace))
register_numpy("diag", _diag, torch_name="torch.diagonal / a zero matrix with its diagonal set",
               forms="1-d (build) and 2-d (extract, a view), k",
               notes="other ndims go to NumPy (it raises); the 2-d view is read-only in NumPy (a write raises), so "
                     "code that writes arrays keeps it in NumPy",
               cases=(custom(_diag_operands),), lower=bound(_diag, _lower_diag), copies_views=_of_matrix)
register_numpy("norm", _norm, namespace=np.linalg, torch_name="NumPy's norm formulas on tensors",
               forms="ord None/'fro'/'nuc'/inf/-inf/0/±1/±2/p, axis None/int/pair, keepdims",
               notes="integer input becomes float64 as in NumPy; 2/-2/'nuc' use singular values computed in "
                     f"float64 ({_LAPACK_SYNC}); array ord goes to NumPy",
               check=literal_arguments(_norm, "axis", "keepdims"),
               cases=(custom(_norm_operands, tolerance="std"),), lower=bound(_norm, _lower_norm),
               rank_free=full_reduction(_norm, "ord", "axis", "keepdims"))
_CONDITION_DEPENDENT = ("where a matrix is (nearly) singular, a property of its values, NumPy's LAPACK and torch's "
                        "disagree about raising and differ by about cond·eps: a check would read the data")
_CONDITION_NOTE = f"matrices with condition number above {MAX_CONDITION:g} (singular ones included) go to NumPy"
_linalg("inv", _inv, "torch.linalg.inv (float64)", (custom(lambda d: ((_matrices(d, square=True),), {}),
                                                           tolerance="linalg"),), _CONDITION_NOTE)
_linalg("det", _det, "torch.linalg.lu_factor_ex (float64), NumPy's sign·exp(logdet)", (custom(lambda d: ((_matrices(d, square=True),), {}),
                                                           tolerance="det"),),
        "NumPy's sign·exp(logdet) of LAPACK's LU, 0 at a zero pivot (a NaN past it does not count); "
        "NaN/inf operands: IEEE result (NumPy's BLAS may drop NaN·0 terms), which decides the pivots there",
        lower=_lower_det)
_linalg("solve", _solve, "torch.linalg.solve (float64)", (custom(_solve_operands, tolerance="linalg"),),
        _CONDITION_NOTE, forms="b a vector (1-d) or a (batch of) matrices, broadcasting batches")
_linalg("cholesky", _cholesky, "torch.linalg.cholesky_ex (float64)",
        (custom(lambda d: ((_spd(d),), {"upper": d.choice([False, True])} if d.integer(0, 1) else {}),
                tolerance="linalg"),),
        "non-symmetric, non-positive-definite and " + _CONDITION_NOTE, forms="upper=")
_linalg("qr", _qr, "torch.linalg.qr (float64)",
        (custom(lambda d: ((_matrices(d, square=d.integer(0, 1) == 1),),
                           {"mode": d.choice(["reduced", "complete", "r", "raw"])} if d.integer(0, 2) else {}),
                tolerance="linalg"),),
        "mode 'raw', empty and " + _CONDITION_NOTE, forms="mode reduced/complete/r; QRResult like NumPy")
_linalg("eigvalsh", _eigvalsh, "torch.linalg.eigvalsh (float64)",
        (custom(lambda d: ((_matrices(d, square=True, dtypes=FLOAT),), {"UPLO": d.choice(["L", "U"])}),
                tolerance="linalg"),), "eigh (vectors defined up to sign) is not in the registry; " + _LAPACK_SYNC,
        lower=_float64_linalg("torch.linalg.eigvalsh", "UPLO"))
_linalg("svdvals", _svdvals, "torch.linalg.svdvals (float64)",
        (custom(lambda d: ((_matrices(d, square=False),), {}), tolerance="linalg"),), _LAPACK_SYNC,
        lower=_float64_linalg("torch.linalg.svdvals"))
_linalg("svd", _svd, "torch.linalg.svdvals (float64)",
        (custom(lambda d: ((_matrices(d, square=False),), {"compute_uv": d.choice([False, True])}),
                tolerance="linalg"),),
        "compute_uv=True (the default) goes to NumPy: singular vectors are defined up to sign; " + _LAPACK_SYNC,
        forms="compute_uv=False", lower=_lower_svd)
