import pytest
import torch
import torch.nn.functional as F

from cnncourse.exercises.training import check_cross_entropy, check_dropout, check_epoch_loss, check_test_time_scale


def _hint(feedback):
    assert feedback.passed is False and feedback.message
    return feedback.message


def test_placeholders_are_unanswered():
    for checker in (check_cross_entropy, check_dropout, check_epoch_loss, check_test_time_scale):
        assert checker(None).passed is None
        assert checker(...).passed is None


def test_cross_entropy():
    def right(logits, targets):
        return -torch.log_softmax(logits, dim=1)[torch.arange(len(targets)), targets].mean()

    def naive(logits, targets):
        p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
        return -torch.log(p[torch.arange(len(targets)), targets]).mean()

    assert check_cross_entropy(right)
    assert check_cross_entropy(F.cross_entropy)
    assert "overflow" in _hint(check_cross_entropy(naive))
    assert "sign" in _hint(check_cross_entropy(lambda z, t: -right(z, t)))
    assert "sum" in _hint(check_cross_entropy(lambda z, t: right(z, t) * len(t)))
    assert "logits, not probabilities" in _hint(
        check_cross_entropy(lambda z, t: -z[torch.arange(len(t)), t].mean()))
    assert "one number" in _hint(check_cross_entropy(lambda z, t: z))
    assert "raised" in _hint(check_cross_entropy(lambda z, t: 1 / 0))


def test_epoch_loss():
    def weighted(losses, sizes):
        return sum(l * n for l, n in zip(losses, sizes)) / sum(sizes)

    assert check_epoch_loss(weighted)
    assert "plain mean" in _hint(check_epoch_loss(lambda losses, sizes: sum(losses) / len(losses)))
    assert "total loss" in _hint(check_epoch_loss(lambda losses, sizes: sum(l * n for l, n in zip(losses, sizes))))
    assert "raised" in _hint(check_epoch_loss(lambda losses, sizes: losses / sizes))


def test_dropout():
    def inverted(x, p, training):
        if not training:
            return x
        return x * (torch.rand_like(x) >= p) / (1 - p)

    def no_scaling(x, p, training):
        return x * (torch.rand_like(x) >= p) if training else x

    def old_scheme(x, p, training):
        return x * (torch.rand_like(x) >= p) if training else x * (1 - p)

    def keeps_p(x, p, training):
        return x * (torch.rand_like(x) < p) / p if training else x

    assert check_dropout(inverted)
    assert check_dropout(lambda x, p, training: F.dropout(x, p, training))
    assert "unchanged" in _hint(check_dropout(no_scaling))
    assert "evaluation mode" in _hint(check_dropout(old_scheme))
    assert "probability of dropping" in _hint(check_dropout(keeps_p))
    assert "expected output" in _hint(check_dropout(lambda x, p, t: x * (torch.rand_like(x) >= p) * (1 - p) if t else x))
    assert "shape" in _hint(check_dropout(lambda x, p, t: x[:10]))


def test_test_time_scale():
    assert check_test_time_scale(0.7)
    assert check_test_time_scale(0.5, p=0.5)
    assert "drop probability" in _hint(check_test_time_scale(0.3))
    assert "inverted" in _hint(check_test_time_scale(1 / 0.7))
    assert "larger" in _hint(check_test_time_scale(1))
    assert "one number" in _hint(check_test_time_scale("x"))


def test_momentum_gain():
    from cnncourse.exercises.training import check_momentum_gain

    assert check_momentum_gain(10) and check_momentum_gain(9.95) and check_momentum_gain(2, momentum=0.5)
    assert "weight of the previous velocity" in check_momentum_gain(0.9).message
    assert "two steps" in check_momentum_gain(1.9).message
    assert "grows beyond" in check_momentum_gain(1).message
    assert not check_momentum_gain(5)
    # the checker's reference is what SGD with momentum does: a constant gradient's step settles there
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1.0, momentum=0.9)
    for _ in range(300):
        opt.zero_grad()
        w.sum().backward()  # gradient 1, constant
        before = w.detach().clone()
        opt.step()
    assert check_momentum_gain(float(before - w.detach()))


def test_he_std():
    from cnncourse.exercises.training import check_he_std

    assert check_he_std((2 / 400) ** 0.5) and check_he_std(0.0707)
    assert "variance" in check_he_std(2 / 400).message
    assert "linear layer" in check_he_std(0.05).message
    assert "default" in check_he_std(1 / (3 * 400) ** 0.5).message
    assert check_he_std((2 / 100) ** 0.5, fan_in=100) and not check_he_std(0.3)


def test_decay_factor_is_what_sgd_does():
    from cnncourse.exercises.training import check_decay_factor

    w = torch.ones(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, weight_decay=0.01)
    w.grad = torch.zeros(3)  # the loss gives no gradient: only the decay acts
    opt.step()
    assert check_decay_factor(float(w.detach()[0]), lr=0.1, weight_decay=0.01)
    assert check_decay_factor(0.999) and check_decay_factor(0.95, lr=0.5, weight_decay=0.1)
    assert "fraction taken away" in check_decay_factor(0.001).message
    assert "learning rate scales it" in check_decay_factor(0.99).message
    assert "sign" in check_decay_factor(1.001).message
    assert not check_decay_factor(0.5)
    with pytest.raises(ValueError, match="below 1"):
        check_decay_factor(0.5, lr=10, weight_decay=0.5)
