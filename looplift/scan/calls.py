"""What a call does to its receiver and its arguments, as far as a static scan can tell.

The facts live in ``looplift.semantics`` (shared with the analysis); this module only adds what
a scan must decide without types.  Two questions depend on it: may a loop *modify* a value (then
a conversion of that value is not invariant, see `effects`), and may a call *keep* a converted
value beyond the iteration (then each iteration needs its own result and hoisting the
conversion would share one object between iterations, see `visitor`).  Both err on the safe
side: a call not known to leave its arguments alone is assumed to modify and keep them.
"""
from __future__ import annotations

from looplift import semantics


def may_modify_arguments(qualified: str, method: str | None) -> bool:
    """Whether a call may modify the objects passed to it.  ``method`` is set for ``obj.m(...)``.

    ``torch.nn.functional`` counts as read-only here (``semantics.is_stateless_functional``):
    the scan sees ``inplace=True`` itself, and running statistics are not what it hoists."""
    if semantics.is_stateless_functional(qualified):
        return False
    return semantics.may_modify_arguments(qualified, method)


def may_keep_arguments(qualified: str, method: str | None, array_receiver: bool) -> bool:
    """Whether a call may keep the objects passed to it beyond the call (store them).

    ``xs.append(v)`` keeps ``v``; ``t.add_(v)``, ``np.mean(v)`` and ``F.softmax(v)`` do not; an
    unknown function may.  ``array_receiver``: the receiver is known to be a tensor or an ndarray.
    """
    if semantics.is_stateless_functional(qualified) or _library_function(qualified):
        return False
    return semantics.may_keep_arguments(qualified, method, array_receiver)


def _library_function(qualified: str) -> bool:
    """A torch/NumPy/math function outside the stateful namespaces: even an in-place one
    (``torch._foreach_add_(steps, one)``, ``np.copyto(dst, src)``) writes into an argument but
    keeps none of them."""
    return qualified.startswith(semantics.READ_ONLY_MODULES) and not qualified.startswith(semantics.STATEFUL_MODULES)


def display_name(qualified: str) -> str:
    """How messages name a callee: ``builtins.float`` as the user wrote it, ``float``."""
    return qualified.removeprefix("builtins.")
