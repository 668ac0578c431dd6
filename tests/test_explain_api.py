"""``explain`` on methods and partials, and arguments it would not accept (like a call)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from looplift import explain, looplift


class Evaluator:
    def __init__(self, scale: float) -> None:
        self.scale = scale

    @looplift(compile=False)
    def scores(self, xs):
        out = []
        for x in xs:
            out.append(np.tanh(x.numpy()) * self.scale)
        return out

    def plain(self, xs):
        return [np.tanh(x.numpy()) for x in xs]

    @classmethod
    @looplift(compile=False)
    def build(cls, xs):
        return [np.tanh(x.numpy()) for x in xs]


def energies(xs, scale=1.0, *, eps=0.0):
    return [np.tanh(x.numpy()) * scale + eps for x in xs]


XS = [torch.randn(8, 8) for _ in range(2)]


@pytest.mark.parametrize("method", [Evaluator(2.0).scores, Evaluator(2.0).plain, Evaluator.build])
def test_bound_methods_pass_self(method: object) -> None:
    report = explain(method, XS)
    assert report.fallback is None
    assert "arguments do not match" not in str(report)


def test_partial() -> None:
    report = explain(functools.partial(energies, scale=2.0), XS)
    assert report.fallback is None


@pytest.mark.parametrize("args, kwargs, message", [
    ((XS, 1, 2, 3), {}, "energies(): too many positional arguments"),
    ((), {}, "energies(): missing a required argument: 'xs'"),
    ((XS,), {"nope": 1}, "energies(): got an unexpected keyword argument 'nope'"),
])
def test_arguments_that_do_not_match_raise_type_error(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(TypeError) as info:
        explain(energies, *args, **kwargs)
    assert str(info.value) == message
    with pytest.raises(TypeError):
        energies(*args, **kwargs)  # as the call would


def test_decorated_method_with_wrong_arguments() -> None:
    with pytest.raises(TypeError, match=r"Evaluator.scores\(\): too many positional arguments"):
        explain(Evaluator(1.0).scores, XS, XS)
