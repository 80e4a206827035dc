"""Device choice and seeding."""

from __future__ import annotations

import pytest
import torch

from cnncourse import runtime
from cnncourse.runtime import DEVICE_ENV, device_summary, pick_device, seed_everything


def test_cpu_when_nothing_else(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.setattr(runtime, "_device_available", lambda kind: kind == "cpu")
    assert pick_device() == torch.device("cpu")


@pytest.mark.parametrize("available, expected", [({"cuda", "mps", "cpu"}, "cuda"), ({"mps", "cpu"}, "mps")])
def test_preference_order(monkeypatch, available, expected):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.setattr(runtime, "_device_available", lambda kind: kind in available)
    assert pick_device().type == expected


def test_environment_overrides(monkeypatch):
    monkeypatch.setattr(runtime, "_device_available", lambda kind: True)
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device("cuda:1") == torch.device("cuda:1"), "an explicit argument beats the environment"


def test_unknown_and_unavailable_devices_are_clear(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.setattr(runtime, "_device_available", lambda kind: kind == "cpu")
    with pytest.raises(ValueError, match="'tpu'.*expected one of"):
        pick_device("tpu")
    with pytest.raises(ValueError, match="no CUDA device is available"):
        pick_device("cuda")
    monkeypatch.setenv(DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match=f"environment variable {DEVICE_ENV} is 'gpu'"):
        pick_device()
    with pytest.raises(TypeError, match="string"):
        pick_device(0)


def test_seeding_repeats_random_numbers():
    """Seen failing when seed_everything skipped torch.manual_seed (mutant `seed-skips-torch`)."""
    seed_everything(7)
    first = torch.rand(5), torch.nn.Linear(3, 2).weight.detach().clone()
    seed_everything(7)
    second = torch.rand(5), torch.nn.Linear(3, 2).weight.detach().clone()
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_seed_must_be_a_non_negative_int(bad, error):
    with pytest.raises(error, match="seed"):
        seed_everything(bad)


def test_device_summary_names_device_and_torch():
    text = device_summary("cpu")
    assert text.startswith("cpu (") and torch.__version__ in text
