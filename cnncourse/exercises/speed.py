"""Checkers for the appendix on training speed."""

from __future__ import annotations

from cnncourse.exercises.feedback import Feedback, correct, is_placeholder, unanswered, wrong


def check_epoch_seconds(answer: float | None, images: int, images_per_second: float) -> Feedback:
    """Check the seconds one epoch of ``images`` takes at ``images_per_second`` (within 1 %)."""
    name = "epoch seconds"
    if is_placeholder(answer):
        return unanswered(name)
    if images <= 0 or images_per_second <= 0:
        raise ValueError(f"images and images_per_second must be positive, got {images} and {images_per_second}")
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return wrong(name, f"give a number of seconds, got {type(answer).__name__}")
    expected = images / images_per_second
    if abs(answer - expected) <= 0.01 * expected:
        return correct(name, "time = work / rate.")
    if abs(answer - images_per_second / images) <= 0.01 * (images_per_second / images):
        return wrong(name, "that is epochs per second: you divided the wrong way round.")
    if abs(answer - 60 * expected) <= 0.6 * expected or abs(answer - expected / 60) <= 0.01 * expected / 60:
        return wrong(name, "check your units: the rate is per second, the answer is in seconds.")
    return wrong(name, "how many images are processed in total, and how many per second?")
