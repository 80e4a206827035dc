"""The verdict a checker returns: passed or not, and a hint."""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from cnncourse._checks import to_numpy

__all__ = ["Feedback", "correct", "wrong", "unanswered", "is_placeholder", "Rejected", "checker",
           "read_number", "read_array", "call_learner", "read_tensor", "LEARNER_TIME_LIMIT"]

#: Seconds a learner's function may run in one call before the checker gives up on it (a loop
#: that never ends gets a hint, not a frozen notebook). Enforced with ``SIGALRM`` in the main
#: thread, where notebooks run their cells; elsewhere the call is not limited.
LEARNER_TIME_LIMIT = 10.0


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


def within(got: float, low: float, high: float) -> bool:
    """Whether ``got`` lies in ``[low, high]``, both ends included up to rounding.

    Accepted ranges are written as a reference times a tolerance (``0.9 * 2``), which floating
    point does not hit exactly: ``1.1 * 2`` is 2.2000000000000002, so a plain ``<=`` would turn
    away the learner who typed 2.2. Every range comparison of a checker goes through here.
    """
    slack = 1e-9 * max(abs(low), abs(high), 1.0)
    return low - slack <= got <= high + slack


def is_placeholder(answer: object) -> bool:
    """True for ``None`` and ``...``, the placeholders exercise cells start with."""
    return answer is None or answer is Ellipsis


# --------------------------------------------------------------------------- reading answers
# One path for every checker: a placeholder is "no answer yet"; an answer that cannot be read
# (a string where a number is asked, NaN, a function that raises or returns nothing) ends the
# check with a hint, through `Rejected`; the checker's own logic then compares clean values.
class Rejected(Exception):
    """Raised inside a checker to end it with ``feedback`` (caught by :func:`checker`)."""

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(feedback.message)
        self.feedback = feedback


def checker(exercise: str, mistakes: Callable[[], dict] | None = None, name_from: str | None = None,
            answers: int = 1) -> Callable[[Callable[..., Feedback]], Callable[..., Feedback]]:
    """Decorate a checker whose first argument (first ``answers`` arguments) is the learner's answer.

    A placeholder answer (``None`` or ``...``; with ``answers > 1``, any of them, and one not
    given) gives :func:`unanswered`; a :class:`Rejected`
    raised while the answer is read gives its feedback. ``exercise`` names the exercise (a
    checker whose name depends on its arguments passes the name to the helpers itself).
    ``mistakes``, for a checker whose answer is a number or a choice, returns its table of
    known wrong answers and their hints (``{answer: hint}``), the table the checker itself
    consults; the decorated checker exposes it as ``check_x.mistakes()``. ``name_from`` names a
    parameter of the checker that overrides ``exercise`` (a checker used for several questions).
    """
    def decorate(fn: Callable[..., Feedback]) -> Callable[..., Feedback]:
        signature = inspect.signature(fn)

        names = list(signature.parameters)[:answers]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs) -> Feedback:
            # the answers by position or by name (check_range(low=-1, high=1)); one not given
            # is a placeholder
            bound = signature.bind_partial(*args, **kwargs)
            given = [bound.arguments.get(n) for n in names]
            if any(is_placeholder(a) for a in given):
                name = exercise
                if name_from is not None:
                    bound.apply_defaults()
                    name = bound.arguments.get(name_from, exercise)
                return unanswered(name)
            try:
                return fn(*args, **kwargs)
            except Rejected as rejected:
                return rejected.feedback
        wrapper.exercise = exercise  # type: ignore[attr-defined]
        wrapper.mistakes = mistakes  # type: ignore[attr-defined]
        return wrapper
    return decorate


def _kind(value: object) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"an array of shape {tuple(value.shape)}"
    return type(value).__name__


def _numbers_of(tensor, exercise: str, what: str) -> np.ndarray:
    try:
        return to_numpy(tensor)
    except ValueError:  # a meta tensor: a shape without numbers
        raise Rejected(wrong(exercise, f"give {what}: your tensor is on the meta device and "
                                       "holds no numbers.")) from None


def read_number(answer: object, exercise: str, *, integer: bool = False, what: str = "one number") -> float | int:
    """The learner's answer as a finite number (an ``int`` when ``integer``).

    Python and NumPy numbers, and tensors or arrays holding one number (even one that requires
    grad), are read; ``bool``, strings, collections, NaN and infinities end the check with a hint.
    """
    value = answer
    if integer and "whole number" not in what:
        what = f"{what} as a whole number"
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if (value.size if isinstance(value, np.ndarray) else value.numel()) != 1:
            raise Rejected(wrong(exercise, f"give {what}, got {_kind(answer)}."))
        value = _numbers_of(value, exercise, what).reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Rejected(wrong(exercise, f"give {what}, got {_kind(answer)}."))
    number = float(value)
    if not math.isfinite(number):
        raise Rejected(wrong(exercise, f"give {what}, a finite number; got {number}."))
    if integer:
        if not number.is_integer():
            raise Rejected(wrong(exercise, f"give {what}, got {number:g}."))
        return int(value) if isinstance(value, (int, np.integer)) else int(number)
    return number


def read_array(answer: object, exercise: str, *, what: str = "an array of numbers", finite: bool = True) -> np.ndarray:
    """The learner's answer (list, NumPy array or tensor, even one that requires grad) as a
    ``float64`` array of its numbers (booleans read as 0 and 1); anything else, or NaN/inf
    values when ``finite``, ends the check. ``None`` or a string among the numbers ends it too:
    a conversion to ``float64`` would turn ``None`` into NaN and ``"1.5"`` into 1.5."""
    value = _numbers_of(answer, exercise, what) if isinstance(answer, torch.Tensor) else answer
    if (isinstance(value, (str, bytes, dict, set)) or callable(value)
            or (isinstance(value, (np.ndarray, complex, np.complexfloating))
                and np.iscomplexobj(value))):  # complex: float64 would drop the imaginary part
        raise Rejected(wrong(exercise, f"give {what}, got {_kind(answer)}."))
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):  # ragged lists, tensors that require grad
        raise Rejected(wrong(exercise, f"give {what}, got {_kind(answer)}.")) from None
    if raw.dtype.kind not in "biuf":  # None (object), strings, complex among the numbers
        raise Rejected(wrong(exercise, f"give {what}, got {_kind(answer)} with entries that are "
                                       "not real numbers."))
    array = raw.astype(np.float64)
    if finite and not np.isfinite(array).all():
        raise Rejected(wrong(exercise, f"{what} must hold finite numbers: yours has NaN or infinite values."))
    return array


def call_learner(fn: object, exercise: str, *args, call: str = "your function", expects: str = "a result"):
    """Run the learner's ``fn(*args)``; a non-callable, an exception or a missing ``return``
    ends the check with a hint naming ``call`` (e.g. ``"softmax(logits)"``)."""
    if not callable(fn):
        raise Rejected(wrong(exercise, f"pass a function, got {_kind(fn)}."))
    if inspect.isclass(fn):
        raise Rejected(wrong(exercise, f"pass a function, got the class {fn.__name__}."))
    try:
        with _time_limit(LEARNER_TIME_LIMIT):
            result = fn(*args)
    except _TooSlow:
        raise Rejected(wrong(exercise, f"{call} did not return within {LEARNER_TIME_LIMIT:g} s: "
                                       "does a loop never end?")) from None
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        raise Rejected(wrong(exercise, f"{call} raised {type(exc).__name__}: {exc}")) from None
    if inspect.isgenerator(result):
        raise Rejected(wrong(exercise, f"{call} returned a generator: use `return`, not "
                                       "`yield`."))
    if result is None:
        raise Rejected(Feedback(exercise, None, f"{call} returned None: did you forget `return`? "
                                                f"It should return {expects}."))
    return result


class _TooSlow(BaseException):
    """The learner's function ran out of time (a BaseException, so that the learner's own
    ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (main thread only; elsewhere no limit). A timer
    already running (a grader's or a test's) is put back, less the time spent here."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(_signum, _frame):
        raise _TooSlow

    handler = signal.signal(signal.SIGALRM, alarm)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def read_tensor(value: object, exercise: str, *, call: str = "your function", dtype=torch.float64) -> torch.Tensor:
    """What a learner's function returned, as a detached tensor of ``dtype`` (a hint if impossible)."""
    try:
        if isinstance(value, torch.Tensor):
            if value.device.type == "meta":
                raise ValueError("a meta tensor holds no numbers")
            return value.detach().to(dtype)
        return torch.as_tensor(read_array(value, exercise, finite=False), dtype=dtype)
    except (TypeError, ValueError, RuntimeError):
        raise Rejected(wrong(exercise, f"{call} must return a tensor of numbers, got {_kind(value)}.")) from None
