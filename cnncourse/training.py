"""Training, validation and testing loops, with a history and atomic checkpoints.

:func:`fit` takes any classifier (a module that maps a batch of inputs to ``(N, classes)``
logits) and any iterable of ``(inputs, targets)`` batches: a torchvision ``DataLoader`` or
the fast :class:`cnncourse.data.TensorBatches` alike.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnncourse._checks import (
    check_batches,
    check_device,
    check_int,
    check_learning_rate,
    check_model,
    check_model_input,
    check_path,
    describe,
)
from cnncourse.runtime import atomic_write, evaluating, model_device
from cnncourse.runtime import autocast_context as _autocast
from cnncourse.runtime import to_device as _to_device

__all__ = ["Batches", "NonFiniteLossError", "EpochRecord", "History", "train_one_epoch", "Evaluation",
           "predict", "evaluate", "save_checkpoint", "load_checkpoint", "fit"]

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@dataclass
class EpochRecord:
    """What one epoch measured."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    seconds: float = 0.0
    lr: float | None = None


@dataclass
class History:
    """Per-epoch losses and accuracies of a :func:`fit` run.

    Attributes
    ----------
    records
        One :class:`EpochRecord` per epoch.
    best_epoch
        The epoch (1-based) with the lowest validation loss, or ``None`` without validation.
    checkpoint
        Where the best model was saved, if anywhere.
    """

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    checkpoint: Path | None = None
    stopped_early: bool = False

    def __len__(self) -> int:
        return len(self.records)

    def column(self, name: str) -> list[float | None]:
        """Values of one field over the epochs, e.g. ``history.column("val_loss")``."""
        if name not in EpochRecord.__dataclass_fields__:
            raise ValueError(f"name must be one of {list(EpochRecord.__dataclass_fields__)}, got {name!r}")
        return [getattr(r, name) for r in self.records]

    @property
    def seconds(self) -> float:
        """Total training time."""
        return sum(r.seconds for r in self.records)

    def to_dict(self) -> dict:
        """Plain data, for checkpoints."""
        return {"records": [vars(r).copy() for r in self.records], "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls([EpochRecord(**r) for r in data["records"]], data.get("best_epoch"))


# --------------------------------------------------------------------------- checks
def _check_loss_fn(loss_fn: Callable | None) -> Callable:
    """The loss, which must average over the examples of a batch (``reduction="mean"``): the
    loops weight each batch's loss by its size to report a mean per example."""
    if loss_fn is None:
        return nn.CrossEntropyLoss()
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable such as nn.CrossEntropyLoss(), got {describe(loss_fn)}")
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction != "mean":
        raise ValueError(f"loss_fn must average over the batch (reduction='mean'), got reduction={reduction!r}: "
                         "train_one_epoch and evaluate report the mean loss per example")
    return loss_fn


def _check_batch(model: nn.Module, x: object, y: object) -> None:
    """Inputs the model can take and targets that are class indices (first batch of a loop)."""
    check_model_input(x, model, "(the inputs of the batches)")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"the targets of the batches must be a tensor of class indices, got {describe(y)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"the targets of the batches must be integer class indices (torch.long), got dtype "
                        f"{y.dtype}: convert with targets.long()")
    if y.numel() and int(y.min()) < 0:
        raise ValueError(f"the targets of the batches must be class indices >= 0, got {int(y.min())}")


def _check_logits(logits: torch.Tensor, targets: torch.Tensor, model: nn.Module) -> None:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"the model ({type(model).__name__}) must return logits of shape "
                         f"(batch, classes), got {shape}")
    if logits.shape[0] != targets.shape[0]:
        raise ValueError(f"the model returned {logits.shape[0]} rows of logits for a batch of "
                         f"{targets.shape[0]} targets")
    top = int(targets.max())
    if top >= logits.shape[1]:
        raise ValueError(f"the model returns {logits.shape[1]} logits per example, but a target is "
                         f"class {top}: the last layer needs at least {top + 1} outputs")


def _check_optimizer(optimizer: object) -> torch.optim.Optimizer:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, e.g. torch.optim.Adam(model.parameters()), "
                        f"got {describe(optimizer)}")
    return optimizer


def _check_methods(value: object, name: str, methods: tuple[str, ...], what: str) -> object:
    """``value`` itself when it is ``None`` or has the callable ``methods`` a loop uses."""
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if value is not None and missing:
        raise TypeError(f"{name} must be {what} (with {', '.join(m + '()' for m in methods)}) or None, got "
                        f"{describe(value)}")
    return value


def _empty(batches: object, what: str) -> ValueError:
    """The error for ``batches`` (checked by check_batches, so named as the caller's argument:
    ``train`` or ``val`` in fit) that yielded nothing."""
    name = getattr(batches, "name", "batches")
    return ValueError(f"{name} ({what}) yielded no batches: check that the dataset is not empty, got "
                      f"{describe(getattr(batches, 'batches', batches))}")


# --------------------------------------------------------------------------- loops
_FINITE_CHECK_EVERY = 20


def _check_finite(loss: torch.Tensor, step: int) -> None:
    if not bool(torch.isfinite(loss)):
        raise NonFiniteLossError(
            f"the training loss became {loss.item()} (at or before batch {step}). Likely causes: a "
            "learning rate that is too high (try 10x smaller), or inputs that are not normalized "
            "(e.g. raw 0-255 pixels); check the data for NaN values too."
        )


def train_one_epoch(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer,
                    loss_fn: Callable | None = None, device: torch.device | str | None = None,
                    scheduler=None, progress=None, autocast_dtype: torch.dtype | None = None,
                    channels_last: bool = False) -> tuple[float, float]:
    """One pass over the training batches: train mode, zero_grad, forward, loss, backward, step.

    Parameters
    ----------
    model, batches, optimizer
        The classifier, its training batches and its optimizer.
    loss_fn
        Loss on ``(logits, targets)``; default ``nn.CrossEntropyLoss()``.
    device
        Where to compute (default: where the model's parameters are). The model must already
        be there (a ``ValueError`` says so otherwise); the batches are moved to it.
    scheduler
        A learning-rate scheduler stepped after every batch (e.g. ``OneCycleLR``), or ``None``.
    progress
        A tqdm bar to advance by one per batch, or ``None``.
    autocast_dtype
        Run the forward pass under ``torch.autocast`` with this dtype (e.g. ``torch.bfloat16``,
        fast on CPUs with AMX and on recent GPUs), or ``None`` for full float32.
    channels_last
        Feed 4-D inputs in the ``channels_last`` memory format (faster convolutions on many CPUs;
        convert the model with ``model.to(memory_format=torch.channels_last)`` too).

    Returns
    -------
    (loss, accuracy)
        Mean loss per example (each batch weighted by its size) and accuracy over the epoch.

    Raises
    ------
    NonFiniteLossError
        When a batch's loss is NaN or infinite, with the likely causes.
    TypeError
        For an ``optimizer`` that is not a ``torch.optim.Optimizer``, a ``scheduler`` without
        ``step()`` or a ``progress`` without ``update()`` (and as the checks of the model and
        the batches).
    """
    check_model(model, numbers=True)
    batches = check_batches(batches, "batches")
    optimizer = _check_optimizer(optimizer)
    _check_methods(scheduler, "scheduler", ("step",), "a learning-rate scheduler")
    _check_methods(progress, "progress", ("update",), "a progress bar")
    loss_fn = _check_loss_fn(loss_fn)
    device = _compute_device(model, device)
    model.train()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for step, (x, y) in enumerate(batches):
        if step == 0:
            _check_batch(model, x, y)
        x, y = _to_device(x, device, channels_last), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, autocast_dtype):
            logits = model(x)
            if step == 0:
                _check_logits(logits, y, model)
            loss = loss_fn(logits, y)
        # checking every batch would synchronise a GPU each step; a NaN spreads to every later
        # loss, so a periodic check (and one at the end) catches it within a few batches
        if step % _FINITE_CHECK_EVERY == 0:
            _check_finite(loss, step)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = y.shape[0]
        # accumulate on the device: no host synchronisation per batch
        total_loss += loss.detach().float() * n
        correct += (logits.argmax(1) == y).sum()
        seen += n
        if progress is not None:
            progress.update(1)
    if seen == 0:
        raise _empty(batches, "the training batches")
    _check_finite(total_loss, step)
    return total_loss.item() / seen, correct.item() / seen


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy of a model on a set of examples."""

    loss: float
    accuracy: float
    n: int


def predict(model: nn.Module, batches: Batches, device: torch.device | str | None = None,
            autocast_dtype: torch.dtype | None = None, channels_last: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets for every example, in eval mode and without gradients.

    ``autocast_dtype`` and ``channels_last`` work as in :func:`train_one_epoch`.

    Returns
    -------
    (logits, targets)
        Tensors on the CPU of shape ``(N, classes)`` and ``(N,)``.
    """
    check_model(model, numbers=True)
    batches = check_batches(batches, "batches")
    device = _compute_device(model, device)
    outs, targets = [], []
    with evaluating(model), torch.inference_mode(), _autocast(device, autocast_dtype):
        for step, (x, y) in enumerate(batches):
            if step == 0:
                _check_batch(model, x, y)
            logits = model(_to_device(x, device, channels_last))
            _check_logits(logits, y, model)
            outs.append(logits.float().cpu())
            targets.append(y.cpu())
    if not outs:
        raise _empty(batches, "the evaluation batches")
    return torch.cat(outs), torch.cat(targets)


def evaluate(model: nn.Module, batches: Batches, loss_fn: Callable | None = None,
             device: torch.device | str | None = None, autocast_dtype: torch.dtype | None = None,
             channels_last: bool = False) -> Evaluation:
    """Mean loss per example and accuracy of ``model`` on ``batches`` (eval mode, no gradients)."""
    loss_fn = _check_loss_fn(loss_fn)
    logits, targets = predict(model, batches, device, autocast_dtype, channels_last)
    return Evaluation(float(loss_fn(logits, targets)), float((logits.argmax(1) == targets).float().mean()),
                      len(targets))


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | os.PathLike, model: nn.Module, **extra) -> Path:
    """Save the model's weights (and any extra picklable data) atomically.

    The file is written under a temporary name in the same folder and then renamed, so an
    interrupted save leaves the previous checkpoint intact.
    """
    check_model(model)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), **extra}, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, model: nn.Module) -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; return the extra data.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    TypeError
        For a ``model`` that is not an ``nn.Module`` or a ``path`` that is not a path.
    ValueError
        For a ``path`` that names a folder, a file that is no checkpoint (or is damaged), or
        weights that do not fit ``model`` (another architecture).
    """
    return _load_checkpoint(path, model, "path")


def _load_checkpoint(path: str | os.PathLike, model: nn.Module, name: str) -> dict:
    """:func:`load_checkpoint`, whose messages call the path by the caller's ``name``."""
    check_model(model)
    path = check_path(path, name)
    if path.is_dir():
        raise ValueError(f"{name} must name a checkpoint file, got the folder {str(path)!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{name} names no file: there is no checkpoint at {str(path)!r}; train with "
                                f"fit(..., checkpoint={str(path)!r}) first")
    try:
        state = torch.load(path, map_location=model_device(model), weights_only=False)
    except Exception as exc:  # a damaged file gets one clear message
        raise ValueError(f"the checkpoint at {name}={str(path)!r} could not be read ({exc}); it may be damaged: "
                         "train again") from exc
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{name}={str(path)!r} holds no checkpoint of save_checkpoint, got {describe(state)}")
    try:
        model.load_state_dict(state.pop("model"))
    except RuntimeError as exc:  # another architecture: missing, unexpected or mis-shaped weights
        reason = str(exc).strip().split("\n")
        raise ValueError(f"the checkpoint at {name}={str(path)!r} does not fit model ({type(model).__name__}): "
                         f"{' '.join(line.strip() for line in reason[:3])}") from exc
    return state


# --------------------------------------------------------------------------- fit
def _compute_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The device to compute on: ``device`` if given (it must hold the model), else the model's."""
    here = model_device(model)
    if device is None:
        return here
    wanted = check_device(device)
    if wanted.type != here.type or (wanted.index is not None and here.index is not None and wanted.index != here.index):
        raise ValueError(
            f"device is {str(device)!r} but the model's parameters are on {str(here)!r}: move the model "
            f"first with model.to({str(device)!r}), or leave device=None to compute where the model is"
        )
    return wanted


def _progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, mininterval=0.5)


def _rng_state(train: Batches) -> dict:
    generator = getattr(train, "generator", None)
    return {"torch": torch.get_rng_state(),
            "loader": generator.get_state() if isinstance(generator, torch.Generator) else None}


def _set_rng_state(train: Batches, state: dict) -> None:
    torch.set_rng_state(state["torch"])
    generator = getattr(train, "generator", None)
    if state.get("loader") is not None and isinstance(generator, torch.Generator):
        generator.set_state(state["loader"])


def _training_state(optimizer, scheduler, train: Batches, history: History, best: float, since_best: int) -> dict:
    """What :func:`fit` needs to continue a run exactly (saved with the model's weights)."""
    return {"optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": _rng_state(train), "history": history.to_dict(), "best": best, "since_best": since_best}


def fit(model: nn.Module, train: Batches, val: Batches | None = None, *, epochs: int,
        optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3,
        loss_fn: Callable | None = None, scheduler=None, device: torch.device | str | None = None,
        checkpoint: str | os.PathLike | None = None, patience: int | None = None,
        resume_from: str | os.PathLike | None = None, autocast_dtype: torch.dtype | None = None,
        channels_last: bool = False, progress: bool = True, verbose: bool = False) -> History:
    """Train a classifier for some epochs, validating after each one.

    Parameters
    ----------
    model
        Any ``nn.Module`` that returns ``(N, classes)`` logits; moved to ``device``.
    train, val
        Iterables of ``(inputs, targets)`` batches (DataLoader or TensorBatches).
        Without ``val`` there is no best epoch, checkpoint or early stopping.
    epochs
        Total number of passes over ``train`` (when resuming, including those already done).
    optimizer
        Default: Adam with learning rate ``lr``.
    loss_fn
        Default: ``nn.CrossEntropyLoss()``.
    scheduler
        Learning-rate scheduler stepped after every batch, or ``None``.
    device
        Default: where the model's parameters already are.
    checkpoint
        Path where the model with the lowest validation loss so far is saved (atomically):
        an interrupted run leaves the previous best checkpoint intact.
    patience
        Stop when the validation loss has not improved for this many epochs (early stopping).
    resume_from
        Path of a training state saved after every epoch (model, optimizer, scheduler, history
        and random-number states, written atomically). If the file exists, training continues
        from it, and on the CPU ends with exactly the weights an uninterrupted run would have.
    autocast_dtype, channels_last
        Speed options, see :func:`train_one_epoch`; evaluation uses them too.
    progress
        Show a tqdm progress bar (notebook-aware) per epoch.
    verbose
        Print one line per epoch.

    Returns
    -------
    History
        Per-epoch records; ``best_epoch`` and ``checkpoint`` when validating.

    Raises
    ------
    TypeError
        For a model, batches, optimizer (a ``torch.optim.Optimizer``), scheduler (with
        ``step()``, ``state_dict()`` and ``load_state_dict()``) or path of the wrong type.
    ValueError
        For a model without parameters, values out of range, a ``resume_from`` that names a folder or holds a state that
        does not fit ``model``, and as :func:`train_one_epoch` and :func:`evaluate`.
    NonFiniteLossError
        When the training loss becomes NaN or infinite.
    """
    check_model(model, numbers=True, trainable=True)
    epochs = check_int(epochs, "epochs", minimum=1)
    patience = None if patience is None else check_int(patience, "patience", minimum=1)
    checked_train = check_batches(train, "train")
    checked_val = None if val is None else check_batches(val, "val")
    if (checkpoint is not None or patience is not None) and val is None:
        raise ValueError(f"checkpoint and patience need validation batches, got "
                         f"checkpoint={checkpoint!r} and patience={patience!r} without val: "
                         "pass val=...")
    optimizer = None if optimizer is None else _check_optimizer(optimizer)
    _check_methods(scheduler, "scheduler", ("step", "state_dict", "load_state_dict"), "a learning-rate scheduler")
    state_path = None if resume_from is None else check_path(resume_from, "resume_from")
    device = model_device(model) if device is None else check_device(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=check_learning_rate(lr, "lr"))
    try:
        n_batches = len(train)  # type: ignore[arg-type]
    except TypeError:
        n_batches = None
    history = History(checkpoint=Path(checkpoint) if checkpoint is not None else None)
    best, since_best, first_epoch = math.inf, 0, 1
    if state_path is not None and state_path.is_dir():
        raise ValueError(f"resume_from must name a file, got the folder {str(state_path)!r}")
    if state_path is not None and state_path.is_file():
        state = _load_checkpoint(state_path, model, "resume_from")
        if "optimizer" not in state or "history" not in state:
            raise ValueError(f"resume_from={str(state_path)!r} holds model weights only, not a training state: "
                             "pass a file that fit(..., resume_from=...) or fit(..., checkpoint=...) wrote, "
                             "or load the weights with load_checkpoint")
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(train, state["rng"])
        restored = History.from_dict(state["history"])
        history.records, history.best_epoch = restored.records, restored.best_epoch
        best, since_best, first_epoch = state["best"], state["since_best"], len(history) + 1
    speed = {"autocast_dtype": autocast_dtype, "channels_last": channels_last}
    for epoch in range(first_epoch, epochs + 1):
        start = time.perf_counter()
        with _progress_bar(n_batches, progress, f"epoch {epoch}/{epochs}") as bar:
            train_loss, train_acc = train_one_epoch(model, checked_train, optimizer, loss_fn,
                                                    device, scheduler, bar, **speed)
        record = EpochRecord(epoch, train_loss, train_acc, lr=optimizer.param_groups[0]["lr"])
        if val is not None:
            result = evaluate(model, checked_val, loss_fn, device, **speed)
            record.val_loss, record.val_accuracy = result.loss, result.accuracy
        record.seconds = time.perf_counter() - start
        history.records.append(record)
        if verbose:
            extra = "" if val is None else f", val loss {record.val_loss:.4f}, val acc {record.val_accuracy:.2%}"
            print(f"epoch {epoch}: train loss {train_loss:.4f}, train acc {train_acc:.2%}{extra}")
        stop = False
        if val is not None:
            if record.val_loss < best:
                best, since_best, history.best_epoch = record.val_loss, 0, epoch
                if checkpoint is not None:  # one format: a best checkpoint can be resumed from too
                    save_checkpoint(checkpoint, model, epoch=epoch, val_loss=record.val_loss,
                                    **_training_state(optimizer, scheduler, train, history, best, since_best))
            else:
                since_best += 1
                stop = patience is not None and since_best >= patience
        if state_path is not None:
            save_checkpoint(state_path, model, **_training_state(optimizer, scheduler, train, history, best, since_best))
        if stop:
            history.stopped_early = True
            break
    return history
