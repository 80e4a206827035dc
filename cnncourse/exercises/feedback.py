"""The verdict a checker returns: passed or not, and a hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer.

    ``bool(feedback)`` is whether the answer is right, so a solution cell can
    ``assert check_something(answer)``. In a notebook it displays as one line.

    Attributes
    ----------
    exercise
        Short name of the exercise.
    passed
        Whether the answer is right. ``None`` when no answer was given yet.
    message
        What went right, or a hint about what went wrong (never the solution).
    """

    exercise: str
    passed: bool | None
    message: str

    def __bool__(self) -> bool:
        return bool(self.passed)

    def __str__(self) -> str:
        mark = {True: "Correct", False: "Not yet", None: "No answer yet"}[self.passed]
        return f"[{self.exercise}] {mark}: {self.message}"

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        icon = {True: "✅", False: "❌", None: "✏️"}[self.passed]
        return f"{icon} {self}"


def correct(exercise: str, message: str = "well done.") -> Feedback:
    """A passing verdict."""
    return Feedback(exercise, True, message)


def wrong(exercise: str, hint: str) -> Feedback:
    """A failing verdict with a hint."""
    return Feedback(exercise, False, hint)


def unanswered(exercise: str) -> Feedback:
    """The verdict for a placeholder (``None`` or ``...``) that the learner has not replaced yet."""
    return Feedback(exercise, None, "replace the placeholder with your answer and run the cell again.")


def is_placeholder(answer: object) -> bool:
    """True for ``None`` and ``...``, the placeholders exercise cells start with."""
    return answer is None or answer is Ellipsis
