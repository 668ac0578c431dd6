"""Marker comments: an unknown value is reported with its file and line, never ignored."""
from __future__ import annotations

import warnings

import pytest

from looplift import LoopliftError, LoopliftWarning
from looplift.pragmas import Mark, comment_marks

TEXT = (
    "def f(xs):\n"
    "    for x in xs:  # looplift: maybe\n"
    "        pass\n"
    "    for x in xs:  # looplift: off  (needs exact sums)\n"
    "        pass\n"
    "    for x in xs:  # looplift makes this fast\n"
    "        pass\n"
)


def test_unknown_marker_warns_with_file_and_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        marks = comment_marks(TEXT, 20, "model.py")
    assert marks == {23: Mark.OFF}  # a reason after the value is fine; prose is not a marker
    assert len(caught) == 1
    warning = caught[0]
    assert issubclass(warning.category, LoopliftWarning)
    assert (warning.filename, warning.lineno) == ("model.py", 21)
    assert str(warning.message).startswith("unknown looplift marker '# looplift: maybe' (use '# looplift', "
                                           "'# looplift: on', '# looplift: off'")


def test_unknown_marker_under_strict_raises() -> None:
    with pytest.raises(LoopliftError, match=r"^model.py:21: unknown looplift marker '# looplift: maybe'"):
        comment_marks(TEXT, 20, "model.py", strict=True)
