"""Checkers for the appendix on training speed."""

from __future__ import annotations

from cnncourse._checks import check_float
from cnncourse.exercises.feedback import Feedback, checker, correct, read_number, within, wrong

__all__ = ["check_epoch_seconds"]


@checker("epoch seconds")
def check_epoch_seconds(answer: float | None, images: int, images_per_second: float) -> Feedback:
    """Check the seconds one epoch of ``images`` takes at ``images_per_second`` (within 1 %)."""
    name = "epoch seconds"
    images = check_float(images, "images", minimum=0, exclusive_minimum=True)
    images_per_second = check_float(images_per_second, "images_per_second", minimum=0, exclusive_minimum=True)
    answer = read_number(answer, name, what="a number of seconds")
    expected = images / images_per_second
    if within(answer, 0.99 * expected, 1.01 * expected):
        return correct(name, "time = work / rate.")
    if within(answer, 0.99 * images_per_second / images, 1.01 * images_per_second / images):
        return wrong(name, "that is epochs per second: you divided the wrong way round.")
    if within(answer, 59.4 * expected, 60.6 * expected) or within(answer, 0.99 * expected / 60,
                                                                   1.01 * expected / 60):
        return wrong(name, "check your units: the rate is per second, the answer is in seconds.")
    return wrong(name, "how many images are processed in total, and how many per second?")
