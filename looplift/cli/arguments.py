"""Argument types and checks shared by the subcommands (``argparse`` ``type=`` callables, devices)."""
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


def device_problem(device: str) -> str | None:
    """None when ``device`` can hold tensors here, else what is wrong with it (one line)."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        return f"not a torch device ({exc})"
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            return (f"no CUDA GPU is available here (torch {torch.__version__}, torch.cuda.is_available() is "
                    "False); leave out the device to use the CPU")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            return f"only {torch.cuda.device_count()} CUDA device(s) here"
    elif parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        return "MPS is not available here"
    return None
