"""Argument types shared by the subcommands (``argparse`` ``type=`` callables)."""
from __future__ import annotations

import argparse
from typing import Callable


def positive_int(why: str = "must be at least 1") -> Callable[[str], int]:
    """An ``int`` of at least 1; ``why`` is the message for a smaller one."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{why}, not {value}")
        return value

    return parse
