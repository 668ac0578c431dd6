"""What a specialization did, line by line: the result of ``looplift.explain``."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decision:
    """One line of the report: what happened at a line, and why."""

    line: int
    what: str
    reason: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}" + (f" ({self.reason})" if self.reason else "")


@dataclass
class Report:
    function: str
    signature: str
    original_source: str
    source: str = ""
    hoisted: list[Decision] = field(default_factory=list)
    rewritten: list[Decision] = field(default_factory=list)
    materialized: list[Decision] = field(default_factory=list)
    compiled: list[Decision] = field(default_factory=list)
    skipped: list[Decision] = field(default_factory=list)
    cost: str = ""
    fallback: str | None = None
    """Set when the whole function runs as the original code: why."""

    @property
    def decisions(self) -> list[Decision]:
        every = [*self.hoisted, *self.rewritten, *self.materialized, *self.compiled, *self.skipped]
        return sorted(every, key=lambda d: d.line)

    @property
    def changed(self) -> bool:
        return bool(self.hoisted or self.rewritten or self.compiled)

    def __str__(self) -> str:
        lines = [f"looplift: {self.function} specialized for {self.signature}"]
        if self.fallback:
            lines.append(f"  runs as the original code: {self.fallback}")
        if self.cost:
            lines.append(f"  cost model: {self.cost}")
        for title, items in (("hoisted", self.hoisted), ("rewritten", self.rewritten),
                             ("materialized", self.materialized), ("compiled", self.compiled),
                             ("left as NumPy / original", self.skipped)):
            if items:
                lines.append(f"  {title}:")
                lines.extend(f"    {d}" for d in items)
        if self.source and not self.fallback:
            lines.append("  rewritten source:")
            lines.extend("    " + line for line in self.source.splitlines())
        return "\n".join(lines)
