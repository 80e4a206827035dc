"""Fixed-width text tables, written once: the layer summary of a model, the receptive-field
table and the filter-response table print through :func:`text_table`."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table", "pair_text"]


def text_table(rows: Sequence[Sequence[str]], align: str, *, min_widths: Sequence[int] = (),
               rule: str | None = None) -> list[str]:
    """The lines of a plain-text table whose columns are two spaces apart.

    Parameters
    ----------
    rows
        The header first, then the rows; every row holds one string per column.
    align
        One character per column: ``"<"`` (left) or ``">"`` (right).
    min_widths
        The least width of the first columns (a column is as wide as its widest cell).
    rule
        ``None``: nothing under the header; ``"columns"``: a dash line under each column;
        ``"line"``: one unbroken dash line as wide as the header.

    Returns
    -------
    list of str
        The lines, trailing spaces removed.
    """
    if len(align) != len(rows[0]) or set(align) - {"<", ">"}:
        raise ValueError(f"align must hold '<' or '>' for each of the {len(rows[0])} columns, got {align!r}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(align))]
    widths = [max(w, m) for w, m in zip(widths, min_widths)] + widths[len(min_widths):]

    def line(cells):
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, align, widths)).rstrip()

    out = [line(rows[0])]
    if rule == "columns":
        out.append(line(["-" * w for w in widths]))
    elif rule == "line":
        out.append("-" * len(out[0]))
    elif rule is not None:
        raise ValueError(f"rule must be None, 'columns' or 'line', got {rule!r}")
    return out + [line(row) for row in rows[1:]]


def pair_text(pair: tuple | None) -> str:
    """``(3, 3)`` -> ``"3"``, ``(3, 5)`` -> ``"3x5"``; floats with one decimal if needed."""
    if pair is None:
        return "-"

    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return fmt(pair[0]) if pair[0] == pair[1] else f"{fmt(pair[0])}x{fmt(pair[1])}"
