"""Types observed while a function runs, and entering specialized code mid-loop.

Real loops get their tensors from model calls, loaders, dicts and attributes, which the code
alone does not type.  On its first call a function that needs such facts runs *instrumented*
(``transforms/instrument.py``): each site of interest passes its value through an ``Observer``,
which records its abstract value (joined over the values seen).  The types pass then takes
these as facts (``analysis/types.py``), and the rewritten code guards each one where it relies on
it.

A function called once with a long loop (an evaluation pass) should not run that loop unoptimized:
after a loop's first iterations have been observed, ``Resume.enter`` builds a specialization of
the loop itself from the live variables (``pipeline.specialize_loop``) and runs the remaining
iterations in it, on the same iterator, handing the variables back at the end.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Iterator

from .. import logs
from ..errors import Refusal
from ..lattice import AV, BOTTOM, join, sampled
from ..signature import abstract_of

logger = logs.specialize

#: Iterations of a loop that run instrumented before the rest runs specialized.
OBSERVED_ITERATIONS = 2


class Observer:
    """Abstract values seen at each site (``anno.Key.SITE`` ids)."""

    def __init__(self) -> None:
        self.sites: dict[int, AV] = {}

    def __call__(self, site: int, value: Any) -> Any:
        seen = sampled(abstract_of(value))  # nothing checks it at later calls
        previous = self.sites.get(site, BOTTOM)
        if previous != seen:
            self.sites[site] = join(previous, seen)
        return value

    def names(self, *pairs: Any) -> None:
        """Loop targets: ``names(site, value, site, value, ...)``."""
        for site, value in zip(pairs[::2], pairs[1::2]):
            self(site, value)


def resume(item: Any, rest: Iterator[Any]) -> Iterator[Any]:
    """The item at hand, then the rest of the same iterator."""
    return itertools.chain((item,), rest)


def returned(value: Any) -> tuple[bool, Any]:
    """A ``return`` inside a resumed loop."""
    return True, value


def finished(variables: dict[str, Any]) -> tuple[bool, Any]:
    """A resumed loop ran to its end (or a ``break``): the function's variables after it."""
    return False, variables


class Resume:
    """Per loop: counts iterations, and once enough were observed enters the loop's
    specialization (built by ``build``: live variables -> a function, or None when it cannot)."""

    def __init__(self, build: Callable[[int, dict[str, Any]], Callable[..., Any] | None]) -> None:
        self.build = build
        self.counts: dict[int, int] = {}
        self.failed: set[int] = set()
        self.thread = threading.get_ident()

    def ready(self, loop: int) -> bool:
        count = self.counts.get(loop, 0) + 1
        self.counts[loop] = count
        return count > OBSERVED_ITERATIONS and loop not in self.failed and threading.get_ident() == self.thread

    @staticmethod
    def start(iterable: Any) -> Iterator[Any]:
        """The iterator a ``for`` loop takes from its iterable (called once, as ``for`` does)."""
        return iter(iterable)

    def enter(self, loop: int, item: Any, rest: Iterator[Any], variables: dict[str, Any]) -> tuple[bool, Any] | None:
        """Run the rest of ``loop`` specialized: ``(True, value)`` when it returned ``value``,
        ``(False, variables)`` when it ended; None (keep going as it is) when it cannot."""
        self.failed.add(loop)  # once per loop and call, whatever happens
        try:
            continuation = self.build(loop, variables)
        except Refusal as refusal:  # the rest of the loop cannot be rewritten: it goes on as written
            logger.info("the loop %s goes on as written: %s", loop, refusal)
            return None
        except Exception:  # a bug in looplift must never break the user's program
            logger.exception("looplift could not specialize the loop %s", loop)
            return None
        if continuation is None:
            return None
        return continuation(item, rest, variables)
