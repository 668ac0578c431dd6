"""What a specialization did, line by line: the result of ``looplift.explain``.

``Report`` is a plain dataclass.  Its text (``str``), its one-line ``repr`` and its IPython
display are rendered from the fields themselves, section by section in field order: a list field
is a section of one line per item, a dict field one line per key, a string field one line.  A
new kind of decision is one new field (with a ``title`` in its metadata when the field name does
not read well) and renders without changes here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Decision:
    """One line of the report: what happened at a line, and why."""

    line: int
    what: str
    reason: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}" + (f" ({self.reason})" if self.reason else "")


#: Fields drawn in the header or at the end, not as sections.
_FRAME = ("function", "signature", "original_source", "source", "fallback")


def _section(title: str) -> Any:
    """A list field titled ``title`` in the text (``left as NumPy / original`` for ``skipped``)."""
    return field(default_factory=list, metadata={"title": title})


@dataclass
class Report:
    function: str
    signature: str
    original_source: str
    source: str = ""
    hoisted: list[Decision] = field(default_factory=list)
    rewritten: list[Decision] = field(default_factory=list)
    materialized: list[Decision] = field(default_factory=list)
    regions: list[Decision] = field(default_factory=list)
    """Lowered operations run together, each region with its guard (``analysis/regions.py``)."""
    compiled: list[Decision] = field(default_factory=list)
    batched: list[Decision] = field(default_factory=list)
    skipped: list[Decision] = _section("left as NumPy / original")
    host_reads: list[Decision] = _section("host reads in loops (each one waits for the device)")
    """Every read of tensor data by the host in a loop of the original, with what the rewrite does."""
    reads: str = field(default="", metadata={"title": "host reads"})
    """The ledger's totals: reads per iteration in the original and the rewrite, exits."""
    cost: str = field(default="", metadata={"title": "cost model", "first": True})
    unknown: list[int] = _section("types observed at the first call, for the lines")
    """Lines in loops whose values' types the code alone does not give: observed at the first call."""
    fallback: str | None = None
    """Set when the whole function runs as the original code: why."""

    @property
    def decisions(self) -> list[Decision]:
        """Every decision of every section, by line."""
        every = [d for _, _, value in self._sections() if isinstance(value, list)
                 for d in value if isinstance(d, Decision)]
        return sorted(every, key=lambda d: d.line)

    @property
    def changed(self) -> bool:
        return bool(self.hoisted or self.rewritten or self.compiled)

    def counts(self) -> dict[str, int]:
        """Section name -> number of items, for the sections that have any."""
        return {name: len(value) for name, _, value in self._sections()
                if isinstance(value, (list, tuple, dict)) and value}

    def __str__(self) -> str:
        lines = [f"looplift: {self.function} specialized for {self.signature}"]
        if self.fallback:
            lines.append(f"  runs as the original code: {self.fallback}")
        for _, title, value in self._sections():
            if not value:
                continue
            if isinstance(value, (list, tuple)):
                lines.append(f"  {title}:")
                lines.extend(f"    {item}" for item in value)
            elif isinstance(value, dict):
                lines.append(f"  {title}:")
                lines.extend(f"    {key}: {item}" for key, item in value.items())
            else:
                lines.append(f"  {title}: {value}")
        if self.source and not self.fallback:
            lines.append("  rewritten source:")
            lines.extend("    " + line for line in self.source.splitlines())
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts().items()) or "no decisions"
        tail = f"; runs as the original code: {self.fallback}" if self.fallback else ""
        return f"<Report {self.function} for {self.signature or '?'}: {counts}{tail}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython shows the whole report, as ``print`` does."""
        printer.text(repr(self) if cycle else str(self))

    def _sections(self) -> list[tuple[str, str, Any]]:
        """(field name, title, value) of every field that is a section: those marked ``first``
        in their metadata (the cost model's decision), then the others in field order."""
        ordered = sorted((f for f in fields(self) if f.name not in _FRAME), key=lambda f: not f.metadata.get("first"))
        return [(f.name, f.metadata.get("title", f.name.replace("_", " ")), getattr(self, f.name)) for f in ordered]
