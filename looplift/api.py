"""The public decorator and ``explain``.

Importing this module (the first use of ``looplift.looplift`` or ``looplift.explain``) applies
``LOOPLIFT_LOGS``; decorating checks the other environment variables, so a bad value fails at
the decorator with one line rather than at some later call.
"""
from __future__ import annotations

import functools
import inspect
import types
import warnings
from typing import Any, Callable, Mapping, TypeVar, overload

from . import logs
from .dispatch import Dispatcher, make_wrapper
from .errors import LoopliftError, LoopliftWarning
from .options import CompileMode, Options, check_environment
from .pragmas import loop
from .report import Report

logs.configure_from_environment()

F = TypeVar("F", bound=Callable[..., Any])


@overload
def looplift(fn: F) -> F: ...


@overload
def looplift(*, compile: CompileMode = "auto", opt_in: bool = False, debug: bool = False,
             strict: bool = False, cache_size: int = 64, compile_options: Mapping[str, Any] | None = None,
             cache: bool = False) -> Callable[[F], F]: ...


def looplift(fn: Any = None, *, compile: CompileMode = "auto", opt_in: bool = False, debug: bool = False,
             strict: bool = False, cache_size: int = 64, compile_options: Mapping[str, Any] | None = None,
             cache: bool = False) -> Any:
    """Specialize ``fn`` per input signature: hoist loop-invariant conversions, run NumPy work on
    tensor-derived values in torch, and convert back once where the values leave the loop.

    Use bare (``@looplift``) or with options (``@looplift(compile=False)``); see ``Options``.
    Anything that cannot be proven to give the original's results runs as the original code;
    ``explain`` says why, and a ``LoopliftWarning`` names whole-function fallbacks and what a
    rewritten function had to leave in NumPy.  Invalid options raise here (``TypeError`` or
    ``ValueError``), and so does an invalid ``LOOPLIFT_*`` variable (``SettingError``).
    """
    if compile_options is not None and not isinstance(compile_options, Mapping):
        raise TypeError(f"compile_options must be a mapping of torch.compile's keyword arguments, "
                        f"not {type(compile_options).__name__}")
    options = Options(compile=compile, opt_in=opt_in, debug=debug, strict=strict, cache_size=cache_size,
                      compile_options=tuple(sorted((compile_options or {}).items())), cache=cache)
    check_environment()
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

    ``fn`` may be decorated (its options apply) or a plain function (default options), a bound
    method (``explain(model.evaluate, xs)``: ``self`` is the first argument) or a
    ``functools.partial``.  Arguments that ``fn`` would not accept raise the ``TypeError`` that
    calling it would."""
    check_environment()
    fn, args, kwargs = _unwrap_call(fn, args, kwargs)
    dispatcher = getattr(fn, "__looplift__", None)
    if not isinstance(dispatcher, Dispatcher):
        if not isinstance(fn, types.FunctionType):
            raise TypeError(f"explain needs a Python function, got {type(fn).__name__}")
        dispatcher = Dispatcher(fn, Options())
    _check_arguments(dispatcher.fn, args, kwargs)
    return dispatcher.explain(args, kwargs)


def _unwrap_call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """``obj.method`` -> (the function, (obj, *args)); a partial -> its function and arguments."""
    while True:
        if isinstance(fn, types.MethodType):
            fn, args = fn.__func__, (fn.__self__, *args)
        elif isinstance(fn, functools.partial):
            fn, args, kwargs = fn.func, (*fn.args, *args), {**fn.keywords, **kwargs}
        else:
            return fn, args, kwargs


def _check_arguments(fn: types.FunctionType, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise ``TypeError`` where calling ``fn(*args, **kwargs)`` would, before anything else."""
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{fn.__qualname__}(): {exc}") from None
