"""How large a figure's text is once the page shows it: the book's 672 px column, a 390 px phone.

The site shows each figure as a PNG saved at ``DPI`` with a tight bounding box, scaled down to
the width of the text column when it is wider (never up). A text of ``s`` points is then
``s * DPI / 72 * min(1, column / png_width)`` pixels tall.
"""

from __future__ import annotations

import io

import matplotlib.text
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

DPI = 100          # matplotlib's default figure.dpi, used by the inline backend
DESKTOP = 672      # px, the text column of the book's theme at desktop widths
PHONE = 358        # px, the text column on a 390 px phone (16 px of margin each side)
MIN_PX = 9.0       # smallest legible text


def png_width(fig: Figure) -> int:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    buffer.seek(0)
    return Image.open(buffer).size[0]


def texts(fig: Figure) -> list[matplotlib.text.Text]:
    """Every visible, non-empty text artist of the figure (titles, labels, ticks, annotations)."""
    fig.canvas.draw()
    found = []
    for t in fig.findobj(matplotlib.text.Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        ax = t.axes
        if ax is not None and not ax.get_visible():
            continue
        found.append(t)
    return found


def smallest_text_px(fig: Figure, column: int) -> float:
    """Rendered height in px of the smallest text when the figure is shown ``column`` px wide."""
    scale = min(1.0, column / png_width(fig))
    sizes = [t.get_fontsize() for t in texts(fig)]
    return float(np.min(sizes)) * DPI / 72 * scale if sizes else np.inf
