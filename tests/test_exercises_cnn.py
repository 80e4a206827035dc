"""Checkers of lesson 8 accept right answers and reject typical wrong ones with a hint."""

import torch

from cnncourse.exercises.cnn import check_conv_parameters, check_output_shape, check_smallest_input, exercise_stack


def test_placeholders_are_not_judged():
    for feedback in (check_output_shape(None), check_conv_parameters(...), check_smallest_input(None)):
        assert feedback.passed is None and not feedback


def test_exercise_stack_reference_values():
    stack = exercise_stack()
    assert stack(torch.zeros(1, 1, 28, 28)).shape == (1, 32, 6, 6)
    assert sum(p.numel() for p in stack[3].parameters()) == (3 * 3 * 16 + 1) * 32
    stack(torch.zeros(1, 1, 8, 8))  # the smallest input runs


def test_output_shape():
    assert check_output_shape((32, 6, 6))
    assert check_output_shape(torch.Size([32, 6, 6]))
    assert "pooling layer follows" in check_output_shape((32, 12, 12)).message
    assert "padding=1" in check_output_shape((32, 5, 5)).message
    assert "no padding" in check_output_shape((32, 7, 7)).message
    assert "filters of the last convolution" in check_output_shape((16, 6, 6)).message
    assert "batch dimension" in check_output_shape((1, 32, 6, 6)).message
    assert not check_output_shape((32, 6, 5))
    assert not check_output_shape("a shape")


def test_conv_parameters():
    assert check_conv_parameters(4640)
    assert "bias" in check_conv_parameters(4608).message
    assert "all 16 input channels" in check_conv_parameters(9 * 32 + 32).message
    assert "one filter" in check_conv_parameters(145).message
    assert "image size" in check_conv_parameters(4640 * 144).message
    assert "padding" in check_conv_parameters(25 * 16 * 32 + 32).message
    assert not check_conv_parameters(4640.5)
    assert not check_conv_parameters(True)


def test_smallest_input():
    assert check_smallest_input(8)
    assert "pooling rounds down" in check_smallest_input(9).message
    assert "no longer fits" in check_smallest_input(7).message
    assert "not the smallest" in check_smallest_input(12).message
    assert not check_smallest_input("eight")


def test_feedback_never_leaks_the_answer_when_wrong():
    for fb in (check_output_shape((32, 12, 12)), check_conv_parameters(4608), check_smallest_input(12)):
        assert "4640" not in fb.message and "(32, 6, 6)" not in fb.message and " 8 " not in fb.message


def test_head_parameters():
    from torch import nn

    from cnncourse.exercises.cnn import check_head_parameters

    right = sum(p.numel() for p in nn.Linear(32, 10).parameters())
    assert right == 330
    assert check_head_parameters(right) and check_head_parameters(330.0)
    assert check_head_parameters(None).passed is None
    hints = {320: "bias", 32 * 6 * 6 * 10 + 10: "flatten head", 11: "linear layer", 330.5: "whole number"}
    for answer, words in hints.items():
        fb = check_head_parameters(answer)
        assert fb.passed is False and words in fb.message, (answer, fb)
        assert "330" not in fb.message.replace(str(answer), "")  # the echo of the answer is no leak
    assert not check_head_parameters("330") and not check_head_parameters(True)


def test_batchnorm_parameters():
    from cnncourse.exercises.cnn import check_batchnorm_parameters

    assert check_batchnorm_parameters(64) and check_batchnorm_parameters(48, channels=24)
    assert "running mean" in check_batchnorm_parameters(128).message
    assert "two learned numbers" in check_batchnorm_parameters(32).message
    assert not check_batchnorm_parameters(10)


def test_finetuned_parameters():
    from cnncourse.exercises.cnn import check_finetuned_parameters

    assert check_finetuned_parameters((800 * 256 + 256) + (256 * 5 + 5))
    assert "bias" in check_finetuned_parameters(800 * 256 + 256 * 5).message
    assert "more than its last layer" in check_finetuned_parameters(256 * 5 + 5).message
    assert "frozen" in check_finetuned_parameters(10**6).message
    assert check_finetuned_parameters(1285, sizes=(256, 5))
