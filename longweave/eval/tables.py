"""Markdown tables for benchmark figures (what BENCHMARKS.md holds)."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """`rows` under `header` as a Markdown table, each column padded to its widest cell."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


__all__ = ["markdown_table"]
