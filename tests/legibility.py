"""How large a figure's text is once the page shows it: the book's 672 px column, a 390 px phone.

The site shows each figure as a PNG saved at ``DPI`` with a tight bounding box, scaled down to
the width of the text column when it is wider (never up). A text of ``s`` points is then
``s * DPI / 72 * min(1, column / png_width)`` pixels tall.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from cnncourse.plots import _layout

DPI = 100          # matplotlib's default figure.dpi, used by the inline backend
DESKTOP = 672      # px, the text column of the book's theme at desktop widths
PHONE = 358        # px, the text column on a 390 px phone (16 px of margin each side)
MIN_PX = 9.0       # smallest legible text on the desktop column
PHONE_MIN_PX = 8.5  # and on a phone


def png_width(fig: Figure) -> int:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    buffer.seek(0)
    return Image.open(buffer).size[0]


def smallest_text_px(fig: Figure, column: int) -> float:
    """Rendered height in px of the smallest text when the figure is shown ``column`` px wide."""
    scale = min(1.0, column / png_width(fig))
    size = _layout.smallest_text_px(fig, DPI)
    return size * scale if size is not None else np.inf
