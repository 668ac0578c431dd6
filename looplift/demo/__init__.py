"""The built-in examples of ``looplift demo``: each a function, its inputs and a short story.

``EXAMPLES`` is the ordered catalogue; ``by_name`` finds one.  The functions themselves live in
``looplift/demo/examples.py`` (a real file, so ``@looplift`` can read their source).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import examples


@dataclass(frozen=True)
class Example:
    name: str
    """What ``--example`` takes."""
    title: str
    """One line for progress and the summary."""
    story: str
    """What the loop does and what to look for in the output."""
    function: Callable[..., Any]
    inputs: Callable[[str], tuple[Any, ...]]
    """``inputs(device)``: fresh, seeded arguments on that device."""
    cpu_only: bool = False
    """The code calls ``.numpy()`` directly (CPU code): its inputs stay on the CPU with ``--device``."""


EXAMPLES: tuple[Example, ...] = (
    Example(
        "invariant-copy", "a NumPy array copied into a tensor in every iteration",
        "`torch.tensor(basis)` copies the same 4 MB array in every iteration (torch.tensor always "
        "copies). The copy is loop-invariant, so looplift makes it once, at its first use; the "
        "torch code around it is left as written.",
        examples.invariant_copy, examples.invariant_copy_inputs, cpu_only=True),
    Example(
        "invariant-conversion", "a conversion that belongs outside the loop",
        "`weights.numpy()` gives the same array in every iteration. looplift hoists it: the "
        "conversion runs once, at its first use, as if you had written it above the loop.",
        examples.invariant_conversion, examples.invariant_conversion_inputs, cpu_only=True),
    Example(
        "per-iteration-numpy", "a .numpy() conversion in every iteration",
        "Each tensor is converted to NumPy and NumPy does the math. Where the cost model expects "
        "a gain, looplift keeps `a` a tensor, runs the NumPy ufuncs as torch ops and converts the "
        "list once, where it is returned; the decisions say what it chose here and why.",
        examples.per_iteration_numpy, examples.per_iteration_numpy_inputs, cpu_only=True),
    Example(
        "evaluation-loop", "evaluation loop of a 1000-class classifier (loss, accuracy)",
        "Logits leave torch for NumPy in every batch for a log-sum-exp, argmax and accuracy. "
        "What looplift lifts depends on the operations its registry covers; the rest stays "
        "NumPy, and the report says why line by line.",
        examples.evaluate, examples.evaluate_inputs),
    Example(
        "power-iteration", "power iteration for the dominant eigenvalue",
        "`matrix.numpy()` inside the loop is loop-invariant: it is converted once. `v` is a NumPy "
        "array the function creates itself, so the products with it stay in NumPy.",
        examples.power_iteration, examples.power_iteration_inputs, cpu_only=True),
    Example(
        "running-stats", "running mean and variance over streamed batches",
        "A Chan/Welford merge of per-batch statistics in float64: the per-batch conversion "
        "cannot be hoisted (a new batch each iteration), and values derived from it feed NumPy "
        "reductions.",
        examples.running_mean_var, examples.running_mean_var_inputs),
    Example(
        "torch-ops", "torch ops in the loop, one conversion at the end",
        "Already the fast shape: nothing crosses between torch and NumPy inside the loop. "
        "looplift has nothing to do, so it runs the function as written, without a warning.",
        examples.torch_ops_then_convert, examples.torch_ops_then_convert_inputs),
)


def names() -> list[str]:
    return [example.name for example in EXAMPLES]


def by_name(name: str) -> Example:
    """The example called ``name``; ``KeyError`` naming the known ones otherwise."""
    for example in EXAMPLES:
        if example.name == name:
            return example
    raise KeyError(f"unknown example {name!r}; known: {', '.join(names())}")
