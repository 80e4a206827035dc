"""Checkers of lesson 1 accept right answers and reject typical wrong ones with a hint."""

from cnncourse.exercises.images import check_flat_index, check_normalized_range, check_pixel_position


def test_placeholders_are_not_judged():
    for feedback in (check_flat_index(None), check_pixel_position(...), check_normalized_range(None, None),
                     check_normalized_range(-1, None), check_normalized_range(..., 1), check_normalized_range(-1),
                     check_normalized_range(-1.0, high=None)):
        assert feedback.passed is None and not feedback
    assert check_normalized_range(-1, high=1)


def test_flat_index():
    assert check_flat_index(lambda r, c, w: r * w + c)
    swapped = check_flat_index(lambda r, c, w: c * w + r)
    assert not swapped and "swapped" in swapped.message
    assert not check_flat_index(lambda r, c, w: r * w + c + 1)
    assert "raised" in check_flat_index(lambda r, c: 0).message
    assert not check_flat_index(42)


def test_pixel_position():
    assert check_pixel_position(lambda i, w: divmod(i, w))
    reversed_ = check_pixel_position(lambda i, w: (i % w, i // w))
    assert not reversed_ and "(row, column)" in reversed_.message
    assert not check_pixel_position(lambda i, w: (i // (w + 1), i % w))


def test_normalized_range():
    assert check_normalized_range(-1, 1)
    assert "ToTensor() alone" in check_normalized_range(0, 1).message
    assert "divided by 255" in check_normalized_range(-1, 509).message
    assert not check_normalized_range("a", 1)


def test_feedback_displays_a_verdict():
    assert str(check_flat_index(lambda r, c, w: r * w + c)).startswith("[flat index] Correct")
    assert check_flat_index(None)._repr_markdown_().startswith("✏️")
