"""Differential fuzzing of ``@looplift``: random programs, original vs decorated.

``generator.programs()`` is a Hypothesis strategy that writes small, valid, deterministic
functions whose loops mix torch and NumPy (conversions of every kind, registry operations,
accumulators, nested and ``while`` loops, ``break``/``continue``/``else``, early returns,
branches on ``.item()``/``float()``, in-place mutation, opaque helper calls, prints and
exceptions raised mid-loop), together with their inputs.  ``runner.check`` writes a program to
a real ``.py`` file (looplift reads source with ``inspect.getsource``), imports it and compares
the original function with ``looplift(compile=...)(fn)`` through ``looplift.testing.compare_calls``.

Run a campaign with ``python -m looplift.fuzz --examples 3000 --seed 1`` (see docs/fuzzing.md).
"""
from __future__ import annotations

from .generator import InputSpec, Program, TensorSpec, programs
from .runner import Result, check, run_campaign

__all__ = ["InputSpec", "Program", "TensorSpec", "programs", "Result", "check", "run_campaign"]
