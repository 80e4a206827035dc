"""Measuring a trained classifier: accuracy, per-class accuracy, confusion matrix, worst mistakes.

Pure computation on predictions and targets (tensors on any device, results on the CPU); the
figures live in :mod:`cnncourse.plots.evaluation`. Get logits and targets with
:func:`cnncourse.training.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnncourse._checks import as_tensor, check_int, check_logits, describe

__all__ = [
    "Mistake",
    "accuracy",
    "confusion_matrix",
    "most_confused_examples",
    "most_confused_pairs",
    "per_class_accuracy",
    "to_predictions",
]


def _as_long_vector(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or a sequence of class indices, got {type(x).__name__}") from exc
    x = as_tensor(x, name, numbers=True)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a vector of class indices of shape (N,), got {describe(x)}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got dtype {x.dtype}")
    x = x.detach().cpu().long()
    if len(x) and int(x.min()) < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {int(x.min())}")
    return x


def to_predictions(outputs) -> torch.Tensor:
    """Predicted classes from ``(N, C)`` logits or probabilities (argmax), or pass ``(N,)`` classes through.

    Parameters
    ----------
    outputs
        Either scores of shape ``(N, C)`` (logits or probabilities: the argmax is the same)
        or integer predictions of shape ``(N,)``.

    Returns
    -------
    torch.Tensor
        ``int64`` predictions of shape ``(N,)`` on the CPU.

    Raises
    ------
    TypeError
        For something that is not a tensor or array of real numbers, boolean scores, or
        ``(N,)`` predictions that are not integers.
    ValueError
        For another shape, scores with no class, a meta tensor or a negative class index.
    """
    if isinstance(outputs, torch.Tensor) and outputs.ndim == 2:
        scores = as_tensor(outputs, "outputs", numbers=True)
        if scores.dtype == torch.bool:
            raise TypeError(f"outputs must hold real scores (N, C) or class indices (N,), got {describe(scores)}")
        if outputs.shape[1] == 0:
            raise ValueError(f"outputs has shape {tuple(outputs.shape)}: a classifier needs at least one class")
        return scores.detach().argmax(1).cpu()
    if isinstance(outputs, torch.Tensor) and outputs.ndim not in (1, 2):
        raise ValueError(f"outputs must be (N, C) scores or (N,) classes, got {describe(outputs)}")
    return _as_long_vector(outputs, "outputs")


def _pair(outputs, targets, name: str = "outputs") -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and targets of the same length; ``name`` is the caller's name of ``outputs``."""
    preds = to_predictions(outputs)
    targets = _as_long_vector(targets, "targets")
    if len(preds) != len(targets):
        raise ValueError(f"{name} and targets must describe the same examples, got {len(preds)} "
                         f"predictions from {describe(outputs)} and {len(targets)} targets")
    if len(targets) == 0:
        raise ValueError("targets is empty: there is nothing to evaluate")
    return preds, targets


def _num_classes(num_classes: int | None, *vectors: torch.Tensor) -> int:
    needed = max(int(v.max()) + 1 for v in vectors)
    if num_classes is None:
        return needed
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if needed > num_classes:
        raise ValueError(f"num_classes is {num_classes}, but a class index {needed - 1} occurs")
    return num_classes


def accuracy(outputs, targets) -> float:
    """Fraction of examples whose predicted class equals the target.

    Parameters
    ----------
    outputs
        ``(N, C)`` logits/probabilities or ``(N,)`` predicted classes.
    targets
        ``(N,)`` true classes.

    Returns
    -------
    float
        A number in ``[0, 1]``.
    """
    preds, targets = _pair(outputs, targets)
    return float((preds == targets).double().mean())


def confusion_matrix(outputs, targets, num_classes: int | None = None) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    outputs, targets
        As :func:`accuracy`.
    num_classes
        Size of the matrix; default: the largest class index seen plus one (or ``C`` of the logits).

    Returns
    -------
    torch.Tensor
        ``int64`` matrix ``M`` of shape ``(num_classes, num_classes)``: ``M[t, p]`` counts the
        examples of true class ``t`` predicted as ``p``. Rows sum to the class sizes, the
        diagonal holds the correct predictions.
    """
    if num_classes is None and isinstance(outputs, torch.Tensor) and outputs.ndim == 2:
        num_classes = int(outputs.shape[1])
    preds, targets = _pair(outputs, targets)
    k = _num_classes(num_classes, preds, targets)
    flat = torch.bincount(targets * k + preds, minlength=k * k)
    return flat.reshape(k, k)


def per_class_accuracy(outputs, targets, num_classes: int | None = None) -> torch.Tensor:
    """Accuracy within each true class (the recall of every class).

    Parameters
    ----------
    outputs, targets, num_classes
        As :func:`confusion_matrix`.

    Returns
    -------
    torch.Tensor
        ``float64`` vector of length ``num_classes``, each entry in ``[0, 1]``.

    Raises
    ------
    ValueError
        When a class among the ``num_classes`` (given, or the ``C`` of ``(N, C)`` logits) has
        no example in ``targets``: its accuracy, correct / examples = 0 / 0, is undefined, and
        no number would be honest. Evaluate on a set that holds every class, or read the
        counts of :func:`confusion_matrix`. Otherwise as :func:`confusion_matrix`.
    """
    cm = confusion_matrix(outputs, targets, num_classes).double()
    support = cm.sum(1)
    missing = torch.nonzero(support == 0).flatten().tolist()
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"targets has no example of class {shown} (of {len(support)} classes, num_classes="
                         f"{num_classes}): the accuracy of a class without examples is undefined. "
                         "Evaluate on a set that holds every class, or read the counts of confusion_matrix")
    return cm.diagonal() / support


@dataclass(frozen=True)
class Mistake:
    """One misclassified example.

    Attributes
    ----------
    index
        Position of the example in the evaluated set.
    target
        Its true class.
    predicted
        The class the model chose.
    confidence
        The softmax probability the model gave to ``predicted``.
    target_probability
        The softmax probability the model gave to the true class.
    """

    index: int
    target: int
    predicted: int
    confidence: float
    target_probability: float


def most_confused_examples(logits: torch.Tensor, targets, k: int = 12) -> list[Mistake]:
    """The ``k`` misclassified examples the model was most sure about.

    Parameters
    ----------
    logits
        ``(N, C)`` raw scores (softmax is applied here).
    targets
        ``(N,)`` true classes.
    k
        How many mistakes to return at most (fewer if the model made fewer).

    Returns
    -------
    list of Mistake
        Sorted by decreasing confidence in the wrong class (ties by index).
    """
    logits = check_logits(logits, "logits")
    k = check_int(k, "k", minimum=0)
    preds, targets = _pair(logits, targets, "logits")
    _num_classes(int(logits.shape[1]), targets)
    probs = torch.softmax(logits.detach().double().cpu(), dim=1)
    wrong = torch.nonzero(preds != targets).flatten()
    conf = probs[wrong, preds[wrong]]
    # stable sort on -confidence keeps ties in index order
    order = torch.sort(-conf, stable=True).indices[:k]
    return [Mistake(int(wrong[i]), int(targets[wrong[i]]), int(preds[wrong[i]]), float(conf[i]),
                    float(probs[wrong[i], targets[wrong[i]]])) for i in order]


def most_confused_pairs(matrix: torch.Tensor, k: int = 5) -> list[tuple[int, int, int | float]]:
    """The ``k`` largest off-diagonal cells of a confusion matrix.

    Parameters
    ----------
    matrix
        ``(C, C)`` confusion matrix: counts (integer) or rates (floating, e.g. row-normalised
        by :func:`confusion_matrix` divided by its row sums); a NumPy array works too.
    k
        Number of pairs, non-negative.

    Returns
    -------
    list of (true, predicted, value)
        Sorted by decreasing value (ties by position); cells with value 0 are left out. The
        value is an ``int`` for a count matrix and a ``float`` for a rate matrix.

    Raises
    ------
    TypeError
        For a non-array ``matrix`` or a non-integer ``k``.
    ValueError
        For a matrix that is not square, holds NaN or negative values, or a negative ``k``.
    """
    m = as_tensor(matrix, "matrix", numbers=True).detach().cpu()
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be a square confusion matrix, got {describe(m)}")
    k = check_int(k, "k", minimum=0)
    counts = not m.is_floating_point()
    off = (m.long() if counts else m.double()).clone()
    if not counts and not bool(torch.isfinite(off).all()):
        raise ValueError("matrix must hold finite values, got NaN or infinity")
    if off.numel() and float(off.min()) < 0:
        raise ValueError(f"matrix must hold counts or rates >= 0, got {float(off.min())}")
    off.fill_diagonal_(0)
    flat = off.flatten()
    order = torch.sort(-flat, stable=True).indices
    n = off.shape[0]
    value = int if counts else float
    pairs = [(int(i) // n, int(i) % n, value(flat[i])) for i in order if flat[i] > 0]
    return pairs[:k]
