"""docs/supported-ops.md is generated from the registry and must be up to date."""
from __future__ import annotations

from looplift.registry import docs, entries


def test_supported_ops_file_is_up_to_date() -> None:
    expected = docs.render_markdown()
    actual = docs.DOCS_FILE.read_text(encoding="utf-8") if docs.DOCS_FILE.exists() else ""
    assert actual == expected, "docs/supported-ops.md is out of date: run `python -m looplift.registry.docs`"


def test_every_entry_belongs_to_a_documented_group() -> None:
    unknown = sorted({e.key for e in entries() if docs.group_of(e) not in docs.GROUPS})
    assert not unknown, f"entries whose tensor path lives outside the entry modules: {unknown}"


def test_text_table_lists_every_selected_operation() -> None:
    selected = docs.select("linalg")
    text = docs.render_text(selected)
    assert selected and all(e.key in text for e in selected)
    assert text.splitlines()[0] == f"{len(selected)} operations"
