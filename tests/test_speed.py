"""The throughput helper and the speed exercise checker."""

import pytest
import torch
from torch import nn

from cnncourse.data import TensorBatches
from cnncourse.exercises.speed import check_epoch_seconds
from cnncourse.speed import training_throughput


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 4))


def test_throughput_counts_images_and_trains():
    x, y = torch.randn(64, 1, 4, 4), torch.randint(0, 4, (64,))
    model = _model()
    before = model[1].weight.detach().clone()
    rate = training_throughput(model, TensorBatches(x, y, batch_size=16, shuffle=True), steps=10, repeats=2)
    assert rate > 0 and not torch.equal(before, model[1].weight)
    assert training_throughput(_model(), [(x[:8], y[:8])], steps=5, warmup=0, repeats=1) > 0


class _CountingModel(nn.Sequential):
    """Counts forward passes, i.e. optimizer steps."""

    calls = 0

    def forward(self, x):
        self.calls += 1
        return super().forward(x)


@pytest.mark.parametrize("max_seconds, steps_run", [(None, 2 + 3 * 4), (1e9, 2 + 3 * 4), (0, 2 + 4)])
def test_time_budget_stops_repeating_after_at_least_one_repetition(max_seconds, steps_run):
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    torch.manual_seed(0)
    model = _CountingModel(nn.Flatten(), nn.Linear(16, 4))
    training_throughput(model, [(x, y)], steps=4, warmup=2, repeats=3, max_seconds=max_seconds)
    assert model.calls == steps_run


def test_throughput_options_and_bad_input():
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    assert training_throughput(_model(), [(x, y)], steps=2, repeats=1, channels_last=True) > 0
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        training_throughput(_model(), [(x, y)], steps=0)
    with pytest.raises(ValueError, match="warmup"):
        training_throughput(_model(), [(x, y)], warmup=-1)
    for bad in (-1, float("nan"), "2 s", True):
        with pytest.raises(ValueError, match="max_seconds must be a non-negative number"):
            training_throughput(_model(), [(x, y)], max_seconds=bad)
    with pytest.raises(ValueError, match="no batches"):
        training_throughput(_model(), iter(()), steps=1, warmup=0)
    with pytest.raises(TypeError, match="nn.Module"):
        training_throughput("model", [(x, y)])


def test_epoch_seconds_checker():
    assert check_epoch_seconds(None, 1000, 500).passed is None
    assert check_epoch_seconds(2.0, 1000, 500)
    assert "wrong way round" in check_epoch_seconds(0.5, 1000, 500).message
    assert "units" in check_epoch_seconds(120.0, 1000, 500).message
    assert not check_epoch_seconds(7, 1000, 500)
    assert not check_epoch_seconds("soon", 1000, 500)
