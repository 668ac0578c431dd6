"""Stage 3, ``looplift.signature``: the specialization key of a call."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import DTYPES, make_tensor
from looplift.lattice import ArrayV, ListV, PyScalarV, TensorV, TupleV, BOTTOM
from looplift.signature import LARGE, LARGE_NUMEL, MEDIUM, SMALL, SMALL_NUMEL, abstract_of, key_of, largest_class


def k(*args, **kwargs):
    return key_of(args, kwargs)


def test_same_dtype_ndim_size_class_share_a_key():
    assert k(torch.zeros(3, 4)) == k(torch.ones(5, 2))
    assert k(torch.zeros(128, 128)) == k(torch.zeros(200, 100))
    assert k(np.zeros(3)) == k(np.ones(7))
    # a plain argument's size decides nothing (only list and tuple items feed the cost model)
    assert k(torch.zeros(3)) == k(torch.zeros(SMALL_NUMEL)) and k(np.zeros(3)) == k(np.zeros(1 << 18))
    hash(k(torch.zeros(3), np.zeros(2), 1, 2.0, "s", None, [torch.zeros(1)], x=3))


@pytest.mark.parametrize("a, b", [
    (torch.zeros(3), torch.zeros(3, dtype=torch.float64)),                  # dtype
    (torch.zeros(3), torch.zeros(3, dtype=torch.int32)),
    (torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=torch.bool)),
    (torch.zeros(3), torch.zeros(1, 3)),                                    # ndim
    (torch.zeros(()), torch.zeros(1)),                                      # 0-d vs 1-d
    (torch.zeros(3), torch.zeros(3, requires_grad=True)),                   # requires_grad
    (torch.zeros(3), torch.zeros(3, device="meta")),                        # device
    ([torch.zeros(3)], [torch.zeros(SMALL_NUMEL)]),                         # item size class
    ((torch.zeros(3),), (torch.zeros(SMALL_NUMEL),)),
    (torch.zeros(3), torch.nn.Parameter(torch.zeros(3))),                   # tensor subclass
    (torch.zeros(3), np.zeros(3, dtype=np.float32)),                        # tensor vs array
    (np.zeros(3), np.zeros(3, dtype=np.float32)),                           # array dtype
    (np.zeros(3), np.zeros((1, 3))),                                        # array ndim
    ([np.zeros(3)], [np.zeros(SMALL_NUMEL)]),                               # item size class
    (1, 1.0), (1, True), (1.0, np.float64(1.0)), (None, "x"),               # scalar types
    ([torch.zeros(3)], (torch.zeros(3),)),                                  # list vs tuple
    ([torch.zeros(3)], [torch.zeros(3, dtype=torch.int64)]),                # list element key
    ([], [torch.zeros(3)]),                                                 # empty list
    ([1], [1.0]),
])
def test_keys_separate(a, b):
    assert k(a) != k(b)


def test_lists_are_keyed_by_their_first_element():
    first = torch.zeros(3)
    assert k([first, torch.zeros(2, 2, dtype=torch.int64)]) == k([first])
    assert k([first, "anything", None]) == k([torch.ones(7)])
    assert k([[first]]) == k([[torch.ones(2)], []])
    assert k([]) == k([])
    assert k(()) != k([])


def test_kwargs_are_keyed_by_name_in_any_order():
    t = torch.zeros(3)
    assert k(t, a=1, b=2.0) == k(t, b=2.0, a=1)
    assert k(t, a=1) != k(t, b=1)
    assert k(t, a=1) != k(t, 1)          # keyword vs positional
    assert k(t, a=1) != k(t, a=1.0)
    assert k(t, a=torch.zeros(2)) != k(t, a=torch.zeros(2, dtype=torch.int32))


def test_key_holds_no_tensors_or_arrays():
    key = k(torch.zeros(3), [torch.zeros(3)], np.zeros(2), (torch.zeros(1),), x=torch.ones(2))

    def walk(part):
        assert not isinstance(part, (torch.Tensor, np.ndarray)), part
        if isinstance(part, tuple):
            for p in part:
                walk(p)

    walk(key)


@given(st.sampled_from(list(DTYPES)), st.sampled_from([(), (0,), (4,), (2, 3), (1, 2, 3)]),
       st.sampled_from(list(DTYPES)), st.sampled_from([(), (0,), (4,), (2, 3), (1, 2, 3)]))
def test_key_equality_matches_abstract_equality(d1, s1, d2, s2):
    """Two small tensors share a key exactly when the analysis sees the same abstract value."""
    a, b = make_tensor(d1, s1, 0), make_tensor(d2, s2, 1)
    assert (k(a) == k(b)) == (abstract_of(a) == abstract_of(b))


def test_abstract_of():
    assert abstract_of(torch.zeros(2, 3, dtype=torch.int32)) == TensorV(torch.int32, 2, "cpu", False)
    assert abstract_of(torch.zeros(2, requires_grad=True)) == TensorV(torch.float32, 1, "cpu", True)
    assert abstract_of(np.zeros((2, 2))) == ArrayV(np.dtype("float64"), 2)
    assert abstract_of(np.float32(1)) == ArrayV(np.dtype("float32"), 0, scalar=True)
    assert abstract_of(3) == PyScalarV(int)
    assert abstract_of(True) == PyScalarV(bool)
    assert abstract_of([torch.zeros(2)]) == ListV(TensorV(torch.float32, 1, "cpu", False), local=False)
    assert abstract_of([]) == ListV(BOTTOM, local=False)
    assert abstract_of((1, 2)) == TupleV((PyScalarV(int), PyScalarV(int)))  # short tuples item by item


def test_largest_class():
    assert largest_class(torch.zeros(3)) == SMALL
    assert largest_class(torch.zeros(SMALL_NUMEL)) == MEDIUM
    assert largest_class(torch.zeros(SMALL_NUMEL - 1)) == SMALL
    assert largest_class(np.zeros(LARGE_NUMEL)) == LARGE
    assert largest_class([]) == SMALL
    assert largest_class([torch.zeros(LARGE_NUMEL), torch.zeros(1)]) == LARGE
    assert largest_class([torch.zeros(1), torch.zeros(LARGE_NUMEL)]) == SMALL  # first element decides
    assert largest_class((torch.zeros(1), torch.zeros(SMALL_NUMEL))) == MEDIUM  # short tuples: every item