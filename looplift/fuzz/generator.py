"""Hypothesis strategies that write random small looplift programs, with their inputs.

A program is the text of a module: a few opaque helper functions and one function ``f(xs, w, k)``
whose loops mix torch and NumPy.  ``xs`` is a list of tensors, ``w`` one more tensor, ``k`` an
int (the iteration at which a generated ``raise`` or early ``return`` fires).

Validity comes from simulation: the generator keeps a *dummy* value for every variable (the
real first-iteration value, computed from the real inputs) and checks each expression and
statement by running it on the dummies before it writes it.  So a program is valid Python whose
operations apply to the types they meet; the rare program that still raises (a later
iteration, a value-dependent error, or one of the deliberately invalid choices) is a test too:
the decorated function must raise the same exception type.  Programs are deterministic: no
randomness, no clocks, no I/O but ``print``.

Everything is drawn through Hypothesis, so a failing program shrinks to a small one: statement
counts shrink to their minimum, choices to the first (simplest) option, rare features to off.
"""
from __future__ import annotations

import contextlib
import functools
import io
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
import torch
from hypothesis import strategies as st

# ---------------------------------------------------------------------------------------------
# Inputs

DTYPES = ("float32", "float64", "int32", "int64", "bool")
FLOATS = ("float32", "float64")
try:  # the cost model's size classes
    from looplift.signature import SMALL_NUMEL
except ImportError:  # pragma: no cover
    SMALL_NUMEL = 1 << 14
try:
    from looplift.signature import LARGE_NUMEL
except ImportError:  # pragma: no cover - a cost model with one threshold
    LARGE_NUMEL = SMALL_NUMEL

SMALL_SHAPES: tuple[tuple[int, ...], ...] = ((3,), (2, 3), (), (1,), (5,))
#: Between the cost model's thresholds: lifted on the CPU only under ``LOOPLIFT_LIFT=always``.
MEDIUM_SHAPES: tuple[tuple[int, ...], ...] = ((SMALL_NUMEL,), (SMALL_NUMEL // 128 + 2, 128))
#: At least ``LARGE_NUMEL`` elements: the CPU cost model lifts these by itself.
LARGE_SHAPES: tuple[tuple[int, ...], ...] = ((LARGE_NUMEL,), (LARGE_NUMEL // 128 + 2, 128),
                                             (LARGE_NUMEL + 3616,))
SIZES = {"small": SMALL_SHAPES, "medium": MEDIUM_SHAPES, "large": LARGE_SHAPES}
_OTHER_SHAPE = {MEDIUM_SHAPES[0]: (SMALL_NUMEL + 3616,), MEDIUM_SHAPES[1]: MEDIUM_SHAPES[1][::-1],
                LARGE_SHAPES[0]: LARGE_SHAPES[2], LARGE_SHAPES[2]: LARGE_SHAPES[0],
                LARGE_SHAPES[1]: LARGE_SHAPES[1][::-1], (3,): (5,), (5,): (3,), (2, 3): (3, 2)}
_SMALL_OF_NDIM = {1: (5,), 2: (2, 3)}
_OTHER_DTYPE = {"float32": "float64", "float64": "float32", "int32": "int64", "int64": "float32",
                "bool": "int64"}


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor: dtype, shape, requires_grad (floats only)."""

    dtype: str
    shape: tuple[int, ...]
    requires_grad: bool = False

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def make(self, rng: np.random.Generator, device: str = "cpu", grid: bool = True) -> torch.Tensor:
        """Deterministic values: floats on a 1/8 grid in [-2, 2] (exact sums, exact zeros) or,
        with ``grid=False``, uniform in [-2, 2] (every sum rounds, so the order of summation
        shows), ints in [-4, 4], bools half true."""
        if self.dtype in FLOATS:
            values = rng.integers(-16, 17, size=self.shape) / 8 if grid else rng.uniform(-2, 2, size=self.shape)
        elif self.dtype == "bool":
            values = rng.integers(0, 2, size=self.shape).astype(bool)
        else:
            values = rng.integers(-4, 5, size=self.shape)
        tensor = torch.from_numpy(np.array(values, dtype=self.dtype))
        if device != "cpu":
            tensor = tensor.to(device)
        if self.requires_grad and self.dtype in FLOATS:
            tensor.requires_grad_(True)
        return tensor

    def code(self) -> str:
        return f"TensorSpec({self.dtype!r}, {self.shape!r}, requires_grad={self.requires_grad})"


@dataclass(frozen=True)
class InputSpec:
    """The arguments ``(xs, w, k)`` of a generated function, as a recipe.

    ``hetero``: ``"dtype"`` gives the last element of ``xs`` another dtype, ``"grad"`` makes it
    require grad, ``"size"`` makes it small (the specialization key reads the first element only)."""

    x: TensorSpec
    n: int
    w: TensorSpec
    k: int
    seed: int
    hetero: str = "none"
    device: str = "cpu"
    lift: str = "auto"
    """``LOOPLIFT_LIFT`` while the program runs: ``auto`` (the cost model decides) or
    ``always`` (lift whatever the size, as on an accelerator)."""
    grid: bool = True
    """Floats on the 1/8 grid (exact arithmetic) or off it (``TensorSpec.make``)."""

    def element_specs(self, x: TensorSpec | None = None) -> list[TensorSpec]:
        x = x or self.x
        specs = [x] * self.n
        if self.n >= 2 and self.hetero == "dtype":
            specs[-1] = replace(x, dtype=_OTHER_DTYPE[x.dtype], requires_grad=False)
        elif self.n >= 2 and self.hetero == "grad" and x.dtype in FLOATS:
            specs[-1] = replace(x, requires_grad=True)
        elif self.n >= 2 and self.hetero == "size":
            specs[-1] = replace(x, shape=_SMALL_OF_NDIM.get(len(x.shape), x.shape))
        return specs

    def build(self, variant: int = 0) -> tuple[list[torch.Tensor], torch.Tensor, int]:
        """Fresh inputs.  Variants 0 and 1 differ in values only (the second call hits the
        cache); variant 2 also changes the shapes, keeping dtype, ndim and size class (shapes
        are not part of the specialization key)."""
        rng = np.random.default_rng([self.seed, variant])
        x, w = self.x, self.w
        if variant >= 2:
            x = replace(x, shape=_OTHER_SHAPE.get(x.shape, x.shape))
            w = replace(w, shape=x.shape) if w.shape == self.x.shape else w
        xs = [spec.make(rng, self.device, self.grid) for spec in self.element_specs(x)]
        return xs, w.make(rng, self.device, self.grid), self.k

    @property
    def size(self) -> str:
        numel = max(self.x.numel, self.w.numel)
        return "small" if numel < SMALL_NUMEL else "medium" if numel < LARGE_NUMEL else "large"

    @property
    def large(self) -> bool:
        return self.size == "large"

    def code(self) -> str:
        """Python that rebuilds these inputs (for a regression test)."""
        device = f", device={self.device!r}" if self.device != "cpu" else ""
        return (f"InputSpec(x={self.x.code()}, n={self.n}, w={self.w.code()}, k={self.k}, "
                f"seed={self.seed}, hetero={self.hetero!r}{device}, lift={self.lift!r}, grid={self.grid!r}).build()")


@st.composite
def tensor_specs(draw: Any, size: str, like: TensorSpec | None = None) -> TensorSpec:
    if like is None:
        shape = draw(st.sampled_from(SIZES[size]))
        dtype = draw(st.sampled_from(DTYPES))
    else:  # w: the same shape or one that broadcasts with anything
        shape = draw(st.sampled_from([like.shape, (), (1,)]))
        dtype = like.dtype if draw(st.integers(0, 3)) < 3 else draw(st.sampled_from(DTYPES))
    grad = dtype in FLOATS and draw(st.integers(0, 5)) == 5
    return TensorSpec(dtype, shape, grad)


@st.composite
def input_specs(draw: Any, device: str = "cpu") -> InputSpec:
    """Inputs on ``device`` (on an accelerator the cost model lifts every size).

    Sizes: ~50% small, ~20% medium, ~30% large; ``LOOPLIFT_LIFT=always`` for ~half of the
    programs, so that the lifted code runs on every size and shape (0-d included), the cost
    model's own choice (large lifts, small and medium only hoist) for the others; floats off the
    1/8 grid for a third of the programs."""
    size = draw(st.sampled_from(["small"] * 5 + ["medium"] * 2 + ["large"] * 3))
    x = draw(tensor_specs(size))
    w = draw(tensor_specs(size, like=x))
    n = draw(st.sampled_from([2, 3, 1, 4, 0]))
    k = draw(st.integers(0, n + 1))
    hetero = draw(st.sampled_from(["none"] * 6 + ["dtype", "grad", "size"]))
    seed = draw(st.integers(0, 2**16))
    lift = draw(st.sampled_from(["auto", "always"]))
    grid = draw(st.sampled_from([True, True, False]))
    return InputSpec(x, n, w, k, seed, hetero, device, lift, grid)


# ---------------------------------------------------------------------------------------------
# The module around the generated function

HELPERS_SOURCE = '''\
import numpy as np
import torch


def h_id(v):
    return v


def h_scale(v):
    return v * 2


def h_np(v):
    return np.asarray(v) + 1


def h_show(v):
    print("show", type(v).__name__, getattr(v, "dtype", None), tuple(np.shape(v)))
    return v


def h_bump(v):
    v += 1
    return v


def h_pair(a, b):
    return (a, b)


STATE = []
'''


@functools.lru_cache(maxsize=1)
def _helper_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "looplift_fuzz_helpers"}
    exec(compile(HELPERS_SOURCE, "<looplift-fuzz-helpers>", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------------------------------------
# Operations, from the registry where it has them

OPERATOR_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
                    "pow": "**", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
                    "and_": "&", "or_": "|", "xor": "^", "lshift": "<<", "rshift": ">>", "matmul": "@"}
UNARY_OPERATORS = {"neg": "-{0}", "pos": "+{0}", "invert": "~{0}", "abs": "abs({0})"}
#: Always generated, in the registry or not (a NumPy operation the registry lacks is materialized).
BASIC_BINARY = ("{0} + {1}", "{0} * {1}", "{0} - {1}", "{0} / {1}", "{0} > {1}")
BASIC_UNARY = ("np.exp({0})", "np.log({0})", "np.sqrt({0})", "np.abs({0})", "-{0}")
#: Call forms of the registry's non-ufunc NumPy functions, by registry name (``numpy.<name>``).
#: Only forms whose result stays small: nothing like ``np.outer``/``np.diag`` of a 20000-vector.
NUMPY_FORMS: dict[str, tuple[str, ...]] = {
    "sum": ("np.sum({0})", "np.sum({0}, axis=0)", "np.sum({0}, axis=-1, keepdims=True)", "np.sum({0}, dtype=np.float64)"),
    "mean": ("np.mean({0})", "np.mean({0}, axis=0)", "np.mean({0}, axis=-1, keepdims=True)"),
    "max": ("np.max({0})", "np.max({0}, axis=-1)"), "min": ("np.min({0})", "np.min({0}, axis=0)"),
    "amax": ("np.amax({0})",), "amin": ("np.amin({0})",),
    "prod": ("np.prod({0})", "np.prod({0}, axis=0)"), "std": ("np.std({0})", "np.std({0}, ddof=1)"),
    "var": ("np.var({0})", "np.var({0}, axis=0)"), "median": ("np.median({0})",),
    "percentile": ("np.percentile({0}, 25)",), "quantile": ("np.quantile({0}, 0.5)",),
    "average": ("np.average({0})",), "ptp": ("np.ptp({0})",), "count_nonzero": ("np.count_nonzero({0})",),
    "all": ("np.all({0})", "np.all({0} > 0, axis=0)"), "any": ("np.any({0} > 1)", "np.any({0})"),
    "argmax": ("np.argmax({0})", "np.argmax({0}, axis=-1)"), "argmin": ("np.argmin({0})",),
    "argsort": ("np.argsort({0})", "np.argsort({0}, kind='stable')"), "sort": ("np.sort({0})", "np.sort({0}, axis=0)"),
    "unique": ("np.unique({0})",), "cumsum": ("np.cumsum({0})", "np.cumsum({0}, axis=0)"),
    "cumprod": ("np.cumprod({0})",), "clip": ("np.clip({0}, -1, 1)", "np.clip({0}, 0, None)", "np.clip({0}, {1}, 2)"),
    "where": ("np.where({0} > 0, {0}, 0)", "np.where({0}, {1}, -1)", "np.where({0} > {1}, {0}, {1})"),
    "round": ("np.round({0})", "np.round({0}, 2)"), "around": ("np.around({0}, 1)",),
    "nan_to_num": ("np.nan_to_num({0})",), "nansum": ("np.nansum({0})",), "nanmean": ("np.nanmean({0})",),
    "nanmax": ("np.nanmax({0})",), "nanmin": ("np.nanmin({0})",),
    "isclose": ("np.isclose({0}, {1})",), "allclose": ("np.allclose({0}, {1})",),
    "array_equal": ("np.array_equal({0}, {1})",),
    "concatenate": ("np.concatenate([{0}, {1}])", "np.concatenate([{0}, {1}], axis=-1)"),
    "stack": ("np.stack([{0}, {1}])",), "hstack": ("np.hstack([{0}, {1}])",), "vstack": ("np.vstack([{0}, {1}])",),
    "column_stack": ("np.column_stack([{0}, {1}])",),
    "reshape": ("np.reshape({0}, -1)", "np.reshape({0}, (1, -1))"), "ravel": ("np.ravel({0})",),
    "squeeze": ("np.squeeze({0})",), "expand_dims": ("np.expand_dims({0}, 0)",), "transpose": ("np.transpose({0})",),
    "swapaxes": ("np.swapaxes({0}, 0, -1)",), "moveaxis": ("np.moveaxis({0}, 0, -1)",), "flip": ("np.flip({0})",),
    "roll": ("np.roll({0}, 1)",), "repeat": ("np.repeat({0}, 2)",), "tile": ("np.tile({0}, 2)",),
    "dot": ("np.dot({0}, {1})",), "vdot": ("np.vdot({0}, {1})",), "inner": ("np.inner({0}, {1})",),
    "tensordot": ("np.tensordot({0}, {1})",), "linalg.norm": ("np.linalg.norm({0})", "np.linalg.norm({0}, axis=-1)"),
    "zeros_like": ("np.zeros_like({0})",), "ones_like": ("np.ones_like({0})",), "full_like": ("np.full_like({0}, 2)",),
    "copy": ("np.copy({0})",), "ascontiguousarray": ("np.ascontiguousarray({0})",),
    "searchsorted": ("np.searchsorted(np.sort({0}), 0)",), "nonzero": ("np.nonzero({0})",),
    "flatnonzero": ("np.flatnonzero({0})",), "argwhere": ("np.argwhere({0})",), "array_split": ("np.array_split({0}, 2)",),
    "trace": ("np.trace({0})",), "float32": ("np.float32({0})",), "float64": ("np.float64({0})",),
    "int64": ("np.int64({0})",), "int32": ("np.int32({0})",), "int16": ("np.int16({0})",), "uint8": ("np.uint8({0})",),
}
#: Call forms of ``ndarray`` methods (registry ``ndarray.<name>``); attributes are ``{0}.<name>``.
METHOD_FORMS: dict[str, tuple[str, ...]] = {
    "sum": ("{0}.sum()", "{0}.sum(axis=0)", "{0}.sum(axis=-1, keepdims=True)"), "mean": ("{0}.mean()", "{0}.mean(axis=-1)"),
    "max": ("{0}.max()", "{0}.max(axis=0)"), "min": ("{0}.min()",), "std": ("{0}.std()",), "var": ("{0}.var(ddof=1)",),
    "prod": ("{0}.prod()",), "argmax": ("{0}.argmax()",), "argmin": ("{0}.argmin(axis=-1)",),
    "argsort": ("{0}.argsort()",), "cumsum": ("{0}.cumsum()",), "cumprod": ("{0}.cumprod(axis=0)",),
    "clip": ("{0}.clip(-1, 1)", "{0}.clip(min=0)"), "round": ("{0}.round(1)",),
    "reshape": ("{0}.reshape(-1)", "{0}.reshape(1, -1)"), "ravel": ("{0}.ravel()",), "flatten": ("{0}.flatten()",),
    "squeeze": ("{0}.squeeze()",), "transpose": ("{0}.transpose()",), "swapaxes": ("{0}.swapaxes(0, -1)",),
    "repeat": ("{0}.repeat(2)",), "tolist": ("{0}.tolist()",), "nonzero": ("{0}.nonzero()",),
    "dot": ("{0}.dot({1})",), "trace": ("{0}.trace()",), "item": ("{0}.item()",), "any": ("{0}.any()",),
    "all": ("{0}.all()",), "copy": ("{0}.copy()",), "searchsorted": ("{0}.searchsorted(0)",),
    "astype": ("{0}.astype(np.float32)", "{0}.astype(np.float64)", "{0}.astype(np.int64)", "{0}.astype(bool)",
               "{0}.astype(np.int16)", "{0}.astype(np.float32, copy=False)"),
}
#: NumPy that is generated whether or not the registry has it.
REDUCTIONS = ("np.sum({0})", "np.mean({0})", "np.max({0})", "np.min({0})", "{0}.sum()", "{0}.mean()",
              "{0}.max()", "{0}.min()", "np.sum({0}, axis=-1)", "{0}.sum(axis=0)", "np.any({0} > 0)",
              "np.all({0} < 1)", "np.cumsum({0})", "np.prod({0})", "{0}.std()", "np.argmax({0})", "np.diff({0})")
METHODS = ("{0}.astype(np.float32)", "{0}.astype(np.float64)", "{0}.astype(np.int64)",
           "{0}.astype(bool)", "{0}.copy()", "np.clip({0}, -1, 1)", "np.where({0} > 0, {0}, 0)",
           "{0}.reshape(-1)", "{0}.T", "np.round({0})", "{0}.clip(-1, 1)", "np.square({0})", "len({0})",
           "{0}.shape", "{0}.ndim", "{0}.size", "{0}.dtype")
SUBSCRIPTS = ("{0}[0]", "{0}[1:]", "{0}[::2]", "{0}[{0} > 0]", "{0}[..., -1]", "{0}[-1]", "{0}[None]",
              "{0}[:, 0]", "{0}[{1}]", "{0}[:2]")
TORCH_OPS = ("torch.exp({0})", "torch.sum({0})", "{0}.float()", "{0}.double()", "{0}.abs()",
             "torch.clamp({0}, -1, 1)", "{0}.clone()", "{0}.detach()", "torch.sqrt({0})", "{0}.sum()",
             "{0}.mean()", "torch.where({0} > 0, {0}, 0)", "{0}.long()", "{0} * 2", "{0}.add(1)",
             "torch.cat([{0}, {1}])", "{0}.tolist()", "{0}.shape")
SCALARS = ("float({0})", "{0}.item()", "int({0})", "bool({0})")
HELPER_CALLS = ("h_id({0})", "h_scale({0})", "h_np({0})", "h_show({0})", "h_bump({0})", "h_pair({0}, {1})[0]")
LITERALS = ("1", "2", "0.5", "-1", "3", "2.0", "True", "0", "300", "2**40", "1e30", "np.nan", "np.float32(2)",
            "np.int64(3)", "-0.0", "np.inf", "False", "0.1")


def _is_tensor(v: Any) -> bool:
    return isinstance(v, torch.Tensor)


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray)


def _array_or_scalar(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic))


#: (template, which operands it takes): the conversions of the issue, every kind.
CONVERSIONS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("{0}.numpy()", _is_tensor),
    ("{0}.detach().cpu().numpy()", _is_tensor),
    ("np.asarray({0})", _is_tensor),
    ("np.array({0})", _is_tensor),
    ("torch.from_numpy({0})", _is_array),
    ("torch.tensor({0})", _array_or_scalar),
    ("{0}.detach().numpy()", _is_tensor),
    ("{0}.cpu().numpy()", _is_tensor),
    ("torch.as_tensor({0})", _is_array),
    ("np.asarray({0}, dtype=np.float64)", _is_tensor),
)
INPLACE_TENSOR = ("{0}.add_(1)", "{0}.mul_(2)", "{0}.clamp_(-1, 1)", "{0}.zero_()", "{0}.neg_()",
                  "{0}.add_({1})")
INPLACE_ARRAY = ("{0} += 1", "{0} *= 2", "{0} -= {1}", "{0}[...] = 0", "{0}[0] = 1",
                 "np.add({0}, 1, out={0})", "{0}.fill(1)", "np.clip({0}, -1, 1, out={0})", "{0} /= 2",
                 "{0} += {1}", "{0}[{0} > 1] = 0", "{0}[0] = {1}", "{0}.sort()", "np.copyto({0}, {1})",
                 "{0} **= 2", "{0} //= 2")


@functools.lru_cache(maxsize=1)
def operation_tables() -> dict[str, tuple[str, ...]]:
    """Templates by kind: the registry's entries (``looplift.registry.entries()``) in the forms
    above, plus the basic ones that are generated in any case."""
    try:
        from looplift import registry
        entries = {entry.key: entry for entry in registry.entries()}
    except Exception:  # pragma: no cover - the registry is part of looplift
        entries = {}
    unary: list[str] = list(BASIC_UNARY)
    binary: list[str] = list(BASIC_BINARY)
    numpy_calls: list[str] = list(REDUCTIONS)
    methods: list[str] = list(METHODS)
    for key, entry in entries.items():
        space, _, name = key.partition(".")
        if space == "operator" and name in OPERATOR_SYMBOLS:
            binary.append("{0} %s {1}" % OPERATOR_SYMBOLS[name])
        elif space == "operator" and name in UNARY_OPERATORS:
            unary.append(UNARY_OPERATORS[name])
        elif space == "numpy" and isinstance(getattr(np, name, None), np.ufunc):
            nin = getattr(np, name).nin
            if nin == 1:
                unary.append(f"np.{name}({{0}})")
            elif nin == 2 and name != "matmul":
                binary.append(f"np.{name}({{0}}, {{1}})")
        elif space == "numpy" and name in NUMPY_FORMS:
            numpy_calls.extend(NUMPY_FORMS[name])
        elif space == "ndarray" and name.isidentifier():
            if entry.attribute:
                methods.append(f"{{0}}.{name}")
            else:
                methods.extend(METHOD_FORMS.get(name, (f"{{0}}.{name}()",)))
        elif key == "builtins.len":
            methods.append("len({0})")
    dedup = lambda items: tuple(dict.fromkeys(items))  # noqa: E731
    return {"unary": dedup(unary), "binary": dedup(binary), "reduce": dedup(numpy_calls),
            "method": dedup(methods), "subscript": SUBSCRIPTS, "torch": TORCH_OPS, "scalar": SCALARS,
            "helper": HELPER_CALLS}


@functools.lru_cache(maxsize=65536)
def _atomic(text: str) -> bool:
    """Whether ``text`` needs no parentheses as an operand (a name, call, attribute, subscript)."""
    import ast
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (int, float)) or node.value >= 0 and not text.startswith("-")
    return isinstance(node, (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.List))


#: Results larger than this are refused while generating (memory and time stay bounded).
MAX_ELEMENTS = 200_000


def _too_big(value: Any) -> bool:
    try:
        if isinstance(value, (np.ndarray, torch.Tensor)):
            return int(np.prod(value.shape)) > MAX_ELEMENTS
        if isinstance(value, (list, tuple)):
            return len(value) > MAX_ELEMENTS
    except Exception:
        return True
    return False


# ---------------------------------------------------------------------------------------------
# The program

@dataclass(frozen=True)
class Program:
    """A generated module (``source``) whose function ``name`` is called with ``inputs``."""

    source: str
    inputs: InputSpec
    tags: frozenset[str] = field(default_factory=frozenset)
    name: str = "f"

    def args(self, variant: int = 0) -> tuple[Any, ...]:
        return self.inputs.build(variant)

    def function_source(self) -> str:
        """The generated function alone (without the helper prelude)."""
        return self.source[self.source.index(f"def {self.name}("):]

    def __repr__(self) -> str:
        return (f"Program(inputs={self.inputs!r}, tags={sorted(self.tags)!r})\n"
                f"# --- source ---\n{self.source}")


@contextlib.contextmanager
def _quiet() -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@functools.lru_cache(maxsize=4096)
def _code(text: str, mode: str) -> Any:
    return compile(text, "<looplift-fuzz>", mode)


def _is_value(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic, torch.Tensor, bool, int, float)) and \
        not (isinstance(v, int) and abs(v) > 2**31)


@dataclass
class Ctx:
    """Where a statement goes: indentation, whether inside a loop, the loop's index expression."""

    indent: int
    depth: int
    in_loop: bool = False
    index: str | None = None


#: Loop counters and the accumulator: never rebound by a generated assignment.
PROTECTED = frozenset({"i", "j", "acc"})

Expr = tuple[str, Any, bool]  # text, dummy value, atomic (needs no parentheses)


class Builder:
    """Writes one function, checking every piece on dummy values as it goes."""

    MAX_STATEMENTS = 60

    def __init__(self, draw: Any, inputs: InputSpec):
        self.draw = draw
        self.inputs = inputs
        xs, w, k = inputs.build(0)
        self.x_dummy = xs[0] if xs else inputs.x.make(np.random.default_rng(inputs.seed), inputs.device, inputs.grid)
        self.globals = _helper_namespace()
        self.env: dict[str, Any] = {"xs": xs, "w": w, "k": k}
        self.hidden = {"xs", "k", "out", "d", "buf"}
        self.lines: list[str] = []
        self.tags: set[str] = set()
        self.fresh = 0
        self.statements = 0
        self.ret = "acc, out"
        self.tables = operation_tables()
        if inputs.device != "cpu":  # an out-of-range index array is a device-side assert there,
            # which poisons the whole process (NumPy raises IndexError)
            self.tables = {**self.tables, "subscript": tuple(t for t in SUBSCRIPTS if "{1}" not in t)}
        self.uses_state = False

    # -- drawing ---------------------------------------------------------------------------
    def pick(self, options: Any) -> Any:
        options = list(options)
        return options[self.draw(st.integers(0, len(options) - 1))] if len(options) > 1 else options[0]

    def chance(self, n: int) -> bool:
        """True with probability 1/n; shrinks to False."""
        return self.draw(st.integers(0, n - 1)) == n - 1

    def new_name(self) -> str:
        self.fresh += 1
        return f"v{self.fresh}"

    # -- checking on dummies -----------------------------------------------------------------
    def evaluate(self, text: str, env: dict[str, Any]) -> tuple[bool, Any]:
        scope = dict(self.globals)
        scope.update(env)
        try:
            with _quiet():
                return True, eval(_code(text, "eval"), scope)
        except Exception:
            return False, None

    def execute(self, text: str, env: dict[str, Any], targets: tuple[str, ...] = ()) -> dict[str, Any] | None:
        scope = dict(self.globals)
        scope.update(env)
        try:
            with _quiet():
                exec(_code(text, "exec"), scope)
        except Exception:
            return None
        new = dict(env)
        for name in targets:
            new[name] = scope[name]
        return new

    def emit(self, ctx: Ctx, text: str) -> None:
        for line in text.splitlines():
            self.lines.append("    " * ctx.indent + line)

    def pool(self, env: dict[str, Any], accept: Callable[[Any], bool] = _is_value) -> list[str]:
        return [name for name, value in env.items() if name not in self.hidden and accept(value)]

    # -- expressions ------------------------------------------------------------------------
    def leaf(self, env: dict[str, Any], literal_odds: int = 4) -> Expr:
        names = self.pool(env)
        if names and not self.chance(literal_odds):
            name = self.pick(names)
            return name, env[name], True
        text = self.pick(LITERALS)
        ok, value = self.evaluate(text, env)
        return text, value, _atomic(text)

    @staticmethod
    def wrap(e: Expr) -> str:
        return e[0] if e[2] else f"({e[0]})"

    def expression(self, env: dict[str, Any], depth: int) -> Expr:
        kinds = ["leaf", "binary", "binary", "unary", "unary", "binary", "reduce", "method", "convert",
                 "convert", "torch", "scalar", "helper", "binary", "unary", "reduce", "subscript", "reduce"]
        kind = self.pick(kinds) if depth > 0 else "leaf"
        if kind == "leaf":
            return self.leaf(env)
        if kind == "convert":
            template, accept = self.pick(CONVERSIONS)
            names = self.pool(env, accept)
            if names:
                name = self.pick(names)
                text = template.format(name)
                ok, value = self.evaluate(text, env)
                if ok or self.chance(16):  # rarely keep a conversion that raises (grad, ...)
                    self.tags.add("convert:" + template.replace("{0}", "_"))
                    return text, value, True
            return self.leaf(env)
        operand = self.expression(env, depth - 1)
        table = self.tables[kind]
        for _ in range(3):
            template = self.pick(table)
            first, second = operand, None
            if "{1}" in template:
                second = self.leaf(env, literal_odds=3) if self.chance(2) or depth < 2 else \
                    self.expression(env, depth - 1)
                if kind == "binary" and self.chance(3):
                    first, second = second, first
            text = template.format(self.wrap(first), self.wrap(second) if second else "")
            ok, value = self.evaluate(text, env)
            if ok and not _too_big(value):
                self.tags.add(kind)
                return text, value, _atomic(text)
        return operand

    def condition(self, env: dict[str, Any], ctx: Ctx) -> str:
        forms = ["float({x}) > 0", "{x}.item() > 0", "bool({x} > 0)", "np.sum({x}) > 0", "{x}.sum().item() < 1",
                 "float(np.mean({x})) < 0.5", "int({x}) != 0", "np.any({x} > 1)", "{x}.max() > 1",
                 "len(out) > 1", "np.sum({x}).item() > 0", "float({x}.max()) > 0.5"]
        if ctx.index is not None:
            forms = ["{i} == k", "{i} % 2 == 0", "{i} > 0", *forms]
        for _ in range(4):
            form = self.pick(forms)
            x = self.expression(env, 1) if "{x}" in form else ("", None, True)
            text = form.format(x=self.wrap(x), i=ctx.index or "0")
            ok, value = self.evaluate(f"bool({text})", env)
            if ok:
                self.tags.add("cond:" + ("item" if ".item()" in form else "float" if "float(" in form else
                                         "index" if "{i}" in form else "other"))
                return text
        return f"{ctx.index} == k" if ctx.index is not None else "len(out) > 1"

    # -- statements -------------------------------------------------------------------------
    def block(self, env: dict[str, Any], ctx: Ctx, low: int, high: int) -> dict[str, Any]:
        count = self.draw(st.integers(low, high))
        for _ in range(count):
            if self.statements >= self.MAX_STATEMENTS:
                break
            env = self.statement(env, ctx)
        return env

    def statement(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        self.statements += 1
        kinds = ["assign", "assign", "acc", "append", "assign", "inplace", "guard", "print", "dict", "buf",
                 "if", "loop", "helper", "invariant", "assign", "acc", "guard", "try", "convert", "assign",
                 "unpack", "rare"]
        kind = self.pick(kinds)
        if kind in ("if", "loop", "try") and ctx.depth >= 2:
            kind = "assign"
        if kind == "guard" and not ctx.in_loop:
            kind = "acc"
        if kind == "dict" and "d" not in env:
            kind = "append"
        if kind == "buf" and ("buf" not in env or ctx.index is None):
            kind = "acc"
        if kind == "try" and not self.chance(3):
            kind = "assign"
        if kind == "rare":
            kind = self.pick(["delete", "comprehension", "no_grad", "state", "match", "walrus"])
            if kind in ("no_grad", "match") and ctx.depth >= 2:
                kind = "comprehension"
        return getattr(self, "stmt_" + kind)(env, ctx)

    def stmt_unpack(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        """``a, b = x, y`` (or a helper's tuple)."""
        first = self.expression(env, self.draw(st.integers(0, 2)))
        second = self.expression(env, self.draw(st.integers(0, 2)))
        n1, n2 = self.new_name(), self.new_name()
        text = f"{n1}, {n2} = {first[0]}, {second[0]}" if not self.chance(3) else \
            f"{n1}, {n2} = h_pair({first[0]}, {second[0]})"
        self.emit(ctx, text)
        self.tags.add("unpack")
        return {**env, n1: first[1], n2: second[1]}

    def stmt_delete(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        names = [n for n in self.pool(env) if n.startswith("v")]
        if not names:
            return self.stmt_assign(env, ctx)
        name = self.pick(names)
        self.emit(ctx, f"del {name}")
        self.tags.add("del")
        return {n: v for n, v in env.items() if n != name}

    def stmt_comprehension(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        e = self.expression(env, self.draw(st.integers(1, 2)))
        form = self.pick(["[{e} for _ in range(2)]", "[np.sum(x) for x in xs]", "sum([{e}, {e}])",
                          "{{str(n): {e} for n in range(2)}}"])
        text = form.format(e=e[0])
        ok, value = self.evaluate(text, env)
        if not ok:
            return self.stmt_assign(env, ctx)
        name = self.new_name()
        self.emit(ctx, f"{name} = {text}")
        self.tags.add("comprehension")
        return {**env, name: value}

    def stmt_no_grad(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        self.emit(ctx, "with torch.no_grad():")
        inner = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
        with torch.no_grad():
            env = self.block(env, inner, 1, 3)
        self.tags.add("with")
        return env

    def stmt_state(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        """A module-level list (emptied at the start of ``f``, returned at the end)."""
        e = self.expression(env, self.draw(st.integers(0, 2)))
        self.emit(ctx, f"STATE.append({e[0]})")
        self.uses_state = True
        self.tags.add("global-state")
        return env

    def stmt_match(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        subject = f"{ctx.index} % 2" if ctx.index else "len(out) % 2"
        self.emit(ctx, f"match {subject}:")
        case = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
        body = Ctx(ctx.indent + 2, ctx.depth + 1, ctx.in_loop, ctx.index)
        self.emit(case, "case 0:")
        self.block(dict(env), body, 1, 2)
        self.emit(case, "case _:")
        self.block(dict(env), body, 1, 2)
        self.tags.add("match")
        return env

    def stmt_walrus(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        for _ in range(3):
            e = self.expression(env, self.draw(st.integers(1, 2)))
            name = self.new_name()
            ok, _ = self.evaluate(f"bool(({e[0]}) > 0)", env)
            if ok:
                self.emit(ctx, f"if ({name} := {e[0]}) > 0:")
                inner = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
                env = {**env, name: e[1]}
                self.block(dict(env), inner, 1, 2)
                self.tags.add("walrus")
                return env
        return self.stmt_assign(env, ctx)

    def stmt_assign(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        e = self.expression(env, self.draw(st.integers(1, 3)))
        reassignable = [n for n in self.pool(env) if n not in PROTECTED]
        target = self.pick(reassignable) if reassignable and self.chance(4) else self.new_name()
        self.emit(ctx, f"{target} = {e[0]}")
        self.tags.add("assign")
        return {**env, target: e[1]}

    def stmt_acc(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        for _ in range(3):
            e = self.expression(env, self.draw(st.integers(0, 2)))
            text = self.pick(["acc = acc + {e}", "acc += {e}", "acc = {e}", "acc = acc * 0.5 + {e}"]).format(e=self.wrap(e))
            new = self.execute(text, env, ("acc",))
            if new is not None:
                self.emit(ctx, text)
                self.tags.add("acc")
                return new
        return self.stmt_append(env, ctx)

    def stmt_append(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        e = self.expression(env, self.draw(st.integers(0, 2)))
        self.emit(ctx, f"out.append({e[0]})")
        self.tags.add("list")
        env["out"].append(e[1])
        return env

    def stmt_dict(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        e = self.expression(env, self.draw(st.integers(0, 2)))
        key = self.pick([ctx.index or "len(d)", "len(d)", f"str({ctx.index})" if ctx.index else "'last'"])
        self.emit(ctx, f"d[{key}] = {e[0]}")
        self.tags.add("dict")
        return env

    def stmt_buf(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        for _ in range(3):
            e = self.expression(env, self.draw(st.integers(0, 2)))
            text = f"buf[{ctx.index}] = {e[0]}"
            probe = {**env, "i": 0}
            if self.execute(f"buf[0] = {e[0]}", probe) is not None:
                self.emit(ctx, text)
                self.tags.add("prealloc")
                return env
        return self.stmt_append(env, ctx)

    def stmt_inplace(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        for _ in range(3):
            on_tensor = self.chance(2)
            names = self.pool(env, _is_tensor if on_tensor else _is_array)
            if not names:
                continue
            name = self.pick(names)
            template = self.pick(INPLACE_TENSOR if on_tensor else INPLACE_ARRAY)
            other = self.leaf(env)
            text = template.format(name, self.wrap(other))
            new = self.execute(text, env)
            if new is not None:
                self.emit(ctx, text)
                self.tags.add("inplace:tensor" if on_tensor else "inplace:array")
                return new
        return self.stmt_assign(env, ctx)

    def stmt_guard(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        cond = self.condition(env, ctx)
        action = self.pick(["break", "continue", "return", "raise"])
        self.emit(ctx, f"if {cond}:")
        inner = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
        if self.chance(3):
            env = self.stmt_append(env, inner)
        if action == "return":
            self.emit(inner, f"return {self.ret}")
        elif action == "raise":
            self.emit(inner, f"raise ValueError('stop at ' + str({ctx.index or 'len(out)'}))")
        else:
            self.emit(inner, action)
        self.tags.add(action)
        return env

    def stmt_if(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        cond = self.condition(env, ctx)
        self.emit(ctx, f"if {cond}:")
        inner = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
        self.block(dict(env), inner, 1, 3)
        if self.chance(2):
            self.emit(ctx, "else:")
            self.block(dict(env), inner, 1, 2)
            self.tags.add("else")
        self.tags.add("if")
        return env  # names bound in a branch stay out of later code

    def stmt_try(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        self.emit(ctx, "try:")
        inner = Ctx(ctx.indent + 1, ctx.depth + 1, ctx.in_loop, ctx.index)
        self.block(dict(env), inner, 1, 3)
        if self.chance(3):
            self.emit(ctx, "finally:")
            self.emit(inner, "out.append('finally')")
            self.tags.add("finally")
        else:
            self.emit(ctx, "except (ValueError, TypeError, RuntimeError, IndexError) as exc:")
            self.emit(inner, "out.append(type(exc).__name__)")
        self.tags.add("try")
        return env

    def stmt_print(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        names = self.pool(env)
        if not names or self.chance(5):
            self.emit(ctx, f"print('at', {ctx.index or 'len(out)'})")
        else:
            x = self.pick(names)
            self.emit(ctx, f"print({x!r}, type({x}).__name__, getattr({x}, 'dtype', None), tuple(np.shape({x})))")
        self.tags.add("print")
        return env

    def stmt_helper(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        names = [n for n in self.pool(env) if n not in PROTECTED]
        if not names:
            return self.stmt_assign(env, ctx)
        name = self.pick(names)
        template = self.pick(["h_show({0})", "h_bump({0})", "{0} = h_id({0})", "{0} = h_np({0})"])
        text = template.format(name)
        new = self.execute(text, env, (name,) if "=" in template else ())
        if new is None:
            return self.stmt_assign(env, ctx)
        self.emit(ctx, text)
        self.tags.add("opaque")
        return new

    def stmt_convert(self, env: dict[str, Any], ctx: Ctx, prefer: str | None = None) -> dict[str, Any]:
        for _ in range(3):
            template, accept = self.pick(CONVERSIONS)
            names = self.pool(env, accept)
            if not names:
                continue
            name = prefer if prefer in names and not self.chance(3) else self.pick(names)
            text = template.format(name)
            ok, value = self.evaluate(text, env)
            if ok or self.chance(16):
                target = self.new_name()
                self.emit(ctx, f"{target} = {text}")
                self.tags.add("convert:" + template.replace("{0}", "_"))
                return {**env, target: value}
        return self.stmt_assign(env, ctx)

    def stmt_invariant(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        template, accept = self.pick([c for c in CONVERSIONS if c[1] is _is_tensor])
        text = template.format("w")
        ok, value = self.evaluate(text, env)
        if not ok and not self.chance(8):
            return self.stmt_assign(env, ctx)
        name = self.new_name()
        self.emit(ctx, f"{name} = {text}")
        self.tags.add("invariant-conversion")
        return {**env, name: value}

    def stmt_loop(self, env: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        iterables = [n for n in self.pool(env, lambda v: isinstance(v, (np.ndarray, torch.Tensor))
                                          and v.ndim >= 1 and 0 < v.shape[0] <= 5)]
        forms = ["range", "xs", "while"] + (["array"] if iterables else [])
        form = self.pick(forms)
        inner = Ctx(ctx.indent + 1, ctx.depth + 1, True, ctx.index)
        env = dict(env)
        if form == "range":
            self.emit(ctx, "for j in range(2):")
            env["j"] = 0
        elif form == "xs":
            self.emit(ctx, "for u in xs:")
            env["u"] = self.x_dummy
        elif form == "while":
            self.emit(ctx, "j = 0")
            self.emit(ctx, "while j < 2:")
            self.emit(inner, "j += 1")
            env["j"] = 1
        else:
            name = self.pick(iterables)
            self.emit(ctx, f"for r in {name}:")
            env["r"] = env[name][0]
        self.tags.add("nested:" + form)
        return self.block(env, inner, 1, 3)

    # -- the function -----------------------------------------------------------------------
    def top_loop(self, env: dict[str, Any]) -> dict[str, Any]:
        ctx = Ctx(1, 0)
        form = self.pick(["enumerate", "plain", "range", "while"])
        body = Ctx(2, 1, True, "i")
        env = dict(env)
        env["t"] = self.x_dummy
        if form == "enumerate":
            self.emit(ctx, "for i, t in enumerate(xs):")
            env["i"] = 0
        elif form == "plain":
            self.emit(ctx, "for t in xs:")
            body.index = None
        elif form == "range":
            self.emit(ctx, "for i in range(len(xs)):")
            self.emit(body, "t = xs[i]")
            env["i"] = 0
        else:
            self.emit(ctx, "i = 0")
            self.emit(ctx, "while i < len(xs):")
            self.emit(body, "t = xs[i]")
            self.emit(body, "i += 1")
            env["i"] = 1
            body.index = "i - 1"
        self.tags.add("loop:" + form)
        if not self.chance(4):  # the pattern looplift exists for: a conversion of the element first
            env = self.stmt_convert(env, body, prefer="t")
        env = self.block(env, body, 1, 6)
        if "buf" in env and body.index is not None and self.chance(2):
            env = self.stmt_buf(env, body)
        if form != "while" and self.chance(4):
            self.emit(ctx, "else:")
            self.stmt_acc(env, Ctx(2, 1))
            self.tags.add("for-else")
        return env

    def function(self) -> str:
        shape = repr(tuple(self.inputs.x.shape))
        ctx = Ctx(1, 0)
        env = dict(self.env)
        init = self.pick(["0.0", "0", f"np.zeros({shape}, dtype=np.float32)", f"np.zeros({shape})", "np.float32(0)",
                          "w.detach().numpy().copy()"])
        self.emit(ctx, f"acc = {init}")
        self.emit(ctx, "out = []")
        ok, env["acc"] = self.evaluate(init, env)
        env["out"] = []
        ret = ["acc", "out"]
        if self.chance(2):
            self.emit(ctx, "d = {}")
            env["d"] = {}
            ret.append("d")
        if self.chance(2):
            dtype = self.pick(["float64", "float32", "int64"])
            self.emit(ctx, f"buf = np.zeros((len(xs),) + {shape}, dtype=np.{dtype})")
            env["buf"] = np.zeros((max(1, self.inputs.n),) + tuple(self.inputs.x.shape), dtype=dtype)
            ret.append("buf")
        self.ret = ", ".join(ret)
        if self.chance(3):
            env = self.stmt_invariant(env, ctx)
        loops = 1 + self.chance(4)
        live: list[str] = []
        for _ in range(loops):
            before = set(env)
            env = self.top_loop(env)
            live += [n for n in env if n not in before and n.startswith("v")]
        if self.chance(3):
            env = self.block(env, ctx, 1, 2)
        if live and self.chance(3):
            ret.append(self.pick(live))
            self.tags.add("live-out")
        if self.uses_state:
            self.lines.insert(0, "    STATE.clear()")
            ret.append("list(STATE)")
        self.emit(ctx, f"return {', '.join(ret)}")
        return "def f(xs, w, k):\n" + "\n".join(self.lines) + "\n"


@st.composite
def programs(draw: Any, inputs: st.SearchStrategy[InputSpec] | None = None) -> Program:
    """A random valid program and its inputs."""
    spec = draw(inputs if inputs is not None else input_specs())
    builder = Builder(draw, spec)
    text = builder.function()
    source = HELPERS_SOURCE + "\n\n" + text
    compile(source, "<looplift-fuzz>", "exec")  # a generator bug if it does not compile
    tags = set(builder.tags)
    tags.add(spec.size)
    tags.add("lift:" + spec.lift)
    tags.add("dtype:" + spec.x.dtype)
    if spec.x.requires_grad or spec.w.requires_grad:
        tags.add("requires_grad")
    if spec.hetero != "none":
        tags.add("hetero:" + spec.hetero)
    if spec.device != "cpu":
        tags.add("device:" + spec.device)
    tags.add("grid" if spec.grid else "off-grid")
    return Program(source, spec, frozenset(tags))
