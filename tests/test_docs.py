"""Every ```python block in ``docs/*.md`` and ``README.md`` runs.

A block whose fence says ```` ```python fragment ```` is an illustration that needs context it
does not define (a ``loader``, a ``model``): it is compiled, so it must be valid Python, but not
run.  Every other ```python block runs.  Blocks of one file run in order in one namespace (a later block may use an earlier block's
definitions), like cells of a notebook.  Each block is written to a real file before it runs, so
functions defined in the docs have source that ``inspect`` (and so ``@looplift``) can read, and a
traceback names the Markdown file and line: ``<tmp>/getting-started.md_L42.py`` is the block that
starts on line 42 of ``docs/getting-started.md``.
"""
from __future__ import annotations

import os
import re
import sys
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")


def python_blocks(text: str, *, fragments: bool = False) -> list[tuple[int, str]]:
    """(first line number of the code, code) for each ```python block to run (``fragments``: for
    each ```python fragment block instead)."""
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip().split()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])
            j += 1
        if info and info[0] in ("python", "py") and ("fragment" in info[1:]) == fragments:
            blocks.append((i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def test_block_extraction() -> None:
    text = "intro\n```python\nx = 1\n```\n\n```console\n$ looplift demo\n```\n```python\ny = x + 1\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = x + 1\n")]


def test_fragments_are_separate() -> None:
    text = "```python fragment\nfor batch in loader:\n    pass\n```\n```python\nx = 1\n```\n"
    assert python_blocks(text) == [(6, "x = 1\n")]
    assert python_blocks(text, fragments=True) == [(2, "for batch in loader:\n    pass\n")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_fragments_compile(page: Path) -> None:
    for line, code in python_blocks(page.read_text(), fragments=True):
        try:
            compile(code, f"{page.name}:{line}", "exec")
        except SyntaxError as exc:
            raise AssertionError(f"{page.relative_to(ROOT)}, the fragment at line {line}: {exc}") from exc


def test_every_docs_page_is_collected() -> None:
    names = {p.name for p in PAGES}
    for page in ("README.md", "index.md", "getting-started.md", "how-it-works.md", "guarantees.md",
                 "options.md", "debugging.md", "faq.md"):
        assert page in names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    for name in ("LOOPLIFT_DISABLE", "LOOPLIFT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOOPLIFT_LIFT", "auto")  # the samples run as users run them
    monkeypatch.chdir(tmp_path)
    module_name = "looplift_docs_" + re.sub(r"\W", "_", page.stem)
    module = types.ModuleType(module_name)
    monkeypatch.setitem(sys.modules, module_name, module)
    environ = dict(os.environ)
    try:
        with warnings.catch_warnings():
            for line, code in blocks:
                path = tmp_path / f"{page.name}_L{line}.py"
                path.write_text(code)
                compiled = compile(code, str(path), "exec")
                try:
                    exec(compiled, module.__dict__)
                except BaseException as exc:
                    raise AssertionError(f"{page.relative_to(ROOT)}, the block at line {line} failed: "
                                         f"{type(exc).__name__}: {exc}") from exc
    finally:
        os.environ.clear()
        os.environ.update(environ)


def how_it_works_report(tmp_path: Path) -> tuple[str, str, int, int]:
    """(the text today's ``explain`` prints, the page, and where the pasted report sits in it)."""
    import contextlib
    import io

    page = ROOT / "docs" / "how-it-works.md"
    text = page.read_text()
    line, code = python_blocks(text)[0]
    path = tmp_path / f"{page.name}_L{line}.py"
    path.write_text(code)
    module = types.ModuleType("looplift_docs_how_it_works_check")
    buffer = io.StringIO()
    saved = os.environ.get("LOOPLIFT_LIFT")
    os.environ["LOOPLIFT_LIFT"] = "auto"  # the page shows the cost model users get
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, str(path), "exec"), module.__dict__)
    finally:
        if saved is None:
            del os.environ["LOOPLIFT_LIFT"]
        else:
            os.environ["LOOPLIFT_LIFT"] = saved
    start = text.index("```text\nlooplift: ") + len("```text\n")
    return buffer.getvalue().rstrip("\n"), text, start, text.index("\n```", start)


def test_how_it_works_shows_the_current_rewrite(tmp_path: Path) -> None:
    """The report pasted in docs/how-it-works.md is what ``explain`` prints today.

    When looplift's rewrite or report wording changes, regenerate it (and reread the page's
    prose): ``python tests/test_docs.py --regenerate``."""
    printed, text, start, end = how_it_works_report(tmp_path)
    assert text[start:end] == printed, (
        "docs/how-it-works.md shows an outdated report (python tests/test_docs.py --regenerate); "
        f"today it is:\n{printed}")


if __name__ == "__main__" and sys.argv[1:] == ["--regenerate"]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        printed, text, start, end = how_it_works_report(Path(scratch))
    (ROOT / "docs" / "how-it-works.md").write_text(text[:start] + printed + text[end:])
    print("docs/how-it-works.md: report regenerated")
