"""Checkers for the "Check your understanding" exercises, one module per lesson topic.

A checker takes the learner's answer (a number, an array or a function), compares it with
the reference it computes itself, and returns a :class:`~cnncourse.exercises.feedback.Feedback`
that prints a short verdict and, on failure, a hint that points at the mistake without
giving the solution away.
"""

__all__: list[str] = []
