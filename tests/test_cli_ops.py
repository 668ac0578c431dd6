"""``looplift ops``: the supported-operations table in the terminal."""
from __future__ import annotations

import pytest

from looplift.cli.main import main
from looplift.registry import docs, entries


def test_ops_prints_every_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{len(entries())} operations"
    assert all(e.key in out for e in entries())


def test_ops_filter_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "--format", "markdown", "linalg"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == docs.render_markdown(docs.select("linalg")).strip()
    assert "numpy.linalg.norm" in out and "numpy.exp" not in out


def test_ops_without_match_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "no-such-operation"]) == 1
    assert "no supported operation" in capsys.readouterr().err
