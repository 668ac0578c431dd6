"""The public decorator and ``explain``."""
from __future__ import annotations

import functools
import inspect
import types
import warnings
from typing import Any, Callable, TypeVar, overload

from .dispatch import Dispatcher, make_wrapper
from .errors import LoopliftError, LoopliftWarning
from .options import CompileMode, Options
from .pragmas import loop
from .report import Report

F = TypeVar("F", bound=Callable[..., Any])


@overload
def looplift(fn: F) -> F: ...


@overload
def looplift(*, compile: CompileMode = "auto", opt_in: bool = False, debug: bool = False,
             strict: bool = False, cache_size: int = 64) -> Callable[[F], F]: ...


def looplift(fn: Any = None, *, compile: CompileMode = "auto", opt_in: bool = False, debug: bool = False,
             strict: bool = False, cache_size: int = 64) -> Any:
    """Specialize ``fn`` per input signature: hoist loop-invariant conversions, run NumPy work on
    tensor-derived values in torch, and convert back once where the values leave the loop.

    Use bare (``@looplift``) or with options (``@looplift(compile=False)``); see ``Options``.
    Anything that cannot be proven to give the original's exact results runs as the original
    code, with a ``LoopliftWarning`` naming the line and the reason.
    """
    options = Options(compile=compile, opt_in=opt_in, debug=debug, strict=strict, cache_size=cache_size)
    if fn is None:
        return functools.partial(_decorate, options=options)
    return _decorate(fn, options)


#: ``looplift.loop`` also works where ``looplift`` names this decorator
#: (``from looplift import looplift``).
looplift.loop = loop  # type: ignore[attr-defined]


def _decorate(fn: Any, options: Options) -> Any:
    if isinstance(fn, staticmethod):
        return staticmethod(_decorate(fn.__func__, options))
    if isinstance(fn, classmethod):
        return classmethod(_decorate(fn.__func__, options))
    if inspect.isclass(fn):
        raise TypeError(f"@looplift decorates functions, not classes ({fn.__qualname__}): "
                        "decorate its methods instead")
    if not callable(fn):
        raise TypeError(f"@looplift needs a function, got {type(fn).__name__}")
    if not isinstance(fn, types.FunctionType):
        message = (f"@looplift: {fn!r} is not a Python function (builtin, functools.partial or "
                   "callable object); it runs unchanged")
        if options.strict:
            raise LoopliftError(message)
        warnings.warn(message, LoopliftWarning, stacklevel=3)
        return fn
    return make_wrapper(fn, options)


def explain(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
    """How ``fn`` would be specialized for these arguments, without running it.

    ``fn`` may be decorated (its options apply) or a plain function (default options)."""
    dispatcher = getattr(fn, "__looplift__", None)
    if not isinstance(dispatcher, Dispatcher):
        if not isinstance(fn, types.FunctionType):
            raise TypeError(f"explain needs a Python function, got {type(fn).__name__}")
        dispatcher = Dispatcher(fn, Options())
    return dispatcher.explain(args, kwargs)
