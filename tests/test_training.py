import math
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from cnncourse.data import TensorBatches
from cnncourse.models import MLP
from cnncourse.plots.training import show_history
from cnncourse.training import (
    History,
    NonFiniteLossError,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
    train_one_epoch,
)


def _blobs(n=240, seed=0):
    """Three well-separated Gaussian blobs in 8 dimensions: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.eye(3, 8) * 4
    x = centres[y] + torch.randn(n, 8, generator=g)
    return x, y


def _batches(batch_size=32, shuffle=True, seed=0, n=240):
    x, y = _blobs(n, seed)
    return TensorBatches(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _model():
    torch.manual_seed(0)
    return MLP((8, 16, 3), dropout=0.0)


def test_fit_learns_and_checkpoints(tmp_path):
    model = _model()
    val = _batches(64, shuffle=False, seed=1, n=120)
    path = tmp_path / "best.pt"
    history = fit(model, _batches(), val, epochs=5, lr=1e-2, checkpoint=path, progress=False)
    assert isinstance(history, History) and len(history) == 5
    assert history.records[-1].val_accuracy > 0.9
    assert history.best_epoch == min(range(1, 6), key=lambda e: history.records[e - 1].val_loss)
    assert path.is_file() and not list(tmp_path.glob(".*.tmp"))
    fresh = _model()
    extra = load_checkpoint(path, fresh)
    assert extra["epoch"] == history.best_epoch
    assert evaluate(fresh, val).loss == pytest.approx(extra["val_loss"], rel=1e-6)
    assert history.seconds > 0 and history.column("epoch") == [1, 2, 3, 4, 5]


def test_fit_is_reproducible():
    runs = []
    for _ in range(2):
        model = _model()
        fit(model, _batches(), epochs=2, lr=1e-2, progress=False)
        runs.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(*runs)


def test_epoch_loss_weights_batches_by_size():
    model = _model()
    batches = _batches(100, shuffle=False, n=240)  # batches of 100, 100 and 40
    x, y = batches.inputs, batches.targets
    loss_fn = nn.CrossEntropyLoss()
    result = evaluate(model, batches)
    with torch.no_grad():
        exact = loss_fn(model.eval()(x), y).item()
        naive = sum(loss_fn(model(xb), yb).item() for xb, yb in batches) / len(batches)
    assert result.loss == pytest.approx(exact, rel=1e-5)
    assert abs(naive - exact) > 1e-7  # the plain mean of batch means is biased
    assert result.n == 240


def test_predict_shapes_and_mode_restored():
    model = _model().train()
    logits, targets = predict(model, _batches(50, shuffle=False))
    assert logits.shape == (240, 3) and targets.shape == (240,)
    assert model.training  # the previous mode is restored


def test_train_one_epoch_steps_the_scheduler():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    batches = _batches(80)
    loss, acc = train_one_epoch(model, batches, opt, scheduler=sched)
    assert math.isfinite(loss) and 0 <= acc <= 1
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** len(batches))


def test_wrong_number_of_classes_is_explained():
    model = MLP((8, 4, 2), dropout=0.0)  # only 2 outputs for 3 classes
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="at least 3 outputs"):
        train_one_epoch(model, _batches(), opt)
    with pytest.raises(ValueError, match="at least 3 outputs"):
        evaluate(model, _batches())


def test_non_2d_output_is_explained():
    model = nn.Sequential(nn.Linear(8, 3), nn.Flatten(0))
    with pytest.raises(ValueError, match=r"logits of shape \(batch, classes\)"):
        evaluate(model, _batches())


def test_empty_loader_is_explained():
    with pytest.raises(ValueError, match="yielded no batches"):
        evaluate(_model(), [])
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(_model(), [], epochs=1, progress=False)


def test_non_finite_loss_is_explained():
    x, y = _blobs()
    x[0, 0] = float("nan")
    batches = TensorBatches(x, y, batch_size=240)
    with pytest.raises(NonFiniteLossError, match="learning rate|normalized"):
        fit(_model(), batches, epochs=1, progress=False)


def test_fit_argument_checks():
    with pytest.raises(ValueError, match="epochs"):
        fit(_model(), _batches(), epochs=0, progress=False)
    with pytest.raises(ValueError, match="need validation batches"):
        fit(_model(), _batches(), epochs=1, checkpoint="x.pt", progress=False)
    with pytest.raises(TypeError, match="nn.Module"):
        fit("model", _batches(), epochs=1)


def test_early_stopping_with_patience():
    model = _model()
    # lr 0 never improves after the first epoch
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    history = fit(model, _batches(), _batches(60, shuffle=False), epochs=10, optimizer=opt, patience=2,
                  progress=False)
    assert history.stopped_early and len(history) == 3 and history.best_epoch == 1


def test_checkpoint_is_atomic(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(path, _model(), epoch=2)
    assert path.read_bytes() == before  # the old checkpoint survives
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]  # no temporary file left behind


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", _model())
    damaged = Path(tmp_path / "damaged.pt")
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(damaged, _model())


def test_history_round_trip_and_plot():
    model = _model()
    history = fit(model, _batches(), _batches(60, shuffle=False), epochs=2, progress=False)
    again = History.from_dict(history.to_dict())
    assert again.records == history.records and again.best_epoch == history.best_epoch
    from matplotlib.figure import Figure

    assert isinstance(show_history(history, "blobs"), Figure)
    assert not hasattr(history, "plot"), "a training loop knows no drawing: the lesson calls show_history"


def test_training_figures():
    import numpy as np
    from matplotlib.figure import Figure

    from cnncourse.plots.training import show_curves, show_histories, show_negative_log

    model = _model()
    h = fit(model, _batches(), _batches(60, shuffle=False), epochs=2, progress=False)
    assert isinstance(show_histories({"a": h, "b": h}, logy=True), Figure)
    fig = show_curves({"x": [4.0, 2.0, 0.0, 2.0]}, smooth=2)
    # a trailing moving average of width 2
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), [4.0, 3.0, 1.0, 1.0])
    assert isinstance(show_negative_log(), Figure)
    with pytest.raises(ValueError, match=r"metrics\[0\] must be one of"):
        show_histories({"a": h}, metrics=("loss",))
    with pytest.raises(ValueError, match="histories is empty"):
        show_histories({})
    with pytest.raises(ValueError, match="smooth"):
        show_curves({"x": [1.0]}, smooth=0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        show_negative_log((0.0,))


def test_a_best_checkpoint_can_be_resumed_from(tmp_path):
    """fit(checkpoint=...) and fit(resume_from=...) write one format (issue 20: it raised KeyError)."""
    torch.manual_seed(0)
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    batches = TensorBatches(x, y, batch_size=16, shuffle=False)
    model = nn.Linear(4, 3)
    history = fit(model, batches, batches, epochs=2, checkpoint=tmp_path / "best.pt", progress=False)
    resumed = fit(nn.Linear(4, 3), batches, batches, epochs=3, resume_from=tmp_path / "best.pt",
                           progress=False)
    assert len(resumed) == 3 and resumed.records[0].train_loss == history.records[0].train_loss


def test_weights_only_files_cannot_be_resumed_from(tmp_path):
    save_checkpoint(tmp_path / "w.pt", nn.Linear(4, 3))
    batches = [(torch.zeros(2, 4), torch.zeros(2).long())]
    with pytest.raises(ValueError, match="weights only"):
        fit(nn.Linear(4, 3), batches, epochs=1, resume_from=tmp_path / "w.pt", progress=False)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


@pytest.mark.parametrize("call, exc, words", [
    # what the loop calls methods on is checked at the entry, by its name
    (lambda: train_one_epoch(_model(), _batches(), None), TypeError, ["optimizer", "torch.optim.Optimizer", "None"]),
    (lambda: train_one_epoch(_model(), _batches(), "adam"), TypeError, ["optimizer", "'adam'"]),
    (lambda: train_one_epoch(_model(), _batches(), _sgd(_model()), scheduler="cosine"), TypeError,
     ["scheduler", "step()", "'cosine'"]),
    (lambda: train_one_epoch(_model(), _batches(), _sgd(_model()), progress=-1), TypeError,
     ["progress", "update()", "-1"]),
    (lambda: fit(_model(), _batches(), epochs=1, optimizer="sgd", progress=False), TypeError, ["optimizer", "'sgd'"]),
    (lambda: fit(_model(), _batches(), epochs=1, scheduler=object(), progress=False), TypeError,
     ["scheduler", "state_dict()"]),
    (lambda: fit(nn.Identity(), _batches(), epochs=1, progress=False), ValueError, ["model", "Identity", "parameters"]),
    (lambda: fit(_model(), [], epochs=1, progress=False), ValueError, ["train (the training batches)", "[]"]),
    (lambda: evaluate(_model(), []), ValueError, ["batches (the evaluation batches)"]),
    # paths: the caller's name, a folder refused as a folder
    (lambda: fit(_model(), _batches(), epochs=1, resume_from="", progress=False), ValueError, ["resume_from", "''"]),
    (lambda: fit(_model(), _batches(), epochs=1, resume_from="/", progress=False), ValueError,
     ["resume_from", "folder", "'/'"]),
    (lambda: load_checkpoint("/", _model()), ValueError, ["path", "folder", "'/'"]),
])
def test_training_arguments_are_checked_at_the_entry(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_checkpoint_of_another_model_is_refused_by_name(tmp_path):
    path = save_checkpoint(tmp_path / "mlp.pt", _model())
    with pytest.raises(ValueError, match=r"does not fit model \(Identity\)") as info:
        load_checkpoint(path, nn.Identity())
    assert isinstance(info.value.__cause__, RuntimeError)  # torch's own report, chained
    other = MLP((8, 4, 3), dropout=0.0)
    with pytest.raises(ValueError, match=r"^the checkpoint at resume_from=.*does not fit model \(MLP\)"):
        fit(other, _batches(), epochs=1, resume_from=path, progress=False)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds no checkpoint of save_checkpoint"):
        load_checkpoint(tmp_path / "list.pt", _model())


def test_a_damaged_checkpoint_names_the_callers_argument(tmp_path):
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"^the checkpoint at path=.*could not be read"):
        load_checkpoint(damaged, _model())
    with pytest.raises(ValueError, match=r"^the checkpoint at resume_from=.*could not be read"):
        fit(_model(), _batches(), epochs=1, resume_from=damaged, progress=False)
