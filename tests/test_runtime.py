"""Device choice and seeding."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


# --------------------------------------------------------------------------- threads
@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_configure_threads_explicit_and_environment(monkeypatch, restore_threads):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert runtime.configure_threads(1) == 1 == torch.get_num_threads()
    monkeypatch.setenv(runtime.THREADS_ENV, "1")
    monkeypatch.setattr(runtime, "_usable_cpus", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 4)
    assert runtime.configure_threads() == 1, "the environment variable overrides the usable cores"


def test_configure_threads_follows_affinity_not_the_cpu_count(monkeypatch, restore_threads):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    monkeypatch.setattr(runtime, "busy_cores", lambda: pytest.fail("the default must not follow the load"))
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 8)
    monkeypatch.setattr(runtime, "_usable_cpus", lambda: [3])
    assert runtime.configure_threads() == 1
    monkeypatch.setattr(runtime, "_usable_cpus", lambda: list(range(16)))
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 2)
    assert runtime.configure_threads() == 2, "never more than PyTorch's one thread per physical core"


@pytest.mark.parametrize("busy, expected", [(0.0, 4), (0.4, 4), (0.6, 3), (1.0, 3), (3.7, 1), (9.0, 1)])
def test_auto_threads_leave_the_busy_cores(monkeypatch, restore_threads, busy, expected):
    monkeypatch.setenv(runtime.THREADS_ENV, "auto")
    monkeypatch.setattr(runtime, "_usable_cpus", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 4)
    monkeypatch.setattr(runtime, "busy_cores", lambda: busy)
    assert runtime.configure_threads() == expected


@pytest.mark.parametrize("bad, error, words", [(0, ValueError, ["n", "positive", "0"]),
                                               (-2, ValueError, ["n", "-2"]),
                                               (1.5, TypeError, ["n", "int", "float"]),
                                               (True, TypeError, ["n", "bool"])])
def test_configure_threads_bad_input(restore_threads, bad, error, words):
    with pytest.raises(error) as raised:
        runtime.configure_threads(bad)
    assert all(word in str(raised.value) for word in words)


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_bad_thread_environment_variable_is_named(monkeypatch, restore_threads, value):
    monkeypatch.setenv(runtime.THREADS_ENV, value)
    with pytest.raises(ValueError, match=f"{runtime.THREADS_ENV} is '{value}'.*positive integer or 'auto'"):
        runtime.configure_threads()


def test_busy_cores_from_proc_stat(monkeypatch):
    samples = iter([{0: (100, 1000), 1: (500, 1000)}, {0: (100, 1100), 1: (590, 1100)}])
    monkeypatch.setattr(runtime, "_cpu_times", lambda cpus: next(samples))
    monkeypatch.setattr(runtime, "_usable_cpus", lambda: [0, 1])
    assert runtime.busy_cores(sample_seconds=0) == pytest.approx(0.9)  # core 0 idle, core 1 90 % busy


def test_busy_cores_reads_this_machine():
    assert 0.0 <= runtime.busy_cores(sample_seconds=0.05) <= len(runtime._usable_cpus())


def test_first_seeding_configures_threads_once(monkeypatch, restore_threads):
    calls = []
    monkeypatch.setattr(runtime, "_threads_configured", None)
    monkeypatch.setattr(runtime, "configure_threads", lambda n=None: calls.append(n) or 1)
    seed_everything(0)
    assert calls == [None]
    monkeypatch.setattr(runtime, "_threads_configured", 1)
    seed_everything(0)
    assert calls == [None], "later seeding keeps the thread count"


def test_device_summary_prints_the_thread_count(restore_threads):
    runtime.configure_threads(1)
    assert "1 thread of" in device_summary("cpu")


def test_passive_openmp_wait_is_set_before_torch_loads():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import cnncourse.runtime, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    late = "import torch, cnncourse.runtime, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", late], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None", "too late once torch is loaded: the policy is not pretended"


# --------------------------------------------------------------------------- training configuration
F32, CL, BF16 = runtime._CANDIDATES


def test_config_identity_ignores_rates_and_gives_options():
    assert runtime.TrainingConfig(True, torch.bfloat16, (("x", 1.0),)) == BF16
    assert BF16.options() == {"channels_last": True, "autocast_dtype": torch.bfloat16}
    assert (F32.name, CL.name, BF16.name) == ("float32", "float32 + channels_last",
                                              "bfloat16 autocast + channels_last")


@pytest.mark.parametrize("rates, expected", [
    ((100, 110, 200), BF16),   # bf16 pays (an AMX CPU)
    ((100, 130, 140), CL),     # channels_last pays, bf16 not by the margin over it
    ((100, 180, 45), CL),      # bf16 much slower (an AVX2-only CPU)
    ((100, 115, 119), F32),    # near-ties keep the simplest
])
def test_choice_needs_the_margin(rates, expected):
    chosen = runtime.choose_config(dict(zip(runtime._CANDIDATES, rates)))
    assert chosen == expected
    assert dict(chosen.rates)["float32"] == rates[0]
    assert chosen.describe().startswith(f"training configuration: {expected.name}")


def test_choice_bad_input():
    with pytest.raises(ValueError, match="rates is empty"):
        runtime.choose_config({})
    with pytest.raises(ValueError, match=r"margin must be number >= 1 .*got 0.5"):
        runtime.choose_config({F32: 1.0}, margin=0.5)


def test_probe_measures_every_candidate_and_keeps_random_numbers():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    rates = runtime._probe_rates(torch.device("cpu"), runtime._CANDIDATES, rounds=1, batch_size=4)
    assert set(rates) == set(runtime._CANDIDATES) and all(r > 0 for r in rates.values())
    assert torch.equal(torch.rand(3), expected)


def test_training_config_is_measured_once_and_recorded(monkeypatch, tmp_path):
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(runtime, "_configs", {})
    probes = []

    def fake_probe(device, candidates):
        probes.append(device)
        return dict(zip(candidates, (100.0, 300.0, 900.0)))

    monkeypatch.setattr(runtime, "_probe_rates", fake_probe)
    first = runtime.training_config("cpu")
    assert first == BF16 and len(probes) == 1
    assert runtime.training_config("cpu") is first, "once per process"
    monkeypatch.setattr(runtime, "_configs", {})  # a new process on the same machine
    again = runtime.training_config("cpu")
    assert again == first and again.rates == first.rates and len(probes) == 1, "recorded per machine"
    recorded = json.loads((tmp_path / "training-config.json").read_text())
    (key,) = recorded
    assert "torch " + torch.__version__ in key and f"{torch.get_num_threads()} threads" in key
    assert recorded[key]["autocast_dtype"] == "bfloat16"
    assert not list(tmp_path.glob("*.tmp")), "written atomically, no temporary left"


def test_a_choice_recorded_first_by_another_process_wins(monkeypatch, tmp_path):
    path = tmp_path / "training-config.json"
    assert runtime._record(path, "machine", CL) == CL
    assert runtime._record(path, "machine", BF16) == CL
    assert runtime._record(path, "other machine", BF16) == BF16


def test_unreadable_or_unwritable_cache_still_gives_a_choice(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(runtime.CACHE_ENV, str(blocker))
    monkeypatch.setattr(runtime, "_configs", {})
    monkeypatch.setattr(runtime, "_probe_rates", lambda device, candidates: dict.fromkeys(candidates, 1.0))
    assert runtime.training_config("cpu") == F32
    broken = tmp_path / "cache"
    broken.mkdir()
    (broken / "training-config.json").write_text("{not json")
    monkeypatch.setenv(runtime.CACHE_ENV, str(broken))
    monkeypatch.setattr(runtime, "_configs", {})
    assert runtime.training_config("cpu") == F32
    assert json.loads((broken / "training-config.json").read_text()), "a damaged file is replaced"


def test_cpu_description_names_the_model_and_flags():
    text = runtime.cpu_description()
    assert "[" in text and text.endswith("]")


def test_autocast_and_to_device():
    x = torch.randn(2, 3, 4, 5)
    assert runtime.to_device(x, "cpu") is x or torch.equal(runtime.to_device(x, "cpu"), x)
    moved = runtime.to_device(x, "cpu", channels_last=True)
    assert torch.equal(moved, x) and moved.is_contiguous(memory_format=torch.channels_last)
    assert runtime.to_device(torch.randn(3, 4), "cpu", channels_last=True).is_contiguous()
    with runtime.autocast("cpu", torch.bfloat16):
        assert (torch.randn(4, 4) @ torch.randn(4, 4)).dtype == torch.bfloat16
    with runtime.autocast(torch.device("cpu"), None):
        assert (torch.randn(4, 4) @ torch.randn(4, 4)).dtype == torch.float32
    with pytest.raises(ValueError, match="^dtype must be torch.bfloat16, torch.float16 or None"):
        runtime.autocast("cpu", torch.float64)


def test_seeding_is_deterministic_without_loading_the_compiler():
    """seed_everything turns on deterministic kernels without importing torch._inductor (1.3 s
    of every lesson's start), and a compiler loaded afterwards still sees the flag."""
    code = (
        "import sys, torch\n"
        "from cnncourse.runtime import seed_everything\n"
        "seed_everything(0)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert torch.utils.deterministic.fill_uninitialized_memory is False\n"
        "assert 'torch._inductor.config' not in sys.modules\n"
        "import torch._inductor.config as c\n"
        "assert c.deterministic is True\n"
        "seed_everything(1)  # with the compiler loaded: the public call\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_DETERMINISTIC"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_evaluating_sets_eval_and_restores_the_mode_even_on_error():
    from torch import nn

    from cnncourse.runtime import evaluating

    model = nn.Sequential(nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(3)))
    for mode in (True, False):
        model.train(mode)
        with evaluating(model) as inside:
            assert inside is model and not any(m.training for m in model.modules())
        assert all(m.training == mode for m in model.modules())
    model.train()
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert model.training and model[1][0].training


def test_model_device_is_the_parameters_device_or_the_cpu():
    from torch import nn

    from cnncourse.runtime import model_device

    assert model_device(nn.Linear(2, 2)) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")
    assert model_device(nn.Linear(2, 2).to("meta")) == torch.device("meta")


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, exc, words", [
    (lambda: runtime.autocast("cpu", "nonsense"), TypeError, ["dtype must be", "'nonsense'"]),
    (lambda: runtime.autocast("cpu", torch.float64), ValueError, ["dtype must be", "torch.float64"]),
    (lambda: runtime.autocast("gpu0", None), ValueError, ["device", "'gpu0'"]),
    (lambda: runtime.busy_cores(-1.0), ValueError, ["sample_seconds", "-1.0"]),
    (lambda: runtime.busy_cores(float("inf")), ValueError, ["sample_seconds", "inf"]),
    (lambda: runtime.busy_cores("0.5"), TypeError, ["sample_seconds", "str"]),
    (lambda: runtime.choose_config({F32: 1.0}, margin=1 + 1j), TypeError, ["margin", "complex"]),
    (lambda: runtime.choose_config({F32: 1.0}, margin=torch.tensor([1.0, 2.0])), TypeError, ["margin", "(2,)"]),
    (lambda: runtime.training_config("nonsense"), ValueError, ["device", "'nonsense'"]),
    (lambda: runtime.training_config(-1), TypeError, ["device", "int"]),
])
def test_runtime_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_callers_of_autocast_name_their_own_argument():
    """Training, evaluation and the shift experiment pass their autocast_dtype through: the
    message names autocast_dtype, the caller's parameter, not autocast's dtype."""
    from cnncourse.training import evaluate

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    batches = [(torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]))]
    with pytest.raises(ValueError, match="^autocast_dtype must be torch.bfloat16"):
        evaluate(model, batches, autocast_dtype=torch.float64)
