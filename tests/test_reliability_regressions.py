"""Minimal programs from fuzzing (``python -m looplift.fuzz``) and the reliability work, one per
bug: each was a disagreement between a function and ``@looplift`` of it (or an invariant that did
not hold).  A test here fails until its bug is fixed; it is never marked xfail.

Each program is a real module file (looplift reads source with ``inspect.getsource``) and runs
through ``looplift.testing.compare_calls`` against the original, with large inputs (>= 16384
elements, so the cost model lifts on the CPU) unless said otherwise.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from looplift import LoopliftWarning, looplift
from looplift.fuzz.runner import loaded
from looplift.testing import compare_calls

N = 16384


@pytest.fixture(autouse=True)
def lift_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift whatever the size: on the CPU the cost model lifts only list items of
    ``LARGE_NUMEL``+ elements, and these tests are about the rewritten code."""
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")


def ints(seed: int, n: int = N, dtype: torch.dtype = torch.int32) -> torch.Tensor:
    return (torch.arange(n, dtype=torch.int64) * (seed + 3) % 9 - 4).to(dtype)


def floats(seed: int, n: int = N, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return ((torch.arange(n, dtype=torch.float64) * (seed + 5) % 33 - 16) / 8).to(dtype)


def differential(source: str, *args, name: str = "f") -> None:
    with loaded(source, "regression") as module, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = getattr(module, name)
        compare_calls(fn, looplift(compile=False)(fn), args)


# --------------------------------------------------------------------------------------------
# Fuzzer finds (seed 1 and 11 campaigns).  Root cause of the first five: materialization was
# decided by type (any torch.Tensor became NumPy), so a name or a list that holds a real tensor
# on one path and a lifted value on another was converted wrongly.

def test_list_holding_a_real_tensor_and_lifted_values() -> None:
    """``out[0]`` is the caller's tensor ``w``: it must stay a Tensor (was: ndarray)."""
    differential('''
import numpy as np

def f(xs, w):
    out = [w]
    for t in xs:
        out.append(t.numpy())
    return out
''', [ints(0), ints(1)], ints(2))


def test_list_holding_an_opaque_value_and_lifted_values() -> None:
    """``out[1]`` is ``t.numpy()``: it must be an ndarray (was: Tensor, never materialized)."""
    differential('''
import numpy as np

def helper(v):
    return v

def f(xs):
    out = []
    for t in xs:
        out.append(helper(1))
        out.append(t.numpy())
    return out
''', [ints(0), ints(1)])


def test_parameter_rebound_to_a_lifted_value_in_a_branch() -> None:
    """``w`` is returned unchanged when the branch is not taken: a Tensor (was: ndarray)."""
    differential('''
import numpy as np

def f(xs, w, k):
    for t in xs:
        if k > 5:
            w = np.asarray(t) + 1
    return w
''', [floats(0)], floats(1), 0)


def test_parameter_read_before_it_is_rebound_to_a_lifted_value() -> None:
    """``int(w)`` on the caller's 1-element tensor works; on an ndarray of ndim 1 NumPy 2 raises
    TypeError (was: TypeError)."""
    differential('''
import numpy as np

def f(xs, w):
    for t in xs:
        if int(w) > 0:
            break
        w = np.asarray(t) + 1
    return w
''', [floats(0)], torch.tensor([-0.625]))


def test_opaque_call_sees_the_real_tensor_before_the_rebinding() -> None:
    """The helper prints the type it gets: ``Tensor`` on the first iteration (was: ndarray)."""
    differential('''
import numpy as np

def show(v):
    print(type(v).__name__)
    return v

def f(xs, w):
    for t in xs:
        show(w)
        w = np.asarray(t) + 1
    return w
''', [floats(0), floats(1)], floats(2))


def test_list_of_a_zero_dim_tensor_then_lifted_values() -> None:
    """``out[0]`` is the caller's 0-d tensor (was: np.float64)."""
    differential('''
import numpy as np

def f(xs, w):
    out = []
    for t in xs:
        v1 = t.numpy()
        out.append(w)
        w = v1
    return out
''', [floats(0, dtype=torch.float64), floats(1, dtype=torch.float64)], torch.tensor(-0.625, dtype=torch.float64))


def test_reduction_of_a_hoisted_conversion_returned_from_the_loop() -> None:
    """``acc`` is a NumPy scalar (np.float64) at the return (was: a 0-d Tensor)."""
    differential('''
import numpy as np

def f(xs, w):
    acc = np.zeros((16384,), dtype=np.float32)
    v1 = w.numpy()
    for i, t in enumerate(xs):
        v2 = t.numpy()
        acc = np.exp(np.sum(v1))
    return acc
''', [ints(0), ints(1)], ints(2))


def test_comparison_of_a_real_tensor_with_a_lifted_value_after_the_loop() -> None:
    """``w != acc`` is Tensor.__ne__(ndarray) in the original; np.add of it then ``.mean()`` is
    NumPy's (was: RuntimeError from torch's mean on an integer tensor)."""
    differential('''
import numpy as np

def f(xs, w):
    acc = np.zeros((16384,), dtype=np.float32)
    v1 = w.numpy()
    for i, t in enumerate(xs):
        acc = np.exp(np.exp(v1))
    return np.add((w != acc), 1).mean()
''', [floats(0), floats(1)], floats(2))


# --------------------------------------------------------------------------------------------
# 20,000-program campaign (seed 4).

@pytest.mark.parametrize("n", [2, 1], ids=["two-items", "one-item"])
def test_int_accumulator_made_a_real_tensor_by_augmented_assignment(n: int) -> None:
    """``acc`` first holds a lifted value, then the int 1; ``acc += w`` (int += Tensor) rebinds it
    to the real Tensor ``1 + w``.  With two items the next ``acc += w`` adds two tensors (was:
    the rewrite converted ``acc`` to NumPy before the statement, and ndarray += Tensor raised
    TypeError: "Concatenation operation is not implemented for NumPy arrays"); with one, ``1 + w``
    is returned, a Tensor (was: an ndarray)."""
    differential('''
import numpy as np

def f(xs, w):
    acc = w.numpy()
    for t in xs:
        acc = 1
    for t in xs:
        acc += w
    return acc
''', [floats(i) for i in range(n)], floats(2))


# --------------------------------------------------------------------------------------------
# Reliability work (hostile inputs)

def test_source_changed_on_disk_with_the_same_lines(tmp_path) -> None:
    """The file is rewritten after import with the same line structure: the imported code must
    run (was: the new text was compiled and run, 7x the original's result)."""
    import importlib
    import os
    import sys
    import time

    path = tmp_path / "same_lines_changed.py"
    path.write_text("import numpy as np\n\n\ndef f(xs):\n    acc = 0.0\n    for t in xs:\n"
                    "        acc = acc + np.sum(t.numpy() * 1)\n    return acc\n")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("same_lines_changed")
    finally:
        sys.path.remove(str(tmp_path))
    decorated = looplift(compile=False)(module.f)
    path.write_text(path.read_text().replace("* 1)", "* 7)"))
    os.utime(path, (time.time() + 10, time.time() + 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_calls(module.f, decorated, ([floats(0), floats(1)],))
    sys.modules.pop("same_lines_changed", None)


def test_function_from_exec_without_module_name_still_warns() -> None:
    """A function whose globals have no ``__name__`` (``exec(src, {"np": np})``) runs as the
    original; the LoopliftWarning saying so must be shown (was: silently dropped, because
    ``warnings.warn_explicit(..., module=None)`` records nothing)."""
    namespace = {"np": np}
    exec("def g(xs):\n    acc = 0.0\n    for t in xs:\n        acc = acc + np.sum(t.numpy())\n    return acc\n",
         namespace)
    decorated = looplift(compile=False)(namespace["g"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert decorated([floats(0)]) == namespace["g"]([floats(0)])
    assert any(issubclass(w.category, LoopliftWarning) for w in caught), \
        "no LoopliftWarning for a function that runs as the original"


@pytest.mark.parametrize("n", [N, 4], ids=["large", "small"])
def test_recursive_function_is_rewritten(n: int) -> None:
    """A function that calls itself through its module global is an ordinary function: it
    should be rewritten, not refused (was: "rewritten code refers to unknown variables ['f']",
    then "the source file changed since the function was defined", although nothing changed).
    Results were right either way; this is a refusal without reason."""
    source = '''
import numpy as np
from looplift import looplift

@looplift(compile=False)
def f(xs, n):
    if n == 0:
        return 0.0
    acc = 0.0
    for t in xs:
        acc = acc + np.sum(np.exp(t.numpy()))
    return acc + f(xs, n - 1)
'''
    with loaded(source, "regression") as module:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module.f([floats(0, n)], 2)
        reasons = [str(w.message) for w in caught if issubclass(w.category, LoopliftWarning)]
        assert not any("runs as the original code" in r for r in reasons), reasons


# --------------------------------------------------------------------------------------------
# Internal errors: looplift's analysis crashed and the whole function ran as the original
# (found by the 3000-program campaign, seed 1: 8 programs).

@pytest.mark.parametrize("shape", [(130, 128), (2, 3)], ids=["large", "small"])
def test_tuple_index_with_a_slice_does_not_crash_the_analysis(shape) -> None:
    """``a[:, 0]`` made the analysis fail with ``TypeError: unhashable type: 'slice'`` (a
    ``slice`` object in a value that is hashed when joined), so the function was not rewritten
    at all ("runs as the original code: internal error")."""
    source = '''
import numpy as np

def f(xs):
    out = []
    for t in xs:
        a = t.numpy()
        out.append(a[:, 0])
    return out
'''
    xs = [torch.ones(shape), torch.zeros(shape)]
    with loaded(source, "regression") as module:
        decorated = looplift(compile=False)(module.f)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compare_calls(module.f, decorated, (xs,))
        internal = [str(w.message) for w in caught if "internal error" in str(w.message)]
        assert not internal, internal


def test_augmented_assignment_on_a_maybe_scalar_rebinds_to_a_tensor() -> None:
    """Fuzzer, seed 12 with ``compile="auto"``: ``acc`` is an array on one path and a lifted NumPy
    scalar on the other; ``acc += w`` with a tensor ``w`` rebinds the scalar to a *tensor*, so the
    next ``np.sum(acc)`` raises in the original.  The analysis took ``+=`` as in place for every
    alternative, kept ``acc`` lifted, and the tensor path summed the tensor (no exception)."""
    differential('''
import numpy as np

def f(xs, w):
    acc = np.zeros((3,), dtype=np.float32)
    for t in xs:
        acc = np.exp(np.sum(t.numpy()))
    for t in xs:
        v = np.sum(acc)
        acc += w
    return acc
''', [ints(0, 3), ints(1, 3)], torch.tensor(2, dtype=torch.int32))
