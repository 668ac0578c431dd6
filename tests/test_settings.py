"""Settings are checked where they enter, with one-line errors: decorator options at decoration,
environment variables by their readers (``looplift.options``) and at decoration."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from looplift import LoopliftError, SettingError, explain, looplift
from looplift import options as opts

ROOT = Path(__file__).resolve().parents[1]


def energies(xs):
    return [np.tanh(x.numpy()) for x in xs]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cache_size": "a"}, TypeError, "cache_size must be an int, not str ('a')"),
    ({"cache_size": 2.0}, TypeError, "cache_size must be an int"),
    ({"cache_size": True}, TypeError, "cache_size must be an int"),
    ({"cache_size": 0}, ValueError, "cache_size must be at least 1, not 0"),
    ({"compile": "yes"}, ValueError, "compile must be True, False or 'auto', not 'yes'"),
    ({"compile": 1}, TypeError, "compile must be True, False or 'auto', not 1"),
    ({"debug": 1}, TypeError, "debug must be a bool, not 1"),
    ({"strict": "no"}, TypeError, "strict must be a bool"),
])
def test_decorator_options(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        looplift(**kwargs)(energies)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("raw, expected", [
    ("1", True), ("true", True), ("YES", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("off", False), ("", False),
])
def test_flags_accept_the_documented_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("LOOPLIFT_DEBUG", raw)
    monkeypatch.setenv("LOOPLIFT_DISABLE", raw)
    assert opts.debug_enabled(opts.Options()) is expected
    assert opts.disabled() is expected


def test_unset_flags_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPLIFT_DEBUG", raising=False)
    monkeypatch.delenv("LOOPLIFT_DISABLE", raising=False)
    assert not opts.disabled() and not opts.debug_enabled(opts.Options())
    assert opts.debug_enabled(opts.Options(debug=True))


@pytest.mark.parametrize("name", ["LOOPLIFT_DEBUG", "LOOPLIFT_DISABLE"])
@pytest.mark.parametrize("raw", ["2", "enabled", "tru"])
def test_other_flag_values_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, name: str, raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(SettingError) as info:
        opts.check_environment()
    assert str(info.value) == (f"{name}={raw!r} is not a valid value: use 1/0, true/false, yes/no, on/off, "
                               "or leave it empty")
    assert isinstance(info.value, ValueError) and isinstance(info.value, LoopliftError)


@pytest.mark.parametrize("raw, mode", [("", "auto"), ("AUTO", "auto"), ("always", "always"), (" never", "never")])
def test_lift_mode(monkeypatch: pytest.MonkeyPatch, raw: str, mode: str) -> None:
    monkeypatch.setenv("LOOPLIFT_LIFT", raw)
    assert opts.lift_mode() == mode


def test_lift_mode_unset_is_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPLIFT_LIFT", raising=False)
    assert opts.lift_mode() == "auto"


def test_bad_lift_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLIFT_LIFT", "bogus")
    with pytest.raises(SettingError, match=r"^LOOPLIFT_LIFT='bogus' is not a valid value: use auto, always or never$"):
        opts.lift_mode()


def test_a_bad_variable_fails_at_decoration_and_in_explain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLIFT_DEBUG", "2")
    with pytest.raises(SettingError, match="LOOPLIFT_DEBUG='2'"):
        looplift(energies)
    with pytest.raises(SettingError, match="LOOPLIFT_DEBUG='2'"):
        looplift(compile=False)
    with pytest.raises(SettingError, match="LOOPLIFT_DEBUG='2'"):
        explain(energies, [])


def test_a_bad_variable_is_one_line_for_a_script() -> None:
    """What a user sees: the last line of the traceback names the variable and the values."""
    code = "from looplift import looplift\n@looplift\ndef f(xs):\n    return xs\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "LOOPLIFT_LIFT": "bogus", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == ("looplift.errors.SettingError: LOOPLIFT_LIFT='bogus' is not a valid "
                                            "value: use auto, always or never")
