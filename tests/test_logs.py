"""``looplift.logs``: category loggers, ``LOOPLIFT_LOGS``, and never touching the root logger."""
from __future__ import annotations

import logging
from typing import Iterator

import pytest

from looplift import SettingError, logs


@pytest.fixture(autouse=True)
def clean_loggers() -> Iterator[None]:
    logs.reset()
    yield
    logs.reset()


def test_categories_are_children_of_looplift() -> None:
    for name, logger in logs.CATEGORIES.items():
        assert logger.name == f"looplift.{name}"
        assert logger.parent is logs.root
    assert logs.cache is logging.getLogger("looplift.cache")


@pytest.mark.parametrize("spec, levels", [
    ("cache", {"cache": logging.INFO}),
    ("+cache, compile", {"cache": logging.DEBUG, "compile": logging.INFO}),
    ("-fallback", {"fallback": logging.WARNING}),
    ("+all", {"all": logging.DEBUG}),
    ("Cache,,host_reads", {"cache": logging.INFO, "host_reads": logging.INFO}),
    ("", {}),
])
def test_parse(spec: str, levels: dict[str, int]) -> None:
    assert logs.parse(spec) == levels


@pytest.mark.parametrize("spec", ["cahce", "+", "cache;compile", "++cache"])
def test_unknown_categories_are_one_line_errors(spec: str) -> None:
    with pytest.raises(SettingError) as info:
        logs.parse(spec)
    assert str(info.value).startswith("LOOPLIFT_LOGS: unknown category")
    assert "specialize, cache, fallback, compile" in str(info.value) and "\n" not in str(info.value)


def test_enabled_categories_print_to_stderr_and_others_stay_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    root_handlers = list(logging.getLogger().handlers)
    logs.enable(logs.parse("+cache,compile"))
    logs.cache.debug("miss: %s", "f")
    logs.compile.info("kept the compiled version")
    logs.compile.debug("not shown: compile is at INFO")
    logs.specialize.info("not shown: not enabled")
    logging.getLogger("filelock").debug("not shown: not ours")
    err = capsys.readouterr().err
    assert err.splitlines() == ["[looplift.cache] DEBUG: miss: f", "[looplift.compile] INFO: kept the compiled version"]
    assert logging.getLogger().handlers == root_handlers  # the root logger is untouched
    assert not logging.getLogger("filelock").isEnabledFor(logging.DEBUG)


def test_all_enables_every_category_once(capsys: pytest.CaptureFixture[str]) -> None:
    logs.enable_all(logging.INFO)
    logs.enable_all(logging.DEBUG)  # a second call adds no second handler
    for logger in logs.CATEGORIES.values():
        logger.debug("x")
    assert len(capsys.readouterr().err.splitlines()) == len(logs.CATEGORIES)


def test_configure_from_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOPLIFT_LOGS", "specialize")
    logs.configure_from_environment()
    logs.specialize.info("new specialization")
    assert capsys.readouterr().err == "[looplift.specialize] INFO: new specialization\n"
    monkeypatch.setenv("LOOPLIFT_LOGS", "bogus")
    with pytest.raises(SettingError, match="unknown category 'bogus'"):
        logs.configure_from_environment()


def test_unset_variable_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPLIFT_LOGS", raising=False)
    logs.configure_from_environment()
    assert logs.root.handlers == [] and logs.root.propagate


def test_reset_restores_propagation() -> None:
    logs.enable_all(logging.INFO)
    assert not logs.root.propagate
    logs.reset()
    assert logs.root.propagate and logs.root.handlers == [] and logs.cache.level == logging.NOTSET


def test_all_but_one_category(capsys: pytest.CaptureFixture[str]) -> None:
    logs.enable(logs.parse("+all,-scan"))
    logs.scan.info("not shown")
    logs.cache.debug("shown")
    assert capsys.readouterr().err == "[looplift.cache] DEBUG: shown\n"
