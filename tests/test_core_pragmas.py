"""Stage 2, ``looplift.pragmas``: ``# looplift`` / ``# looplift: off`` comments and the
``looplift.loop(xs)`` marker, and what they do to a specialization (opt-in, opt-out)."""
from __future__ import annotations

import ast

import numpy as np
import pytest
import torch

import looplift
from conftest import BIG, lift
from looplift import explain, loop
from looplift.pragmas import Mark, comment_marks, is_loop_marker, loop_marks
from looplift.source import load

pytestmark = pytest.mark.lift("always")  # lifting forced: these tests check lifted code on small CPU inputs


def test_loop_marker_is_the_identity():
    xs = [1, 2, 3]
    assert looplift.loop(xs) is xs
    assert loop is looplift.loop
    gen = iter(xs)
    assert loop(gen) is gen


def test_comment_marks_absolute_lines():
    text = (
        "def f(xs):\n"
        "    for x in xs:  # looplift\n"
        "        pass\n"
        "    for x in xs:  # looplift: off\n"
        "        pass\n"
        "    while xs:  #LoopLift : OFF\n"
        "        break\n"
        "    for x in xs:  # looplift:on\n"
        "        pass\n"
        "    for x in xs:  # looplift: skip\n"
        "        pass\n"
        "    for x in xs:  # looplift: no\n"
        "        pass\n"
    )
    marks = comment_marks(text, first_line=100)
    assert marks == {101: Mark.ON, 103: Mark.OFF, 105: Mark.OFF, 107: Mark.ON, 109: Mark.OFF, 111: Mark.OFF}


def test_comment_marks_ignore_strings_and_other_comments():
    text = (
        "def f(xs):\n"
        "    s = '# looplift'  # a comment about looplift\n"
        "    for x in xs:  # noqa: looplift\n"
        "        t = \"# looplift: off\"\n"
        "    # looplift is great\n"
    )
    assert comment_marks(text, 1) == {}


def test_comment_marks_tolerate_broken_text():
    assert comment_marks("def f(:\n    '''unterminated", 1) == {}


def marked(xs, ys, zs):
    a = 0
    for x in looplift.loop(xs):
        a += x
    for y in loop(ys):
        a += y
    for z in zs:  # looplift: off
        a += z
    for z in loop(zs):  # looplift: off
        a += z
    while a > 100:  # looplift
        a -= 1
    for z in zs:
        for w in zs:
            a += w
    return a


def test_loop_marks_of_a_function():
    loaded = load(marked)
    marks = loop_marks(loaded.node, loaded.text, loaded.first_line, marked.__globals__)
    loops = [n for n in ast.walk(loaded.node) if isinstance(n, (ast.For, ast.While))]
    by_line = {n.lineno - loaded.node.lineno: marks[n] for n in loops}
    assert by_line == {
        2: Mark.ON,     # looplift.loop(xs)
        4: Mark.ON,     # loop(ys)
        6: Mark.OFF,    # comment
        8: Mark.OFF,    # the comment wins over the marker
        10: Mark.ON,    # comment on a while loop
        12: Mark.NONE,
        13: Mark.NONE,
    }


def test_is_loop_marker_resolves_names():
    def call(src):
        return ast.parse(src, mode="eval").body

    g = {"looplift": looplift, "loop": loop, "other": lambda xs: xs, "np": np}
    assert is_loop_marker(call("looplift.loop(xs)"), g)
    assert is_loop_marker(call("loop(xs)"), g)
    assert not is_loop_marker(call("other(xs)"), g)
    assert not is_loop_marker(call("np.loop(xs)"), g)
    assert not is_loop_marker(call("loop(xs, ys)"), g)
    assert not is_loop_marker(call("loop(xs=xs)"), g)
    assert not is_loop_marker(call("xs"), g)
    assert not is_loop_marker(call("loop(xs)"), {"loop": lambda xs: xs})  # a different loop()


# --------------------------------------------------------------------------- effect on specialization
def two_loops(W, xs):
    out = []
    for x in xs:
        out.append(np.sum(W.numpy() * x))
    for x in looplift.loop(xs):
        out.append(np.sum(W.numpy() - x))
    return out


def two_loops_commented(W, xs):
    out = []
    for x in xs:  # looplift: off
        out.append(np.sum(W.numpy() * x))
    for x in xs:  # looplift
        out.append(np.sum(W.numpy() - x))
    return out


def _hoisted_lines(report) -> list[int]:
    return [d.line for d in report.hoisted]


def test_default_hoists_every_loop():
    report = explain(lift(two_loops), torch.ones(3), [1.0, 2.0])
    assert len(report.hoisted) == 2


def test_opt_in_touches_only_marked_loops():
    fn = lift(two_loops, opt_in=True)
    report = explain(fn, torch.ones(3), [1.0, 2.0])
    first = two_loops.__code__.co_firstlineno
    assert _hoisted_lines(report) == [first + 5]
    W, xs = torch.arange(3.0), [1.0, 2.0]
    assert fn(W, xs) == two_loops(W, xs)


def test_comments_opt_out_and_in():
    first = two_loops_commented.__code__.co_firstlineno
    report = explain(lift(two_loops_commented), torch.ones(3), [1.0])
    assert _hoisted_lines(report) == [first + 5]  # the "off" loop is left alone
    report = explain(lift(two_loops_commented, opt_in=True), torch.ones(3), [1.0])
    assert _hoisted_lines(report) == [first + 5]


def lifted_loops(batches):
    out = []
    for t in batches:  # looplift: off
        out.append(np.exp(t.numpy()))
    for t in batches:
        out.append(np.exp(t.numpy()))
    return out


def test_off_loop_is_not_lifted():
    batches = [torch.zeros(BIG)]
    report = explain(lift(lifted_loops), batches)
    first = lifted_loops.__code__.co_firstlineno
    lifted = {d.line for d in report.rewritten}
    assert first + 3 not in lifted
    assert first + 5 in lifted
    result = lift(lifted_loops)(batches)
    assert all(type(r) is np.ndarray for r in result)


def test_opt_in_without_marks_changes_nothing():
    report = explain(lift(lifted_loops, opt_in=True), [torch.zeros(BIG)])
    assert not report.changed
