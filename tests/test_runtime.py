"""The run-time helpers of rewritten code: guarded lifts and materialization (compiled regions:
``test_compiled_region.py``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from looplift.runtime import convert


def test_lift_keeps_the_tensor_when_the_guard_holds():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert convert.lift_method(t, "float32", 2, ()) is t


@pytest.mark.parametrize("dtype, ndim", [("float64", 2), ("float32", 1)])
def test_lift_converts_when_the_tensor_is_not_what_was_assumed(dtype, ndim):
    t = torch.ones(2, 3)
    result = convert.lift_method(t, dtype, ndim, ())
    assert isinstance(result, np.ndarray) and np.shares_memory(result, t.numpy())


def test_lift_reproduces_the_original_error_for_a_tensor_that_requires_grad():
    t = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        convert.lift_method(t, "float32", 2, ())
    lifted = convert.lift_method(t, "float32", 2, ("detach",))
    assert isinstance(lifted, torch.Tensor) and not lifted.requires_grad


def test_lift_call_copies_where_np_array_copies():
    t = torch.ones(3, 4)
    copied = convert.lift_call(np.array, t, "float32", 2, (), True)
    shared = convert.lift_call(np.asarray, t, "float32", 2, (), False)
    assert copied is not t and not copied.data_ptr() == t.data_ptr()
    assert shared is t


def test_materialize_gives_numpy_scalars_for_0d_and_arrays_otherwise():
    assert type(convert.materialize(torch.tensor(1.5, dtype=torch.float32))) is np.float32
    assert type(convert.materialize(torch.tensor(3))) is np.int64
    array = convert.materialize(torch.ones(2, dtype=torch.float64))
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    assert convert.materialize("text") == "text"


def test_materialize_converts_lists_in_place_and_tuples_into_new_tuples():
    items = [torch.tensor(1.0), 2, [torch.ones(2)]]
    same = convert.materialize(items)
    assert same is items and type(items[0]) is np.float32 and isinstance(items[2][0], np.ndarray)
    pair = convert.materialize((torch.tensor(1), "a"))
    assert type(pair[0]) is np.int64 and pair[1] == "a"


def test_to_tensor_of_a_lifted_value_keeps_the_copy_semantics():
    a = torch.ones(3)
    shared = convert.to_tensor(torch.from_numpy, a)
    assert shared is not a and shared.data_ptr() == a.data_ptr()
    copied = convert.to_tensor(torch.tensor, a)
    assert copied is not a and torch.equal(copied, a)
    with pytest.raises(TypeError):
        convert.to_tensor(torch.from_numpy, torch.tensor(1.0))  # NumPy scalars have no from_numpy
