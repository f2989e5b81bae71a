"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence


def format_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned text columns under a header and a rule.

    Example:
        >>> print(format_rows(("model", "params"), [("lenet5", "0.06M")]))
        model   params
        ------  ------
        lenet5  0.06M
    """
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join(
        [line(header).rstrip(), line("-" * width for width in widths).rstrip()]
        + [line(row).rstrip() for row in rows]
    )
