"""Figures for the lessons, one module per topic (``cnncourse.plots.images``, ...).

Every function returns a :class:`matplotlib.figure.Figure` so that a lesson cell can end
with the call and the book shows the figure once.
"""

from cnncourse.plots._layout import record_text_size_in_png

__all__: list[str] = []

record_text_size_in_png()  # in a kernel: every figure's PNG records its smallest text size
