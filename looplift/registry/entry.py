"""One registry entry: a NumPy operation described as data.

An entry pairs the NumPy *reference* (the semantics to reproduce) with a *torch_impl* (the tensor
path).  Both follow one calling convention: the operands in order, the receiver first for
methods and attributes (``a.sum(axis=0)`` is ``reference(a, axis=0)``), keyword arguments as
keywords.  The rest of the entry is what analyses, tests and docs read.

Contract for ``torch_impl`` (what makes a wrong answer impossible by construction):

* it receives the call's arguments with lifted values as tensors whose dtype *is* the NumPy
  dtype (a 0-d tensor stands for a NumPy scalar, an n-d tensor for an ndarray);
* it returns exactly NumPy's dtype, shape and values (within float tolerance), with 0-d tensors
  only where NumPy returns a NumPy scalar;
* whenever it cannot guarantee that (a dtype, a value range, an argument form, a result that
  NumPy would give as a 0-d ndarray) it raises ``Unsupported`` and NumPy runs the call instead.
  Any other exception also makes NumPy run the call, so NumPy's own exception is what the user
  sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..lattice import AV

#: The phrase an entry's notes carry when its lowering follows IEEE on NaN/inf operands of a
#: product where NumPy's BLAS may skip zero terms (the registry tests then accept NaN there).
IEEE_NOTE = "NaN/inf operands: IEEE result (NumPy's BLAS may drop NaN·0 terms)"

#: Static precondition on the abstract arguments: a refusal reason, or None when the entry applies.
Check = Callable[[Sequence[AV], Mapping[str, AV]], "str | None"]
#: Static result rule; the default asks NumPy itself with probe values (see ``probe.py``).
Infer = Callable[[Sequence[AV], Mapping[str, AV]], AV]
#: Whether a call takes operands of unknown rank (see ``OpEntry.rank_free``).
RankFree = Callable[[Sequence[AV], Mapping[str, AV]], bool]


class Unsupported(Exception):
    """Raised by a ``torch_impl`` to hand this call to NumPy."""


@dataclass(frozen=True, eq=False)
class OpEntry:
    key: str
    """``numpy.exp``, ``numpy.linalg.norm``, ``ndarray.sum``, ``ndarray.T`` (attribute),
    ``operator.add``, ``builtins.len``."""
    reference: Callable[..., Any]
    torch_impl: Callable[..., Any]
    torch_name: str
    """The torch target, as the docs show it."""
    forms: str = ""
    """Argument forms the entry supports (docs)."""
    notes: str = ""
    """Where it hands the call to NumPy and why (docs)."""
    check: Check | None = None
    infer: Infer | None = None
    cases: tuple[Any, ...] = field(default=())
    """Argument forms the differential test draws (see ``looplift.registry.testing``)."""
    elementwise: bool = False
    """Cheap elementwise work that ``torch.compile`` can fuse (the cost model reads it)."""
    attribute: bool = False
    """``ndarray.<name>`` is an attribute read, not a method call."""
    lower: Callable[[Any], Any] | None = None
    """The lowering (``lowering.LowerFn``): the torch expression generated code runs for a call,
    decided from the abstract operands; None keeps every call of this entry in NumPy."""
    numpy_only: str = ""
    """Why this entry has no lowering (every call stays in NumPy); the tests demand a reason."""
    numpy_when: str = ""
    """The calls whose lowering's ``requires`` fails although NumPy succeeds, so NumPy runs them
    (docs; the tests allow a failing ``requires`` elsewhere only where NumPy raises)."""
    copies_views: Callable[[Sequence[AV]], bool] | None = None
    """For the abstract operands: may the tensor path return a copy where NumPy returns a view?
    A later write through one would not show in the other, so the analysis keeps such calls in
    NumPy in functions that write arrays in place."""
    rank_free: RankFree | None = None
    """For the abstract arguments: is the call's meaning the same at every rank >= 1 (element-wise
    work, a reduction over all axes)?  Only such calls take an operand whose rank is unknown (a
    loop over ``named_parameters()``: weights 2-d, biases 1-d); ``probe.infer`` and
    ``lowering.lower`` then try the ranks ``probe.RANKS`` and refuse unless the code is the same
    at each.  None: every operand's rank must be known."""

    @property
    def namespace(self) -> str:
        return self.key.rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[1]

    @property
    def ident(self) -> str:
        """The attribute name of the runtime implementation in ``looplift.runtime.op``."""
        return self.key.replace(".", "_")


def always(args: Sequence[AV]) -> bool:
    """A ``copies_views`` rule for operations that copy whatever their operands."""
    return True


def any_rank(args: Sequence[AV], kwargs: Mapping[str, AV]) -> bool:
    """A ``rank_free`` rule for element-wise operations: every call means the same at any rank."""
    return True
