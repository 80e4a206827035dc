"""Figures for the lessons, one module per topic (``cnncourse.plots.images``, ...).

Every function returns a :class:`matplotlib.figure.Figure` so that a lesson cell can end
with the call and the book shows the figure once; none calls ``plt.show()``. Image inputs
may be torch tensors or NumPy arrays.
"""

from cnncourse.plots._layout import apply_style, record_text_size_in_png

__all__: list[str] = []

apply_style()  # the colour-vision-safe palette and colormap (cnncourse.plots._layout.PALETTE)
record_text_size_in_png()  # in a kernel: every figure's PNG records its smallest text size
