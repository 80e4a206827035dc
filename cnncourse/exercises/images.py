"""Checkers for lesson 1, images as arrays."""

from __future__ import annotations

from collections.abc import Callable

from cnncourse.exercises.feedback import (
    Feedback,
    call_learner,
    checker,
    correct,
    read_number,
    wrong,
)

__all__ = ["check_flat_index", "check_pixel_position", "check_normalized_range"]


@checker("flat index")
def check_flat_index(flat_index: Callable[[int, int, int], int] | None) -> Feedback:
    """Check a function ``flat_index(r, c, width)`` that gives the position of pixel ``(r, c)``
    of an image ``width`` pixels wide once it is flattened row by row."""
    name = "flat index"
    for r, c, width in ((0, 0, 28), (0, 5, 28), (1, 0, 28), (3, 7, 28), (27, 27, 28), (2, 1, 5)):
        call = f"flat_index({r}, {c}, {width})"
        got = read_number(call_learner(flat_index, name, r, c, width, call=call, expects="one int"), name,
                          integer=True, what=f"one int from {call}")
        expected = r * width + c
        if got != expected:
            if got == c * width + r:
                return wrong(name, f"flat_index({r}, {c}, {width}) = {got}: rows and columns are swapped; "
                                   "flattening is row-major, a whole row comes before the next one.")
            if r == 0 and c == 0:
                return wrong(name, "the first pixel (0, 0) should be at position 0: indices start at 0.")
            return wrong(name, f"flat_index({r}, {c}, {width}) = {got}, but that is not where pixel "
                               f"({r}, {c}) lands; how many pixels come before row {r}?")
    return correct(name, "row r starts after r full rows of `width` pixels.")


@checker("pixel position")
def check_pixel_position(pixel_position: Callable[[int, int], tuple[int, int]] | None) -> Feedback:
    """Check the inverse function ``pixel_position(i, width) -> (r, c)``."""
    name = "pixel position"
    for i, width in ((0, 28), (5, 28), (28, 28), (29, 28), (783, 28), (7, 5)):
        call = f"pixel_position({i}, {width})"
        got = call_learner(pixel_position, name, i, width, call=call, expects="a pair (row, column)")
        if isinstance(got, (str, bytes)) or not isinstance(got, (tuple, list)) or len(got) != 2:
            return wrong(name, f"{call} must return a pair (row, column) of ints.")
        got = tuple(read_number(v, name, integer=True, what=f"a pair of ints from {call}") for v in got)
        expected = divmod(i, width)
        if got != expected:
            if got == expected[::-1]:
                return wrong(name, f"pixel_position({i}, {width}) = {got}: return (row, column), in that order.")
            return wrong(name, f"pixel_position({i}, {width}) = {got} does not lead back to position {i}; "
                               "think of integer division and the remainder.")
    return correct(name, "divmod(i, width) undoes r * width + c.")


@checker("normalized range", answers=2)
def check_normalized_range(low: float | None, high: float | None) -> Feedback:
    """Check the range of pixel values after ``Normalize(mean=0.5, std=0.5)`` of ``ToTensor()`` output."""
    name = "normalized range"
    low = read_number(low, name, what="the two ends of the range as numbers")
    high = read_number(high, name, what="the two ends of the range as numbers")
    if abs(low + 1) < 1e-6 and abs(high - 1) < 1e-6:
        return correct(name, "(0 - 0.5)/0.5 = -1 and (1 - 0.5)/0.5 = 1.")
    if abs(low) < 1e-6 and abs(high - 1) < 1e-6:
        return wrong(name, "that is the range after ToTensor() alone; now apply (x - 0.5) / 0.5 to both ends.")
    if abs(high - 255) < 1e-3 or high > 10:
        return wrong(name, "ToTensor() has already divided by 255 before Normalize runs.")
    return wrong(name, "apply (x - mean) / std to the smallest and the largest value ToTensor() can produce.")
