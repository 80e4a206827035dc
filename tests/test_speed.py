"""The throughput helper and the speed exercise checker."""

import math

import pytest
import torch
from torch import nn

from cnncourse import speed
from cnncourse.data import TensorBatches
from cnncourse.exercises.speed import check_epoch_seconds
from cnncourse.speed import measure_throughput, peak_matmul_flops, training_flops_per_image, training_throughput


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
    for bad in (-1, float("nan")):  # a wrong value
        with pytest.raises(ValueError, match="max_seconds must be a non-negative number"):
            training_throughput(_model(), [(x, y)], max_seconds=bad)
    for bad in ("2 s", True):  # a wrong type
        with pytest.raises(TypeError, match="max_seconds must be a non-negative number"):
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


def test_empty_batches_are_a_clear_error_not_zero():
    """Seen returning 0.0 images/s for an empty list before the check."""
    for empty in ([], ()):
        with pytest.raises(ValueError, match="batches is empty"):
            training_throughput(_model(), empty, steps=1, warmup=0)


def test_measurement_keeps_every_repetition():
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    result = measure_throughput(_model(), [(x, y)], steps=3, warmup=1, repeats=4)
    assert len(result.rates) == 4 and result.steps == 3
    assert result.rate == pytest.approx((sorted(result.rates)[1] + sorted(result.rates)[2]) / 2)
    assert result.spread == pytest.approx((max(result.rates) - min(result.rates)) / result.rate)


def test_spread_target_doubles_the_steps_until_repetitions_agree(monkeypatch):
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    clock = iter([0, 1, 0, 2,  # round 1: 8 images in 1 s, then in 2 s: spread too large
                  0, 2, 0, 2.02])  # round 2, twice the steps: 2 s and 2.02 s agree within 5 %
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(clock))
    model = _CountingModel(nn.Flatten(), nn.Linear(16, 4))
    result = measure_throughput(model, [(x, y)], steps=1, warmup=0, repeats=2, max_seconds=100,
                                max_spread=0.05)
    assert result.steps == 2 and result.spread < 0.05 and model.calls == 1 + 1 + 2 + 2


def test_spread_target_gives_up_at_the_time_budget(monkeypatch):
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    clock = iter([0, 1, 0, 2])
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(clock))
    result = measure_throughput(_model(), [(x, y)], steps=1, warmup=0, repeats=2, max_seconds=4,
                                max_spread=0.05)
    assert result.steps == 1 and result.spread > 0.05, "a round of 2x the steps (6 s) would not fit"


def test_spread_target_bad_input():
    x, y = torch.randn(8, 1, 4, 4), torch.randint(0, 4, (8,))
    with pytest.raises(ValueError, match="max_spread needs max_seconds"):
        measure_throughput(_model(), [(x, y)], max_spread=0.05)
    with pytest.raises(ValueError, match="max_spread must be a positive number"):
        measure_throughput(_model(), [(x, y)], max_spread=0, max_seconds=1)


def test_flops_per_image_of_a_linear_layer():
    """forward x @ W.T: 2*in*out per image; backward: the weight gradient again (the input needs none)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    before = model[1].weight.detach().clone()
    assert training_flops_per_image(model, torch.randn(5, 1, 4, 4)) == 2 * (2 * 16 * 4)
    assert model[1].weight.grad is None and torch.equal(model[1].weight, before), "the model is untouched"


def test_flops_per_image_of_a_convolution():
    """Conv forward: 2 * k*k*c_in multiply-adds per output value; backward: weight and input gradients."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 10))
    conv = 2 * (3 * 6 * 6) * (2 * 3 * 3)  # per image, forward
    linear = 2 * 108 * 10
    expected = conv * 2 + linear * 3  # the conv needs no input gradient; the linear layer does
    assert training_flops_per_image(model, torch.randn(4, 2, 8, 8)) == expected
    assert training_flops_per_image(model, torch.randn(4, 2, 8, 8), autocast_dtype=torch.bfloat16) == expected


def test_flops_bad_input():
    with pytest.raises(TypeError, match="inputs must be a torch.Tensor batch, got list"):
        training_flops_per_image(_model(), [[0.0]])
    with pytest.raises(ValueError, match=r"non-empty batch.*\(0, 16\)"):
        training_flops_per_image(_model(), torch.zeros(0, 16))


def test_peak_matmul_rate():
    rate = peak_matmul_flops("cpu", torch.float32, size=64, seconds=0.01)
    assert rate > 1e6, "even a slow CPU multiplies 64x64 matrices at more than a megaflop per second"
    assert peak_matmul_flops("cpu", torch.bfloat16, size=64, seconds=0.01) > 0
    with pytest.raises(ValueError, match="size must be a positive int, got 0"):
        peak_matmul_flops(size=0)
    with pytest.raises(ValueError, match=r"seconds must be number in \(0.0, 3600\]"):
        peak_matmul_flops(seconds=0)
    with pytest.raises(ValueError, match="dtype must be"):
        peak_matmul_flops(dtype=torch.int8)


def test_subnormal_numbers_are_flushed_while_measuring_only():
    """A model that memorizes its few batches drives its gradients into subnormal numbers, which
    CPUs process many times slower: the measurement flushes them, and switches that off after."""
    seen = []

    class Probe(torch.nn.Linear):
        def forward(self, x):
            seen.append(float(torch.tensor([1e-39]) * 1.0))  # 1e-39 is subnormal in float32
            return super().forward(x.flatten(1))

    batch = (torch.randn(4, 1, 2, 2), torch.randint(0, 3, (4,)))
    measure_throughput(Probe(4, 3), [batch], steps=2, warmup=1, repeats=1)
    assert seen and all(value == 0.0 for value in seen)
    assert float(torch.tensor([1e-39]) * 1.0) != 0.0


# --------------------------------------------------------------------------- in turns, and where a step goes
def _tiny_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 10))


def _one_batch():
    return [(torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,)))]


def test_measure_in_turns_alternates_and_keeps_every_round(monkeypatch):
    calls = []
    real = speed.measure_throughput

    def spy(model, batches, **kwargs):
        calls.append(model.tag)
        return real(model, batches, **kwargs)

    monkeypatch.setattr(speed, "measure_throughput", spy)

    def make(tag):
        def build():
            model = _tiny_cnn()
            model.tag = tag
            return model, {}
        return build

    found = speed.measure_in_turns({"a": make("a"), "b": make("b")}, _one_batch(), rounds=3, steps=2, warmup=1)
    assert calls == ["a", "b", "b", "a", "a", "b"]  # the order reverses every other round
    assert list(found) == ["a", "b"]
    assert all(len(t.rates) == 3 and t.steps == 2 and min(t.rates) > 0 for t in found.values())


def test_measure_in_turns_bad_input():
    with pytest.raises(ValueError, match="contenders is empty"):
        speed.measure_in_turns({}, _one_batch())
    with pytest.raises(TypeError, match=r"contenders\['x'\] must return"):
        speed.measure_in_turns({"x": lambda: _tiny_cnn()}, _one_batch())
    with pytest.raises(TypeError, match="the model of contender 'x'"):
        speed.measure_in_turns({"x": lambda: ("model", {})}, _one_batch())
    with pytest.raises(ValueError, match="rounds"):
        speed.measure_in_turns({"x": lambda: (_tiny_cnn(), {})}, _one_batch(), rounds=0)


def test_step_profile_shares_add_up_and_name_the_layers():
    torch.manual_seed(0)
    shares = speed.step_profile(_tiny_cnn(), _one_batch(), steps=3, warmup=1)
    assert tuple(shares) == speed.STEP_PARTS
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(0 <= s <= 1 for s in shares.values())
    for part in ("convolution", "max-pooling", "ReLU", "linear layers", "loss", "optimizer"):
        assert shares[part] > 0, part


def test_step_profile_of_a_network_without_pooling_has_none():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    shares = speed.step_profile(model, _one_batch(), steps=2, warmup=1)
    assert shares["max-pooling"] == 0 and shares["convolution"] > 0


def test_ablation_gains_multiply_and_shares_add_up():
    # the make bench run of 2026-12-06 (benchmarks/RESULTS.md)
    rows = speed.ablation([("published", 26.06), ("precision", 7.59), ("one epoch", 3.72),
                           ("stem", 2.50), ("wider", 2.97)])
    assert [r.change for r in rows] == ["published", "precision", "one epoch", "stem", "wider"]
    assert rows[0].gain == 1.0 and rows[0].share == 0.0
    assert math.prod(r.gain for r in rows) == pytest.approx(26.06 / 2.97)
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    assert [round(100 * r.share) for r in rows[1:]] == [57, 33, 18, -8]
    assert rows[-1].gain < 1 and rows[-1].share < 0


def test_ablation_without_a_total_gain_has_no_shares():
    rows = speed.ablation([("a", 2.0), ("b", 1.0), ("c", 2.0)])
    assert [r.share for r in rows] == [0.0, 0.0, 0.0] and rows[1].gain == 2.0


@pytest.mark.parametrize("steps, error", [
    ([("only", 1.0)], ValueError), ([("a", 1.0), ("b", 0.0)], ValueError),
    ([("a", 1.0), ("b", float("nan"))], ValueError), ([("a", 1.0), ("b",)], TypeError),
    ([("a", 1.0), (2, 1.0)], TypeError), ([("a", 1.0), ("b", "1")], TypeError)])
def test_ablation_bad_input(steps, error):
    with pytest.raises(error, match="steps"):
        speed.ablation(steps)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
def _raises():
    raise ZeroDivisionError("a bug in the contender")


@pytest.mark.parametrize("call, exc, words", [
    # a model whose parameters are float64, on float32 batches: refused before any timing
    (lambda: measure_throughput(_tiny_cnn().double(), _one_batch(), steps=1, warmup=0, repeats=1), TypeError,
     ["Sequential", "float64", "float32"]),
    (lambda: training_throughput(_tiny_cnn().double(), iter(_one_batch()), steps=1, warmup=0, repeats=1),
     TypeError, ["Sequential", "float64"]),
    # every contender is a function; its own error is attributed to it
    (lambda: speed.measure_in_turns({"x": None}, _one_batch()), TypeError, ["contenders['x']", "None"]),
    (lambda: speed.measure_in_turns({"x": 3}, _one_batch()), TypeError, ["contenders['x']", "int"]),
    (lambda: speed.measure_in_turns({"x": _raises}, _one_batch()), ValueError,
     ["contenders['x']", "_raises", "ZeroDivisionError", "a bug in the contender"]),
])
def test_speed_arguments_are_checked_before_timing(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_float64_model_measures_on_float64_batches():
    batch = [(x.double(), y) for x, y in _one_batch()]
    assert measure_throughput(_tiny_cnn().double(), batch, steps=1, warmup=0, repeats=1).rates[0] > 0


@pytest.mark.parametrize("seconds", [1e300, 3601.0, float("inf")])
def test_peak_matmul_flops_refuses_a_budget_beyond_an_hour(seconds):
    with pytest.raises(ValueError, match="seconds"):
        peak_matmul_flops(size=8, seconds=seconds)
