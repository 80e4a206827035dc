"""CNN building blocks: shapes, parameter counts by formula, the residual block, summaries and
the errors for inputs that are too small."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnncourse.models import (
    ConvNet,
    GapCNN,
    LayerRow,
    ResidualBlock,
    ResidualCNN,
    conv_block,
    conv_multiply_adds,
    conv_parameter_count,
    count_parameters,
    fast_convnet,
    feature_maps,
    min_input_size,
    summarize,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# --------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("c_in, c_out, k", [(1, 24, 5), (24, 32, 3), (3, 64, 7), (16, 16, 1)])
def test_conv_parameter_count_is_the_formula_and_pytorchs(c_in, c_out, k):
    conv = nn.Conv2d(c_in, c_out, k)
    assert conv_parameter_count(c_in, c_out, k) == (k * k * c_in + 1) * c_out == count_parameters(conv)
    assert conv_parameter_count(c_in, c_out, k, bias=False) == k * k * c_in * c_out


# --------------------------------------------------------------------------- blocks
@pytest.mark.parametrize("size, k, p, pool, expected", [(28, 5, 0, 2, 12), (28, 3, 1, 2, 14), (13, 3, 1, 2, 6),
                                                        (28, 3, 0, 1, 26), (64, 5, 2, 4, 16)])
def test_conv_block_shapes(size, k, p, pool, expected):
    block = conv_block(3, 8, k, p, pool)
    assert [type(m) for m in block] == [nn.Conv2d, nn.MaxPool2d if pool > 1 else nn.Identity, nn.ReLU]
    assert block(torch.randn(2, 3, size, size)).shape == (2, 8, expected, expected)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_conv_block_computes_the_classic_conv_relu_pool(batch_norm):
    """Pooling before the ReLU gives the classic order's outputs and gradients, bit for bit."""
    torch.manual_seed(0)
    block = conv_block(3, 4, 3, batch_norm=batch_norm)
    pre = block.bn if batch_norm else nn.Identity()
    x = torch.randn(2, 3, 11, 11, requires_grad=True)
    out = block(x)
    assert [name for name, _ in block.named_children()][-2:] == ["pool", "relu"]
    out.square().sum().backward()
    got = x.grad.clone()
    x.grad = None
    classic = nn.functional.max_pool2d(torch.relu(pre(block.conv(x))), 2)
    assert torch.equal(out, classic)
    classic.square().sum().backward()
    assert torch.equal(got, x.grad)


def test_conv_block_checks_arguments():
    with pytest.raises(ValueError, match="out_channels"):
        conv_block(1, 0)
    with pytest.raises(ValueError, match="padding"):
        conv_block(1, 4, 3, padding=-1)


@pytest.mark.parametrize("kwargs, size", [({}, 28), ({"channels": (8,), "kernel_sizes": 3}, 28),
                                          ({"channels": (8, 16, 32), "kernel_sizes": 3, "paddings": 1}, 28),
                                          ({"channels": (4, 8), "image_size": 12}, 12),
                                          ({"hidden": 0}, 28), ({"in_channels": 3, "image_size": 32}, 32)])
def test_convnet_outputs_logits(kwargs, size):
    model = ConvNet(**kwargs, n_classes=7)
    x = torch.randn(3, kwargs.get("in_channels", 1), size, size)
    assert model(x).shape == (3, 7)


def test_convnet_defaults_have_the_mnist_cnn_size():
    model = ConvNet()
    assert model.flat_features == 32 * 5 * 5
    assert count_parameters(model) == (
        conv_parameter_count(1, 24, 5) + conv_parameter_count(24, 32, 3) + 800 * 256 + 256 + 256 * 10 + 10)


def test_convnet_batch_norm_option():
    model = ConvNet(batch_norm=True)
    assert [type(m).__name__ for m in model.features.block1] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"]
    assert model.features.block1.conv.bias is None
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(TypeError, match="batch_norm"):
        ConvNet(batch_norm=1)


def test_convnet_parameters_by_formula():
    model = ConvNet(channels=(8, 16, 32), kernel_sizes=(5, 3, 3), paddings=(2, 1, 1), hidden=64)
    flat = 32 * 3 * 3  # 28 -> 14 -> 7 -> 3
    expected = (conv_parameter_count(1, 8, 5) + conv_parameter_count(8, 16, 3) + conv_parameter_count(16, 32, 3)
                + flat * 64 + 64 + 64 * 10 + 10)
    assert model.flat_features == flat and count_parameters(model) == expected


def test_convnet_defaults_are_the_former_mnist_cnn():
    """Lessons 9 and 10 once used a separate ``MnistCNN`` (plain Sequential layers): with the same
    seed, ``ConvNet()`` draws exactly its weights and computes exactly its outputs."""
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
                              nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
                              nn.Flatten(), nn.Linear(800, 256), nn.ReLU(), nn.Dropout(0.0),
                              nn.Linear(256, 10))
    torch.manual_seed(0)
    model = ConvNet()
    ours, theirs = list(model.parameters()), list(reference.parameters())
    assert len(ours) == len(theirs) == 8
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(model(x), reference(x))
    assert ConvNet(channels=(8, 16), hidden=32, dropout=0.2)(torch.randn(1, 1, 28, 28)).shape == (1, 10)


# --------------------------------------------------------------------------- too small inputs
def test_min_input_size():
    assert min_input_size(ConvNet().features) == (12, 12)  # 12 -> 8 -> 4 -> 2 -> 1
    assert min_input_size(conv_block(1, 4, 3, padding=1)) == (2, 2)
    assert min_input_size(nn.Linear(3, 3)) == (1, 1)
    assert min_input_size(nn.Sequential(nn.Conv2d(1, 1, (3, 5)), nn.MaxPool2d((1, 2)))) == (3, 6)


@pytest.mark.parametrize("model, side", [
    (nn.Sequential(nn.Conv2d(1, 4, 3, padding="same", dilation=2)), 1),
    (nn.Sequential(*[nn.Conv2d(1, 1, 4, padding="same") for _ in range(4)]), 1),
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(1, 1, 3),
                   nn.MaxPool2d(2, ceil_mode=True)), 7),
], ids=["same-dilated", "same-even", "ceil-mode"])
def test_min_input_size_follows_pytorch(model, side):
    """The cases the testers found (issue 20): PyTorch runs each model on side x side."""
    assert min_input_size(model) == (side, side)
    assert model(torch.zeros(1, 1, side, side)).shape[-1] >= 1
    summarize(model, (1, side, side))
    if side > 1:
        with pytest.raises(ValueError, match="too small"):
            summarize(model, (1, side - 1, side - 1))


def test_integers_of_other_types_are_accepted():
    import numpy as np
    assert conv_parameter_count(np.int64(1), torch.tensor(4), np.int32(3)) == 40
    assert ConvNet(channels=(np.int64(4),), kernel_sizes=np.int64(3), image_size=np.int64(28), hidden=0).image_size == 28
    with pytest.raises(TypeError, match="kernel_size"):
        conv_parameter_count(1, 4, 3.0)


@pytest.mark.parametrize("x, fragment", [
    (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "uint8"),
    (torch.zeros(2, 1, 28, 28, dtype=torch.float64), "float64"),
    ([[0.0]], "torch.Tensor"),
])
def test_models_refuse_raw_pixels_and_other_dtypes(x, fragment):
    for model in (ConvNet(), ResidualCNN()):
        with pytest.raises(TypeError, match=fragment):
            model(x)
    assert ConvNet().features(torch.zeros(1, 1, 12, 12)).shape == (1, 32, 1, 1)
    with pytest.raises(RuntimeError):
        ConvNet().features(torch.zeros(1, 1, 11, 11))  # PyTorch's own, less helpful, error


@pytest.mark.parametrize("cls, kwargs, smallest", [(ConvNet, {}, 12), (ConvNet, {"channels": (4, 4, 4), "kernel_sizes": 3}, 22),
                                                   (ResidualCNN, {}, 12)])
def test_too_small_image_size_names_the_smallest(cls, kwargs, smallest):
    with pytest.raises(ValueError, match=f"smallest input size accepted is {smallest}x{smallest}"):
        cls(**kwargs, image_size=smallest - 1)
    cls(**kwargs, image_size=smallest)  # the smallest one works


def test_forward_with_too_small_images_names_the_smallest():
    with pytest.raises(ValueError, match="smallest input size accepted is 12x12"):
        ConvNet()(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="built for 28x28"):
        ConvNet()(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ConvNet()(torch.zeros(1, 28, 28))
    with pytest.raises(ValueError, match="smallest input size accepted is 12x12"):
        ResidualCNN()(torch.zeros(2, 1, 10, 10))


def test_convnet_checks_arguments():
    with pytest.raises(ValueError, match="kernel_sizes"):
        ConvNet(channels=(8, 16), kernel_sizes=(3, 3, 3))
    with pytest.raises(ValueError, match="channels"):
        ConvNet(channels=())
    with pytest.raises(ValueError, match="dropout"):
        ConvNet(dropout=1.5)


# --------------------------------------------------------------------------- residual block
@pytest.mark.parametrize("channels, size, k", [(1, 5, 3), (8, 12, 3), (16, 7, 5), (4, 1, 3)])
def test_residual_block_keeps_the_shape(channels, size, k):
    block = ResidualBlock(channels, k)
    x = torch.randn(2, channels, size, size)
    assert block(x).shape == x.shape == block.residual(x).shape
    assert count_parameters(block) == 2 * conv_parameter_count(channels, channels, k)


def test_residual_block_forward_adds_the_skip():
    block = ResidualBlock(6)
    x = torch.randn(3, 6, 9, 9)
    assert torch.allclose(block(x), torch.relu(x + block.residual(x)))
    assert not torch.allclose(block(x), torch.relu(block.residual(x)))  # the skip changes the output
    with torch.no_grad():  # with F(x) = 0 the block passes its (rectified) input through
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
    assert torch.equal(block(x), torch.relu(x))


def test_residual_block_checks_its_input():
    with pytest.raises(ValueError, match="odd"):
        ResidualBlock(4, kernel_size=2)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        ResidualBlock(4)(torch.randn(1, 3, 8, 8))


def test_residual_cnn_runs_and_skip_gets_gradient():
    model = ResidualCNN()
    out = model(torch.randn(4, 1, 28, 28))
    assert out.shape == (4, 10)
    out.sum().backward()
    assert model.res.conv1.weight.grad is not None and model.stem.conv.weight.grad.abs().sum() > 0


# --------------------------------------------------------------------------- summary and feature maps
def test_summary_rows_of_convnet():
    model = ConvNet()
    summary = summarize(model, (1, 28, 28))
    assert [r.name for r in summary.rows][:3] == ["features.block1.conv", "features.block1.pool", "features.block1.relu"]
    shapes = {r.name: r.output_shape for r in summary.rows}
    assert shapes["features.block1.conv"] == (24, 24, 24)
    assert shapes["features.block1.pool"] == (24, 12, 12)
    assert shapes["features.block2.pool"] == (32, 5, 5)
    assert shapes["classifier.flatten"] == (800,)
    assert shapes["classifier.fc2"] == (10,)
    assert summary.rows[0] == LayerRow("features.block1.conv", "Conv2d", (24, 24, 24), conv_parameter_count(1, 24, 5))
    assert summary.total_parameters == count_parameters(model)
    text = summary.table()
    assert "features.block2.conv" in text and "6,944" in text and f"{count_parameters(model):,}" in text
    assert str(summary) == text


def test_summary_of_a_residual_model_counts_each_parameter_once():
    model = ResidualCNN()
    summary = summarize(model, (1, 28, 28))
    names = [r.name for r in summary.rows]
    assert names.index("res.conv2") < names.index("res") < names.index("block2.conv")
    row = summary.rows[names.index("res")]
    assert row.parameters == 0 and "x + F(x)" in row.kind and row.output_shape == (16, 12, 12)
    assert summary.total_parameters == count_parameters(model)


def test_summary_accepts_any_size_for_a_feature_stack_and_a_batch_shape():
    features = ConvNet().features
    assert summarize(features, (1, 64, 64)).rows[-1].output_shape == (32, 14, 14)
    assert summarize(features, (5, 1, 12, 12)).rows[-1].output_shape == (32, 1, 1)


def test_summary_too_small_input_names_the_smallest():
    with pytest.raises(ValueError, match="at least 12x12"):
        summarize(ConvNet().features, (1, 11, 11))
    with pytest.raises(ValueError, match="input_shape"):
        summarize(ConvNet(), (1, 0, 28))
    with pytest.raises(TypeError):
        summarize("not a model", (1, 28, 28))


def test_summary_restores_training_mode():
    model = ConvNet(dropout=0.5)
    model.train()
    summarize(model, (1, 28, 28))
    assert model.training


def test_feature_maps():
    model = ConvNet()
    x = torch.randn(2, 1, 28, 28)
    maps = feature_maps(model, x, ["features.block1.relu", "features.block2.conv", "features.block2.relu"])
    assert list(maps) == ["features.block1.relu", "features.block2.conv", "features.block2.relu"]
    assert maps["features.block1.relu"].shape == (2, 24, 12, 12) and (maps["features.block1.relu"] >= 0).all()
    assert maps["features.block2.conv"].shape == (2, 32, 10, 10) and (maps["features.block2.conv"] < 0).any()
    assert torch.equal(maps["features.block2.relu"], model.features(x))
    with pytest.raises(ValueError, match="not in the model"):
        feature_maps(model, x, ["block9"])


# --------------------------------------------------------------------------- BatchNorm, GAP
def test_conv_block_with_batch_norm():
    block = conv_block(3, 8, 3, padding=1, batch_norm=True)
    assert [name for name, _ in block.named_children()] == ["conv", "bn", "pool", "relu"]
    assert block.conv.bias is None
    # (k*k*c_in) weights per filter, no bias, plus BatchNorm's scale and shift per channel
    assert count_parameters(block) == 3 * 3 * 3 * 8 + 2 * 8
    block.train()
    x = torch.randn(16, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    z = block.bn(block.conv(x))
    # in training mode each channel is normalized over batch and positions
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(8), atol=1e-5)
    assert torch.allclose(z.var(dim=(0, 2, 3), unbiased=False), torch.ones(8), atol=1e-3)
    with pytest.raises(TypeError, match="batch_norm"):
        conv_block(1, 2, batch_norm=1)


def test_gap_cnn_head_and_sizes():
    from cnncourse.models import GapCNN

    torch.manual_seed(0)
    model = GapCNN(channels=(8, 16), batch_norm=True).eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert model(torch.randn(2, 1, 40, 33)).shape == (2, 10)     # any size: no weights per position
    x = torch.randn(2, 1, 28, 28)
    maps = model.features(x)
    assert torch.allclose(model(x), model.classifier.fc(maps.mean(dim=(2, 3))), atol=1e-6)
    assert count_parameters(model.classifier) == 16 * 10 + 10
    with pytest.raises(ValueError, match="smallest input"):
        model(torch.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        model(torch.randn(1, 3, 28, 28))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in GapCNN(batch_norm=False).modules())


# --------------------------------------------------------------------------- lesson 10's network
def test_space_to_depth_stem_is_pytorchs_pixel_unshuffle_and_loses_nothing():
    model = ConvNet(space_to_depth=2, kernel_sizes=3, pool=(1, 2))
    x = torch.randn(3, 1, 28, 28)
    folded = model.stem(x)
    assert folded.shape == (3, 4, 14, 14)
    # channel 2 * dy + dx holds the pixels at (2 * row + dy, 2 * col + dx)
    for dy in range(2):
        for dx in range(2):
            assert torch.equal(folded[:, 2 * dy + dx], x[:, 0, dy::2, dx::2])
    assert torch.equal(nn.PixelShuffle(2)(folded), x)  # a rearrangement: undone exactly


def test_convnet_without_a_stem_keeps_its_layer_names():
    names = [name for name, _ in ConvNet().named_children()]
    assert names == ["features", "classifier"] and ConvNet().stem is None


def _field(first_layers: nn.Module, row: int, col: int) -> tuple[list[int], list[int]]:
    """Rows and columns of the pixels that reach output position (row, col) of channel 0."""
    x = torch.randn(1, 1, 28, 28, requires_grad=True)
    first_layers(x)[0, 0, row, col].backward()
    hit = x.grad[0, 0].abs().sum(1).nonzero().flatten().tolist(), \
        x.grad[0, 0].abs().sum(0).nonzero().flatten().tolist()
    return hit


def test_fast_stem_sees_the_window_of_the_block_it_replaces():
    torch.manual_seed(0)
    fast, classic = fast_convnet(), ConvNet()
    stem = nn.Sequential(fast.stem, fast.features.block1.conv)
    block = nn.Sequential(classic.features.block1.conv, classic.features.block1.pool)
    assert stem(torch.zeros(1, 1, 28, 28)).shape[-2:] == block(torch.zeros(1, 1, 28, 28)).shape[-2:]
    for row, col in [(0, 0), (5, 7), (11, 11)]:
        rows, cols = _field(stem, row, col)
        assert rows == list(range(2 * row, 2 * row + 6)) and cols == list(range(2 * col, 2 * col + 6))
        # the classic block: a 6x6 window too (pooling picks one of four 5x5 windows per
        # example, so the union over a few random inputs is the full window)
        union_rows, union_cols = set(), set()
        for _ in range(8):
            r, c = _field(block, row, col)
            union_rows.update(r)
            union_cols.update(c)
        assert sorted(union_rows) == rows and sorted(union_cols) == cols


def test_fast_convnet_shapes_and_arguments():
    model = fast_convnet()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)] == [32, 48]
    assert model.features.block1.conv.in_channels == 4 and model.flat_features == 48 * 5 * 5
    assert isinstance(model.features.block1.pool, nn.Identity)
    assert model.smallest_input == 12
    with pytest.raises(ValueError, match="not a multiple of space_to_depth 2"):
        ConvNet(space_to_depth=2, image_size=27)
    with pytest.raises(ValueError, match="space_to_depth"):
        ConvNet(space_to_depth=0)
    with pytest.raises(ValueError, match="pool must be one int or one per block"):
        ConvNet(pool=(1, 2, 2))
    with pytest.raises(ValueError, match="smallest input size accepted is 16x16"):
        ConvNet(space_to_depth=2, pool=(1, 2), image_size=8)
    with pytest.raises(ValueError, match="28x28"):
        model(torch.randn(2, 1, 24, 24))


@pytest.mark.parametrize("model, shape", [
    (lambda: ConvNet(), (1, 28, 28)),
    (lambda: fast_convnet(), (1, 28, 28)),
    (lambda: nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(),
                           nn.Conv2d(8, 8, (1, 3), dilation=2)), (4, 11, 13)),
])
def test_conv_multiply_adds_are_half_of_pytorchs_forward_flops(model, shape):
    from torch.utils.flop_counter import FlopCounterMode

    model = model()
    counts = conv_multiply_adds(model, shape)
    assert counts and all(isinstance(v, int) for v in counts.values())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *shape))
    conv_flops = counter.get_flop_counts()["Global"][torch.ops.aten.convolution]
    assert 2 * sum(counts.values()) == conv_flops
    if isinstance(model, ConvNet) and model.stem is None:
        assert counts == {"features.block1.conv": 24 * 24 * 24 * 5 * 5,
                          "features.block2.conv": 10 * 10 * 32 * 24 * 3 * 3}


def test_an_input_the_model_refuses_is_named():
    """``run_model``'s rule (issue 37): what a model's layers refuse in an input the caller
    passed comes back as a ValueError naming that input and its shape, not torch's
    RuntimeError. Seen failing with torch's error let through (mutant
    `run-model-lets-torch-errors-through`)."""
    from cnncourse.models.cnn import feature_maps

    with pytest.raises(ValueError, match=r"Sequential cannot take x of shape \(1, 1, 2, 2\)"):
        feature_maps(nn.Sequential(nn.Conv2d(1, 1, 3)), torch.zeros(1, 1, 2, 2), ["0"])


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("make, words", [
    (lambda: ConvNet(paddings=1000), ["paddings", "padding 1000", "5x5", "block 1"]),
    (lambda: ConvNet(kernel_sizes=3, paddings=(0, 3)), ["paddings", "padding 3", "3x3", "block 2"]),
    (lambda: GapCNN(kernel_sizes=1, paddings=1), ["paddings", "padding 1", "1x1"]),
])
def test_a_padding_beyond_the_kernel_is_refused_before_any_weight_is_made(make, words):
    """More than k - 1 pixels of padding only add windows that see zeros (and, for paddings=1000,
    a fully connected layer of billions of weights): refused by name."""
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_paddings_up_to_the_kernel_minus_one_are_kept():
    assert ConvNet(kernel_sizes=(5, 3), paddings=(4, 2)).flat_features > ConvNet().flat_features


def test_feature_maps_of_a_model_without_layers_says_so():
    with pytest.raises(ValueError, match=r"not in the model \(Identity\); its layers are: none"):
        feature_maps(nn.Identity(), torch.zeros(1, 1, 8, 8), ["0"])


@pytest.mark.parametrize("network", ["ConvNet", "GapCNN"])
@pytest.mark.parametrize("options", [{"kernel_sizes": 1000}, {"channels": (10**6, 10**6)}],
                         ids=["huge-kernels", "huge-channels"])
def test_a_network_too_large_to_allocate_is_refused_before_torch_tries(network, options):
    import cnncourse.models.cnn as cnn

    with pytest.raises(ValueError, match=r"convolution weights .* GiB in float32\), more than the "
                                         r"100,000,000"):
        getattr(cnn, network)(**options)
    # the limit leaves room for every network the course builds, and more
    assert 100 * sum(p.numel() for p in cnn.fast_convnet((32, 64)).parameters()) < cnn.MAX_CONV_WEIGHTS
