"""Checkers for lessons 3 and 4: the loss, the training loop, dropout, momentum, initialisation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from cnncourse._checks import check_float, check_int
from cnncourse.exercises.feedback import (
    Feedback,
    Rejected,
    call_learner,
    checker,
    correct,
    read_number,
    read_tensor,
    within,
    wrong,
)
from cnncourse.initialization import init_std

__all__ = ["check_cross_entropy", "check_dropout", "check_epoch_loss", "check_test_time_scale",
           "check_momentum_gain", "check_he_std", "check_decay_factor"]


@checker("cross-entropy")
def check_cross_entropy(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None) -> Feedback:
    """Check ``fn(logits, targets)``: the mean categorical cross-entropy of a batch of logits.

    The reference is ``torch.nn.functional.cross_entropy``; large logits are tried too.
    """
    name = "cross-entropy"
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 10, generator=gen, dtype=torch.float64) * 2
    targets = torch.randint(0, 10, (8,), generator=gen)
    got = call_learner(fn, name, logits.clone(), targets.clone(),
                       call="your function (given (N, C) float logits and (N,) int64 classes)",
                       expects="one number: the loss averaged over the batch")
    value = read_number(got, name, what="one number: the loss averaged over the batch")
    expected = F.cross_entropy(logits, targets).item()
    if abs(value - expected) > 1e-6:
        log_p = torch.log_softmax(logits, 1)[torch.arange(8), targets]
        p = torch.softmax(logits, 1)[torch.arange(8), targets]
        raw = logits[torch.arange(8), targets]
        if abs(value + expected) < 1e-6:
            return wrong(name, "the sign is flipped: the loss is minus the log-probability, so it is never negative.")
        if abs(value - (-log_p.sum().item())) < 1e-6:
            return wrong(name, "that is the sum over the batch; nn.CrossEntropyLoss averages over the examples.")
        if abs(value - (-raw.mean().item())) < 1e-6 or abs(value - (-torch.log(raw.abs()).mean().item())) < 1e-6:
            return wrong(name, "the model outputs logits, not probabilities: turn them into log-probabilities "
                               "(softmax, then log) before picking the true class.")
        if abs(value - (1 - p).mean().item()) < 1e-6 or abs(value - (-p.mean().item())) < 1e-6:
            return wrong(name, "take the logarithm of the probability of the true class.")
        return wrong(name, f"your loss is {value:.4f}; compare it with torch.nn.CrossEntropyLoss on the "
                           "same batch, one example at a time.")
    big = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]], dtype=torch.float32)
    big_targets = torch.tensor([0, 2])
    try:
        value = read_number(call_learner(fn, name, big.clone(), big_targets.clone()), name)
    except Rejected:  # an error, NaN or inf on huge logits: the overflow the hint below explains
        value = None
    expected = F.cross_entropy(big.double(), big_targets).item()
    if value is None or not abs(value - expected) <= 1e-3 * max(1.0, abs(expected)):
        return wrong(name, "right on ordinary logits, but logits of about 1000 overflow exp(): compute "
                           "log-softmax as z - max(z) - log(sum(exp(z - max(z)))) (or use torch.logsumexp).")
    return correct(name, "the mean of -log softmax(z)[true class], stable even for huge logits.")


@checker("epoch loss")
def check_epoch_loss(fn: Callable[[Sequence[float], Sequence[int]], float] | None) -> Feedback:
    """Check ``fn(batch_losses, batch_sizes)``: the mean loss per example over an epoch.

    ``batch_losses[i]`` is the mean loss of batch ``i`` and ``batch_sizes[i]`` its number of
    examples; the last batch is usually smaller.
    """
    name = "epoch loss"
    cases = [([0.5, 0.3, 2.0], [64, 64, 8]), ([1.0], [10]), ([0.2, 0.4], [100, 100]), ([0.1, 0.9, 0.0], [3, 1, 6])]
    for losses, sizes in cases:
        call = f"epoch_loss({losses}, {sizes})"
        value = read_number(call_learner(fn, name, list(losses), list(sizes), call=call, expects="one number"),
                            name, what=f"one number from {call}")
        expected = sum(loss * n for loss, n in zip(losses, sizes)) / sum(sizes)
        if abs(value - expected) > 1e-9:
            if abs(value - sum(losses) / len(losses)) < 1e-9:
                return wrong(name, f"with losses {losses} and sizes {sizes} you return the plain mean of the "
                                   "batch losses: a batch of 8 images then counts as much as one of 64.")
            if abs(value - sum(loss * n for loss, n in zip(losses, sizes))) < 1e-9:
                return wrong(name, "that is the total loss over the examples; divide by how many there were.")
            return wrong(name, f"for losses {losses} and sizes {sizes} you return {value:.4g}; each batch's mean "
                               "loss stands for as many examples as the batch holds.")
    return correct(name, "weighting every batch by its size gives the mean over examples.")


@checker("dropout")
def check_dropout(fn: Callable[[torch.Tensor, float, bool], torch.Tensor] | None) -> Feedback:
    """Check ``fn(x, p, training)``: inverted dropout as ``nn.Dropout`` computes it.

    In training, each value is zeroed with probability ``p`` and the kept ones are multiplied
    by ``1 / (1 - p)``; in evaluation, ``x`` is returned unchanged.
    """
    name = "dropout"
    x = torch.full((200_000,), 2.0)
    call = "dropout(x, 0.25, training=False)"
    got = read_tensor(call_learner(fn, name, x.clone(), 0.25, False, call=call, expects="a tensor"), name,
                      call=call, dtype=torch.float32)
    if got.shape != x.shape:
        return wrong(name, f"the output must have the shape of x {tuple(x.shape)}, got {tuple(got.shape)}")
    if not torch.equal(got.float(), x):
        if torch.allclose(got.float(), x * 0.75):
            return wrong(name, "in evaluation mode PyTorch's dropout returns x unchanged: the scaling "
                               "already happened during training.")
        return wrong(name, "in evaluation mode (training=False) dropout must leave x unchanged.")
    torch.manual_seed(0)
    for p in (0.25, 0.5):
        call = f"dropout(x, {p}, training=True)"
        got = read_tensor(call_learner(fn, name, x.clone(), p, True, call=call, expects="a tensor"), name,
                          call=call, dtype=torch.float32)
        if got.shape != x.shape:
            return wrong(name, f"the output must have the shape of x {tuple(x.shape)}, got {tuple(got.shape)}")
        zero_share = float((got == 0).float().mean())
        if abs(zero_share - p) > 0.01:
            if abs(zero_share - (1 - p)) < 0.01 and p != 0.5:
                return wrong(name, f"with p={p} you zero about {zero_share:.0%} of the values: p is the "
                                   "probability of dropping a unit, not of keeping it.")
            return wrong(name, f"with p={p} about {p:.0%} of the values should be zeroed, you zero {zero_share:.1%}.")
        kept = got[got != 0]
        if torch.allclose(kept, torch.full_like(kept, 2.0)):
            return wrong(name, "the kept values are unchanged: scale them so that the expected output "
                               "equals the input.")
        if not torch.allclose(kept, torch.full_like(kept, 2.0 / (1 - p))):
            return wrong(name, f"with p={p} the kept values of an input 2 become {float(kept[0]):.4g}; "
                               "the expected output must equal the input.")
    return correct(name, "zero with probability p, scale the survivors by 1/(1-p), identity in eval mode.")


@checker("test-time scale")
def check_test_time_scale(answer: float | None, p: float = 0.3) -> Feedback:
    """Check the factor the older dropout scheme multiplies activations by at test time, for rate ``p``."""
    name = "test-time scale"
    p = check_float(p, "p", minimum=0, maximum=1, exclusive_maximum=True)
    value = read_number(answer, name)
    if abs(value - (1 - p)) < 1e-9:
        return correct(name, "at test time every unit is present, so each is weighted by its keep probability.")
    if abs(value - p) < 1e-9:
        return wrong(name, "that is the drop probability; a unit is present in training with the other probability.")
    if p < 1 and abs(value - 1 / (1 - p)) < 1e-9:
        return wrong(name, "that is the training-time factor of PyTorch's inverted dropout; the older scheme "
                           "leaves training alone and scales down at test time.")
    if abs(value - 1.0) < 1e-9:
        return wrong(name, "without any scaling the test-time activations would be larger than the "
                           "average activation seen in training.")
    return wrong(name, "think of the expected value of a unit that is present with some probability during training.")


@checker("momentum gain")
def check_momentum_gain(answer: float | None, momentum: float = 0.9) -> Feedback:
    """Check how many times the plain SGD step a momentum step settles at, for a constant gradient.

    With velocity ``v <- momentum * v + g`` and step ``-lr * v`` (``torch.optim.SGD``), a constant
    gradient makes the velocity a geometric series whose limit is ``g / (1 - momentum)``: the
    answer is ``1 / (1 - momentum)``, accepted within 1 %.

    Raises
    ------
    TypeError, ValueError
        For a ``momentum`` that is not a number in [0, 1) (never for the learner's answer).
    """
    name = "momentum gain"
    momentum = check_float(momentum, "momentum", minimum=0, maximum=1, exclusive_maximum=True)
    value = read_number(answer, name, what="a number (how many times the plain step)")
    expected = 1 / (1 - momentum)
    if within(value, 0.99 * expected, 1.01 * expected):
        return correct(name, "the velocity sums a geometric series of past gradients, so steady slopes get "
                             "long steps while gradients that change sign cancel.")
    if momentum > 0 and within(value, 0.99 * momentum, 1.01 * momentum):
        return wrong(name, "that is the weight of the previous velocity. Write out the velocity after 1, 2, 3 "
                           "steps of the same gradient: what does the sum approach?")
    if within(value, 0.99 * (1 + momentum), 1.01 * (1 + momentum)):
        return wrong(name, "that is the velocity after two steps; keep going, the series does not stop there.")
    if within(value, 1, 1):
        return wrong(name, "with momentum the velocity keeps a share of every earlier gradient, so the step grows "
                           "beyond the plain one.")
    return wrong(name, "write the velocity after 1, 2, 3 steps of the same gradient g: g, (1 + m) g, ... "
                       "and sum the geometric series.")


@checker("He initialisation")
def check_he_std(answer: float | None, fan_in: int = 400) -> Feedback:
    """Check the standard deviation He initialisation gives the weights of a layer with ``fan_in`` inputs.

    The reference is :func:`cnncourse.initialization.init_std` (``sqrt(2 / fan_in)``, He et al.
    2015), accepted within 2 %. PyTorch's default and Xavier's rule get hints of their own.

    Raises
    ------
    TypeError, ValueError
        For a ``fan_in`` that is not a positive integer (never for the learner's answer).
    """
    name = "He initialisation"
    fan_in = check_int(fan_in, "fan_in", minimum=1)
    value = read_number(answer, name, what="a number (a standard deviation)")
    expected = init_std("he", fan_in)
    if within(value, 0.98 * expected, 1.02 * expected):
        return correct(name, "twice the variance that keeps a linear layer's output spread, to make up for the "
                             "half of the inputs a ReLU sets to zero.")
    if within(value, 0.98 * expected ** 2, 1.02 * expected ** 2):
        return wrong(name, "that is the variance; the question asks for the standard deviation.")
    if within(value, 0.98 / fan_in ** 0.5, 1.02 / fan_in ** 0.5):
        return wrong(name, "that keeps the spread of a linear layer. A ReLU zeroes half of its inputs: how much "
                           "more variance do the weights need?")
    default = init_std("default", fan_in)
    if within(value, 0.98 * default, 1.02 * default):
        return wrong(name, "that is PyTorch's default; He's rule is made for ReLU networks.")
    return wrong(name, "the variance of a sum of fan_in products is fan_in times the variance of one; choose "
                       "the weights' variance so that, after a ReLU halves it, the spread stays the same.")


@checker("weight decay")
def check_decay_factor(answer: float | None, lr: float = 0.1, weight_decay: float = 0.01) -> Feedback:
    """Check the factor one SGD step with ``weight_decay`` multiplies a weight by when the loss
    gives it no gradient: ``1 - lr * weight_decay`` (``torch.optim.SGD`` adds
    ``weight_decay * w`` to the gradient), accepted to 1e-6 relative (float32 arithmetic).

    Raises
    ------
    TypeError, ValueError
        For an ``lr`` or ``weight_decay`` that is not a positive number with a product below 1
        (never for the learner's answer).
    """
    name = "weight decay"
    lr = check_float(lr, "lr", minimum=0, exclusive_minimum=True)
    weight_decay = check_float(weight_decay, "weight_decay", minimum=0, exclusive_minimum=True)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be below 1 for a decay, got lr={lr}, weight_decay={weight_decay}")
    value = read_number(answer, name, what="a number (a factor)")
    expected = 1 - lr * weight_decay

    def near(x: float) -> bool:
        return within(value, x - 1e-6 * abs(x), x + 1e-6 * abs(x))

    if near(expected):
        return correct(name, "each step shrinks every weight by the same small fraction, so a weight the loss does "
                             "not keep pushing up decays towards zero geometrically.")
    if near(lr * weight_decay):
        return wrong(name, "that is the fraction taken away; the question asks what the weight is multiplied by.")
    if near(1 - weight_decay):
        return wrong(name, "the decay term is part of the gradient, so the learning rate scales it too.")
    if near(1 + lr * weight_decay):
        return wrong(name, "check the sign: the step goes against the gradient, and the decay term points "
                           "along the weight.")
    return wrong(name, "write the step w <- w - lr * (gradient + weight_decay * w) with a zero gradient, and "
                       "factor out w.")
