"""Stage 7: the wrapper users call, and its cache of specializations.

The hot path is a key computation, one dict lookup and a check of the global names the
rewrite relies on (``np`` still NumPy, ``len`` still the builtin); a miss specializes under a
lock, so threads calling a new signature at once share one specialization.  The cache is
bounded (oldest specialization evicted first) and its keys hold types, never tensors.
"""
from __future__ import annotations

import functools
import logging
import sys
import threading
import types
import warnings
from typing import Any, Callable, NamedTuple

from . import costmodel, diskcache, logs, pipeline, source
from .runtime import observe
from .analysis.types import ABSENT
from .errors import LoopliftError, LoopliftWarning, SettingError
from .options import Options, debug_enabled, disabled
from .report import Report
from .signature import key_of

logger = logging.getLogger("looplift")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


def _guards_hold(globals_: dict[str, Any], guards: tuple[tuple[str, Any], ...]) -> bool:
    for name, obj in guards:
        current = globals_.get(name, ABSENT)
        if current is not obj:
            return False
    return True


class Dispatcher:
    """Specializations of one function, and the statistics ``cache_info`` reports."""

    def __init__(self, fn: types.FunctionType, options: Options):
        self.fn = fn
        self.options = options
        self.cache: dict[Any, pipeline.Specialization] = {}
        self.lock = threading.RLock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.warned: set[str] = set()  # messages already given for this function

    def specialization(self, args: tuple[Any, ...], kwargs: dict[str, Any], key: Any) -> pipeline.Specialization:
        with self.lock:
            spec = self.cache.get(key)
            if spec is not None and _guards_hold(self.fn.__globals__, spec.guards):
                return spec
            self.misses += 1
            logs.cache.info("%s: cache miss (%s)", self.fn.__qualname__,
                            "a changed global" if spec is not None else "a new signature")
            spec = self.build(args, kwargs, key)
            if len(self.cache) >= self.options.cache_size and key not in self.cache:
                self.evict()
            self.cache[key] = spec
            return spec

    def evict(self) -> None:
        """Drop the oldest specialization; say so when it keeps happening (dynamo's recompile
        limit): the calls' signatures vary more than the cache holds."""
        self.cache.pop(next(iter(self.cache)))
        self.evictions += 1
        logs.cache.info("%s: evicted a specialization (cache_size=%d)", self.fn.__qualname__, self.options.cache_size)
        if self.evictions in (self.options.cache_size, 8 * self.options.cache_size):
            self.warn_once(f"{self.fn.__qualname__}: {self.evictions} specializations evicted so far (cache_size="
                           f"{self.options.cache_size}); calls vary in argument types, dtypes or sizes more than "
                           "the cache holds: raise cache_size, or keep the signatures steady")

    def specializations(self) -> dict[str, Report]:
        """The cached specializations: their signatures and reports (numba's ``signatures``)."""
        with self.lock:
            return {spec.report.signature or repr(key): spec.report for key, spec in self.cache.items()}

    def build(self, args: tuple[Any, ...], kwargs: dict[str, Any], key: Any) -> pipeline.Specialization:
        if disabled():
            return pipeline.Specialization(self.fn, Report(self.fn.__qualname__, "", "", fallback="LOOPLIFT_DISABLE is set"))
        stored = self.stored(key)
        if stored is not None:  # what an earlier process observed and measured
            spec = self.safely(lambda: pipeline.specialize(self.fn, args, kwargs, self.options, stored[1]["observed"],
                                                           choices=stored[1].get("regions", {})))
            self.keep_choices(spec, stored[0], stored[1])
            self.announce(spec)
            return spec
        spec = self.safely(lambda: pipeline.specialize(self.fn, args, kwargs, self.options))
        if spec.report.unknown and not spec.report.fallback:
            return self.observing(spec, args, kwargs, key)
        self.keep_choices(spec, *self.entry(key))
        self.announce(spec)
        return spec

    # ------------------------------------------------------------------ the disk cache (cache=True)
    def entry(self, key: Any) -> tuple[Any, dict[str, Any]]:
        """Where this specialization's facts go on disk, and an empty entry."""
        try:
            text = source.load(self.fn).text
        except Exception:  # no source: nothing is cached (nothing is rewritten either)
            return None, {}
        return diskcache.path_of(self.fn, text, key), {"observed": {}, "regions": {}}

    def stored(self, key: Any) -> tuple[Any, dict[str, Any]] | None:
        if not self.options.cache:
            return None
        path, _ = self.entry(key)
        found = diskcache.load(path) if path is not None else None
        return (path, found) if found is not None else None

    def keep_choices(self, spec: pipeline.Specialization, path: Any, entry: dict[str, Any]) -> None:
        """With ``cache=True``, write the entry now, and again as each compiled region settles."""
        if not self.options.cache or path is None:
            return
        diskcache.store(path, entry)
        for label, region in spec.compiled.items():
            def settled(label: str = label, region: Any = region) -> None:
                entry.setdefault("regions", {})[label] = region.state
                diskcache.store(path, entry)
            region.on_settle = settled

    def safely(self, make: Callable[[], pipeline.Specialization]) -> pipeline.Specialization:
        try:
            return make()
        except SettingError:
            raise  # the user's setting is wrong: one line, at once
        except Exception as exc:  # a bug in looplift must never break the user's program
            logger.exception("looplift failed to transform %s", self.fn.__qualname__)
            if self.options.strict:
                raise LoopliftError(f"looplift failed to transform {self.fn.__qualname__}: {exc!r}") from exc
            report = Report(self.fn.__qualname__, "", "", fallback=f"internal error: {exc!r}")
            return pipeline.Specialization(self.fn, report, warnings=[report.fallback])

    def observing(self, static: pipeline.Specialization, args: tuple[Any, ...], kwargs: dict[str, Any],
                  key: Any) -> pipeline.Specialization:
        """Values in the function's loops are of types the code does not give (results of model
        calls, items of loaders): the first call runs the original instrumented, observing them,
        and continues each long loop in code specialized from what it saw
        (``runtime/observe.py``); the specialization built from the observations takes the
        calls after it."""
        fn, options = self.fn, self.options
        params = pipeline.parameter_values(fn, args, kwargs)
        observer = observe.Observer()

        def loop(site: int, variables: dict[str, Any]) -> Callable[..., Any] | None:
            cost = costmodel.decide(args, kwargs, options, observer.sites)
            return pipeline.specialize_loop(fn, site, variables, options, dict(observer.sites), cost)

        resume = observe.Resume(loop)
        instrumented = self.safely(lambda: pipeline.instrumented(fn, observer, resume))
        if instrumented.call is fn:
            self.announce(static)
            return static
        lock = threading.Lock()

        def first_call(*call_args: Any, **call_kwargs: Any) -> Any:
            if not lock.acquire(blocking=False):  # a recursive or concurrent call meanwhile
                return static.call(*call_args, **call_kwargs)
            try:
                return instrumented.call(*call_args, **call_kwargs)
            finally:
                full = self.safely(lambda: pipeline.specialize(fn, args, kwargs, options, observer.sites, params))
                path, entry = self.entry(key) if options.cache else (None, {})
                entry["observed"] = dict(observer.sites)
                self.keep_choices(full, path, entry)
                logs.specialize.info("%s: specialized from the types observed at its first call", fn.__qualname__)
                with self.lock:
                    if self.cache.get(key) is spec:
                        self.cache[key] = full
                self.announce(full)

        spec = pipeline.Specialization(first_call, static.report, static.guards)
        return spec

    def announce(self, spec: pipeline.Specialization) -> None:
        """Log and debug output, and the one warning per specialization for what ran as the original."""
        report = spec.report
        logs.specialize.info("%s%s: %s", self.fn.__qualname__, report.signature,
                             ", ".join(f"{n} {c}" for n, c in report.counts().items()) or "nothing to do")
        if report.fallback:
            logs.fallback.info("%s runs as the original code: %s", self.fn.__qualname__, report.fallback)
        for decision in report.skipped:
            logs.fallback.debug("%s: %s", self.fn.__qualname__, decision)
        for decision in report.batched:
            logs.batching.info("%s: %s", self.fn.__qualname__, decision)
        for decision in report.compiled:
            logs.compile.info("%s: %s", self.fn.__qualname__, decision)
        for decision in report.rewritten:
            if "deferred" in decision.what:
                logs.host_reads.debug("%s: %s", self.fn.__qualname__, decision)
        if debug_enabled(self.options):
            text = str(spec.report)
            logger.info("%s", text)
            print(text, file=sys.stderr)
        if not spec.warnings:
            return
        code = self.fn.__code__
        where = f"{code.co_filename}:{code.co_firstlineno}"
        message = f"{self.fn.__qualname__} ({where}): " + "; ".join(spec.warnings)
        if spec.report.fallback:
            message = f"{self.fn.__qualname__} ({where}) runs as the original code: {spec.report.fallback}"
        if self.options.strict:
            raise LoopliftError(message)
        self.warn_once(message)

    def warn_once(self, message: str) -> None:
        """One ``LoopliftWarning`` per message and function (a new size class or dtype makes a
        new specialization, not a new warning)."""
        if message in self.warned:
            return
        self.warned.add(message)
        code = self.fn.__code__
        warnings.warn_explicit(message, LoopliftWarning, code.co_filename, code.co_firstlineno,
                               module=self.fn.__module__ or "looplift",
                               registry=self.fn.__globals__.setdefault("__warningregistry__", {}))

    def explain(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Report:
        """The report of the specialization calls like this one get: the cached one when the
        function already ran for them (with what it observed), else a new one (not cached)."""
        try:
            cached = self.cache.get(key_of(args, kwargs))
        except TypeError:
            cached = None
        if cached is not None and cached.call is not self.fn and not cached.report.unknown:
            return cached.report
        return pipeline.specialize(self.fn, args, kwargs, self.options).report

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, self.options.cache_size, len(self.cache))

    def cache_clear(self) -> None:
        with self.lock:
            self.cache.clear()
            self.hits = self.misses = self.evictions = 0


def make_wrapper(fn: types.FunctionType, options: Options) -> Callable[..., Any]:
    """The decorated function: a plain function (so it binds as a method like the original)."""
    dispatcher = Dispatcher(fn, options)
    cache = dispatcher.cache
    globals_ = fn.__globals__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = key_of(args, kwargs)
            spec = cache[key]
        except KeyError:
            spec = dispatcher.specialization(args, kwargs, key)
        except TypeError:  # an unhashable key part: nothing to specialize on
            return fn(*args, **kwargs)
        else:
            if spec.guards and not _guards_hold(globals_, spec.guards):
                spec = dispatcher.specialization(args, kwargs, key)
            else:
                dispatcher.hits += 1
        return spec.call(*args, **kwargs)

    wrapper.cache_info = dispatcher.cache_info  # type: ignore[attr-defined]
    wrapper.specializations = dispatcher.specializations  # type: ignore[attr-defined]
    wrapper.cache_clear = dispatcher.cache_clear  # type: ignore[attr-defined]
    wrapper.__looplift__ = dispatcher  # type: ignore[attr-defined]
    return wrapper
