"""``Report``: its text, its one-line repr and its IPython display, rendered from its fields."""
from __future__ import annotations

import dataclasses

import pytest

from looplift.report import Decision
from looplift.report import Report


def sample() -> Report:
    return Report("energies", "(List[Tensor[torch.float32,2d,cpu,grad=False]])", "def energies(xs): ...",
                  source="def energies(xs):\n    return xs", hoisted=[Decision(4, "w.numpy() hoisted")],
                  rewritten=[Decision(5, "numpy.exp -> torch.exp"), Decision(5, "operator.mul -> torch.mul")],
                  skipped=[Decision(7, "numpy.median stays NumPy", "no torch equivalent")],
                  cost="tensors on cuda: keep the data on the device")


def test_str_lists_every_section_in_order() -> None:
    assert str(sample()).splitlines() == [
        "looplift: energies specialized for (List[Tensor[torch.float32,2d,cpu,grad=False]])",
        "  cost model: tensors on cuda: keep the data on the device",
        "  hoisted:",
        "    line 4: w.numpy() hoisted",
        "  rewritten:",
        "    line 5: numpy.exp -> torch.exp",
        "    line 5: operator.mul -> torch.mul",
        "  left as NumPy / original:",
        "    line 7: numpy.median stays NumPy (no torch equivalent)",
        "  rewritten source:",
        "    def energies(xs):",
        "        return xs",
    ]


def test_repr_is_one_line_with_counts() -> None:
    assert repr(sample()) == ("<Report energies for (List[Tensor[torch.float32,2d,cpu,grad=False]]): "
                              "1 hoisted, 2 rewritten, 1 skipped>")
    fallback = Report("gen", "(Py[int])", "", fallback="generators and async functions are not rewritten")
    assert repr(fallback) == ("<Report gen for (Py[int]): no decisions; runs as the original code: "
                              "generators and async functions are not rewritten>")


def test_ipython_shows_the_whole_report() -> None:
    pretty = pytest.importorskip("IPython.lib.pretty")
    report = sample()
    assert pretty.pretty(report) == str(report)


def test_a_new_field_renders_without_changes() -> None:
    """The core adds sections (host reads, batching, observed types) as plain fields."""

    @dataclasses.dataclass(repr=False)  # as if the fields were added to Report itself
    class Extended(Report):
        host_reads: list[Decision] = dataclasses.field(default_factory=list)
        observed_types: dict[str, str] = dataclasses.field(default_factory=dict)
        batching: list[Decision] = dataclasses.field(default_factory=list, metadata={"title": "batched loops"})

    report = Extended("f", "()", "", host_reads=[Decision(9, ".item() kept", "the branch on line 10 needs it")],
                      observed_types={"model(x)": "Tensor[float32]"}, batching=[Decision(3, "batched")])
    text = str(report)
    assert "  host reads:\n    line 9: .item() kept (the branch on line 10 needs it)" in text
    assert "  observed types:\n    model(x): Tensor[float32]" in text
    assert "  batched loops:\n    line 3: batched" in text
    assert "1 host_reads, 1 observed_types, 1 batching" in repr(report)
    assert [d.line for d in report.decisions] == [3, 9]
