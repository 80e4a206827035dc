import pytest
import torch

from cnncourse.activations import ACTIVATIONS, activation, derivative, evaluate_with_derivative


def test_names_resolve_to_torch_functions():
    z = torch.linspace(-3, 3, 13)
    for name, ref in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)):
        assert torch.equal(activation(name)(z), ref(z))
    assert activation(" ReLU ") is ACTIVATIONS["relu"]


def test_derivatives_match_closed_forms():
    z = torch.linspace(-6, 6, 241, dtype=torch.float64)
    s = torch.sigmoid(z)
    assert torch.allclose(derivative("sigmoid", z), s * (1 - s))
    assert torch.allclose(derivative("tanh", z), 1 - torch.tanh(z) ** 2)
    assert torch.equal(derivative("relu", z), (z > 0).double())


def test_known_extremes():
    z = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    ds = derivative("sigmoid", z)
    assert float(ds.max()) == pytest.approx(0.25) and float(z[ds.argmax()]) == pytest.approx(0.0, abs=1e-12)
    assert float(derivative("tanh", z).max()) == pytest.approx(1.0)
    assert float(derivative("relu", 0.0)) == 0.0  # PyTorch's convention at the kink


def test_values_and_shape_preserved():
    x = torch.randn(3, 4)
    values, slopes = evaluate_with_derivative("tanh", x)
    assert values.shape == slopes.shape == (3, 4)
    assert not values.requires_grad and not slopes.requires_grad
    assert not x.requires_grad  # the input is not modified


def test_accepts_lists_ints_and_callables():
    assert derivative(lambda t: t ** 2, [1, 2, 3]).tolist() == [2.0, 4.0, 6.0]
    assert derivative(lambda t: torch.zeros_like(t) + 1.0, [1.0, 2.0]).tolist() == [0.0, 0.0]
    assert derivative("relu", torch.tensor([1, -1])).tolist() == [1.0, 0.0]


def test_bad_input():
    with pytest.raises(ValueError, match="name must be one of"):
        activation("softplus")
    with pytest.raises(TypeError, match="name must be a string"):
        activation(3)
    with pytest.raises(TypeError, match="fn must be"):
        derivative(42, [0.0])
    with pytest.raises(TypeError, match="x must"):
        derivative("relu", "abc")
    with pytest.raises(ValueError, match="element by element"):
        derivative(lambda t: t.sum(), [1.0, 2.0])


def test_plot_activations():
    from matplotlib.figure import Figure

    from cnncourse.plots.activations import show_activations

    fig = show_activations(("sigmoid", "relu"), points=11)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2 + 2  # two curves plus the two axis lines
    with pytest.raises(ValueError, match="low must be smaller"):
        show_activations(low=1, high=0)
    with pytest.raises(ValueError, match="names must have at least 1 item"):
        show_activations(())
    with pytest.raises(ValueError, match=r"names\[0\] must be one of"):
        show_activations(("swish",))
    with pytest.raises(TypeError, match=r"names\[1\] must be a string"):
        show_activations(("relu", None))
    with pytest.raises(ValueError, match="high must be number in"):
        show_activations(high=1.7e308)
    assert show_activations(("ReLU ",), points=3).axes[0].lines[0].get_label() == "ReLU "
