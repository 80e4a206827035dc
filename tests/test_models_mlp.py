import pytest
import torch
from torch import nn

from cnncourse.models import MLP, SkipMLP, count_parameters, mlp_parameter_count
from cnncourse.models import mlp as mlp_module


def test_mnist_mlp_parameter_count_by_model_and_formula():
    model = MLP((784, 400, 400, 10))
    assert count_parameters(model) == mlp_parameter_count((784, 400, 400, 10)) == 478_410
    manual = sum(a * b + b for a, b in ((784, 400), (400, 400), (400, 10)))
    assert manual == 478_410


def test_mlp_layers_and_output_shape():
    model = MLP((784, 32, 16, 10), dropout=0.25)
    kinds = [type(m).__name__ for m in model.net]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert model(torch.zeros(5, 784)).shape == (5, 10)
    assert all(type(m).__name__ != "Dropout" for m in MLP((784, 8, 10), dropout=0.0).net)


def test_mlp_eval_is_deterministic_train_is_not():
    torch.manual_seed(0)
    model = MLP((784, 64, 10), dropout=0.5)
    x = torch.randn(8, 784)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match="at least an input and an output"):
        MLP((784,))
    with pytest.raises(ValueError, match="positive ints"):
        MLP((784, 0, 10))
    with pytest.raises(ValueError, match="dropout"):
        MLP(dropout=1.0)
    with pytest.raises(ValueError, match="784 values each"):
        MLP()(torch.zeros(2, 1, 14, 14))
    with pytest.raises(TypeError, match="nn.Module"):
        count_parameters("model")


def test_skip_mlp_forward_is_the_written_formula():
    torch.manual_seed(0)
    model = SkipMLP(784, 16, 10).eval()
    x = torch.randn(3, 1, 28, 28)
    flat = x.flatten(1)
    h1 = torch.relu(model.fc1(flat))
    h2 = torch.relu(model.fc2(h1)) + h1
    assert torch.allclose(model(x), model.out(h2))
    # the skip connection adds no parameters
    assert count_parameters(model) == mlp_parameter_count((784, 16, 16, 10))


def test_skip_mlp_bad_input():
    with pytest.raises(ValueError, match="784 values"):
        SkipMLP()(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="positive ints"):
        SkipMLP(hidden=0)
    with pytest.raises(ValueError, match="dropout"):
        SkipMLP(dropout=-0.1)


def test_public_names():
    assert {"MLP", "mlp_parameter_count", "count_parameters", "SkipMLP"} <= set(mlp_module.__all__)
    assert isinstance(SkipMLP(), nn.Module)
