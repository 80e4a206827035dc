"""Figures for the lessons, one module per topic (``cnncourse.plots.images``, ...).

Every function returns a :class:`matplotlib.figure.Figure` so that a lesson cell can end
with the call and the book shows the figure once.
"""
