"""The course's top floor: the marking of solution cells, the student edition and the grader.

It reads the lessons (Jupytext MyST notebooks) and calls the checkers of
:mod:`cnncourse.exercises`; nothing below it imports it.
"""

__all__: list[str] = []
