
import numpy as np
import pytest
import torch

from cnncourse.evaluation import (
    Mistake,
    accuracy,
    confusion_matrix,
    most_confused_examples,
    most_confused_pairs,
    per_class_accuracy,
    to_predictions,
)


def _reference_confusion(t, p, k):
    m = np.zeros((k, k), dtype=np.int64)
    for a, b in zip(t, p):
        m[a, b] += 1
    return m


def test_confusion_matrix_against_loop():
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 7, (500,), generator=g)
    p = torch.randint(0, 7, (500,), generator=g)
    cm = confusion_matrix(p, t, num_classes=7)
    assert cm.dtype == torch.int64
    assert np.array_equal(cm.numpy(), _reference_confusion(t.tolist(), p.tolist(), 7))
    assert int(cm.sum()) == 500 and torch.equal(cm.sum(1), torch.bincount(t, minlength=7))


def test_logits_and_predictions_agree():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    targets = torch.tensor([0, 1, 1, 2])
    assert torch.equal(to_predictions(logits), torch.tensor([0, 1, 2, 0]))
    assert accuracy(logits, targets) == 0.5
    assert accuracy(to_predictions(logits), targets) == 0.5
    assert accuracy(torch.softmax(logits, 1), targets) == 0.5
    cm = confusion_matrix(logits, targets)
    assert cm.shape == (3, 3)  # the number of classes comes from the logits
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]


def test_per_class_accuracy_and_missing_class():
    targets = torch.tensor([0, 0, 1, 1, 1, 3, 2])
    preds = torch.tensor([0, 1, 1, 1, 0, 3, 0])
    acc = per_class_accuracy(preds, targets, num_classes=4)
    assert acc[0] == 0.5 and acc[1] == pytest.approx(2 / 3) and acc[2] == 0.0 and acc[3] == 1.0
    # the overall accuracy is the support-weighted mean of the per-class ones
    support = torch.bincount(targets, minlength=4).double()
    assert float((acc * support).sum() / support.sum()) == pytest.approx(accuracy(preds, targets))
    # a class without examples has no accuracy (0 / 0): refused, never NaN (issue 37)
    with pytest.raises(ValueError, match=r"targets has no example of class 2 \(of 4 classes, num_classes=4\)"):
        per_class_accuracy(preds[:-1], targets[:-1], num_classes=4)
    with pytest.raises(ValueError, match=r"no example of class 4, 5, 6, 7, 8 and 991 more .*num_classes=1000"):
        per_class_accuracy(preds, targets, num_classes=1000)
    logits = torch.eye(3)[[0, 1, 1]]  # 3 classes from the logits' shape, class 2 never a target
    with pytest.raises(ValueError, match=r"no example of class 2 \(of 3 classes, num_classes=None\)"):
        per_class_accuracy(logits, torch.tensor([0, 1, 1]))


@pytest.mark.parametrize("call, words", [
    (lambda: accuracy(torch.zeros(1, 1), torch.tensor([0, 1, 2, 1])), ["outputs", "(1, 1)", "1 predictions"]),
    (lambda: confusion_matrix(torch.zeros(4, 3, dtype=torch.bool), torch.tensor([0, 1, 2, 1])),
     ["outputs", "torch.bool"]),
    (lambda: to_predictions(torch.zeros(4, 3, device="meta")), ["outputs", "meta"]),
    (lambda: to_predictions(3), ["outputs", "0-d tensor (3"]),
    (lambda: most_confused_pairs(3), ["matrix", "0-d tensor (3"]),
    (lambda: most_confused_pairs(torch.zeros(3, 3, device="meta")), ["matrix", "meta"]),
    (lambda: most_confused_examples(torch.zeros(1, 1), torch.tensor([0, 1])), ["logits and targets", "(1, 1)"]),
    (lambda: most_confused_examples(torch.zeros(4, 3, device="meta"), torch.tensor([0, 1, 2, 1])),
     ["logits", "meta"]),
])
def test_messages_name_the_argument_and_show_the_value(call, words):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_most_confused_examples_sorted_by_confidence():
    logits = torch.tensor([[0.0, 5.0], [0.0, 1.0], [3.0, 0.0], [0.0, 9.0], [2.0, 0.0]])
    targets = torch.tensor([0, 0, 0, 1, 1])
    mistakes = most_confused_examples(logits, targets, k=5)
    assert [m.index for m in mistakes] == [0, 4, 1]
    first = mistakes[0]
    assert isinstance(first, Mistake) and (first.target, first.predicted) == (0, 1)
    assert first.confidence == pytest.approx(float(torch.softmax(logits[0], 0)[1]))
    assert first.confidence + first.target_probability == pytest.approx(1.0)
    assert len(most_confused_examples(logits, targets, k=1)) == 1
    assert most_confused_examples(logits, torch.tensor([1, 1, 0, 1, 0]), k=3) == []


def test_most_confused_pairs():
    cm = torch.tensor([[5, 2, 0], [7, 9, 1], [0, 2, 4]])
    assert most_confused_pairs(cm, k=2) == [(1, 0, 7), (0, 1, 2)]
    assert most_confused_pairs(cm, k=10) == [(1, 0, 7), (0, 1, 2), (2, 1, 2), (1, 2, 1)]
    assert most_confused_pairs(torch.eye(3, dtype=torch.long) * 5) == []


def test_bad_input_messages():
    with pytest.raises(ValueError, match="same examples"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long))
    with pytest.raises(TypeError, match="integer class indices"):
        accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        accuracy(torch.zeros(2, 3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=">= 0"):
        confusion_matrix(torch.tensor([0, -1]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="class index 3 occurs"):
        confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="a target is class|class index"):
        most_confused_examples(torch.zeros(2, 3), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="logits must be"):
        most_confused_examples(torch.zeros(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="square"):
        most_confused_pairs(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), num_classes=0)


def test_evaluation_figures():
    from matplotlib.figure import Figure

    from cnncourse.plots.evaluation import show_confusion_matrix, show_mistakes, show_per_class_accuracy

    logits = torch.tensor([[0.0, 5.0], [0.0, 1.0], [3.0, 0.0], [0.0, 9.0]])
    targets = torch.tensor([0, 0, 0, 1])
    cm = confusion_matrix(logits, targets)
    assert isinstance(show_confusion_matrix(cm, hide_diagonal=True), Figure)
    assert isinstance(show_per_class_accuracy(per_class_accuracy(logits, targets), overall=0.5), Figure)
    mistakes = most_confused_examples(logits, targets)
    assert isinstance(show_mistakes(torch.zeros(4, 28, 28), mistakes), Figure)
    with pytest.raises(ValueError, match="square"):
        show_confusion_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="class_names"):
        show_confusion_matrix(cm, class_names=["a"])
    with pytest.raises(ValueError, match="mistakes must have at least 1 item"):
        show_mistakes(torch.zeros(4, 28, 28), [])
    with pytest.raises(ValueError, match="outside"):
        show_mistakes(torch.zeros(1, 28, 28), mistakes)


def test_most_confused_pairs_takes_a_row_normalised_matrix():
    """Issue 20: a float (rate) matrix gave []; it ranks by rate, like the counts it came from."""
    counts = torch.tensor([[50, 3, 1], [10, 40, 0], [0, 2, 8]])
    rates = counts / counts.sum(1, keepdim=True)
    pairs = most_confused_pairs(rates, k=3)
    assert [(t, p) for t, p, _ in pairs] == [(1, 0), (2, 1), (0, 1)]  # a tie at 0.2: by position
    assert pairs[0][2] == pytest.approx(0.2) and isinstance(pairs[0][2], float)
    assert most_confused_pairs(counts.numpy(), k=1) == [(1, 0, 10)]
