"""Table-driven: typical bad inputs to public functions raise ValueError/TypeError whose
message names the argument, says what was received and what is expected.

Each row: the call, the exception type, and fragments the message must contain (the
argument's name, the received value, the expectation). Rows for modules that have their own
detailed tests are representative, not exhaustive.

Every row was seen failing against a deliberately broken copy: `make mutants`
(scripts/mutants.py) derives one mutant per row, `bad-input/<row>`, in which the `if` guarding
the row's `raise` is made `if False:`. Two rows first survived, because a later check in torch
or in `output_size` raised a message with the same fragments; their fragments now name what
only the course's check says ("images per batch", "11x11").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from cnncourse import _checks, data, evaluation, filters, geometry, pooling, receptive_field, runtime, speed, training
from cnncourse.models import MLP, ConvNet, conv_parameter_count, count_parameters, mlp_parameter_count, summarize
from cnncourse.plots.filters import show_kernel

IMG = torch.rand(8, 8)
ONE = [(torch.zeros(2, 2), torch.zeros(2).long())]


def _sgd():
    """An optimizer for the rows that test another argument of train_one_epoch."""
    return torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)


def _batch(x_dtype=torch.float32, y=(0, 1)):
    return [(torch.zeros(2, 2, dtype=x_dtype), torch.tensor(y))]


CEIL_CHAIN = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(1, 1, 3),
                           nn.MaxPool2d(2, ceil_mode=True))

CASES = [
    # runtime
    ("device unknown", lambda: runtime.pick_device("tpu"), ValueError, ["'tpu'", "expected one of"]),
    ("device type", lambda: runtime.pick_device(3), TypeError, ["string", "int"]),
    ("seed negative", lambda: runtime.seed_everything(-5), ValueError, ["seed", "-5", "non-negative"]),
    ("seed float", lambda: runtime.seed_everything(0.5), TypeError, ["seed", "int", "float"]),
    # data
    ("split unknown", lambda: data.load_mnist("validation"), ValueError, ["split", "'validation'", "'train' or 'test'"]),
    ("standardize dtype", lambda: data.standardize(torch.rand(2, 28, 28)), TypeError, ["images", "uint8", "float32"]),
    ("standardize rank", lambda: data.standardize(torch.zeros(28, 28, dtype=torch.uint8)), ValueError, ["images", "(28, 28)", "(N, H, W)"]),
    ("standardize std", lambda: data.standardize(torch.zeros(1, 2, 2, dtype=torch.uint8), std=0), ValueError, ["std", "0", "positive"]),
    ("batch size zero", lambda: data.TensorBatches(torch.zeros(3, 1), torch.zeros(3), batch_size=0), ValueError, ["batch_size", "0", "positive"]),
    ("batches lengths", lambda: data.TensorBatches(torch.zeros(3, 1), torch.zeros(2)), ValueError, ["same length", "3", "2"]),
    ("loaders batch size", lambda: data.mnist_loaders(batch_size=-1), ValueError, ["batch_size", "-1", "images per batch"]),
    ("split size", lambda: data.split_indices(10, 12), ValueError, ["val_size", "12", "[0, 10)"]),
    # models
    ("mlp sizes", lambda: MLP((784,)), ValueError, ["sizes", "(784,)", "at least"]),
    ("mlp negative width", lambda: MLP((784, -3, 10)), ValueError, ["sizes", "-3", "positive"]),
    ("mlp dropout", lambda: MLP(dropout=1.5), ValueError, ["dropout", "1.5", "[0, 1)"]),
    ("mlp input", lambda: MLP()(torch.zeros(2, 1, 20, 20)), ValueError, ["784", "(2, 1, 20, 20)"]),
    ("cnn input", lambda: ConvNet()(torch.zeros(2, 3, 28, 28)), ValueError, ["(N, 1, 28, 28)", "(2, 3, 28, 28)"]),
    ("parameter count type", lambda: count_parameters("model"), TypeError, ["model", "nn.Module", "str"]),
    ("formula sizes", lambda: mlp_parameter_count((784, 0, 10)), ValueError, ["sizes", "0", "positive"]),
    # training
    ("fit epochs", lambda: training.fit(nn.Linear(2, 2), [(torch.zeros(1, 2), torch.zeros(1).long())], epochs=0),
     ValueError, ["epochs", "0", "positive"]),
    ("fit model", lambda: training.fit("net", [], epochs=1), TypeError, ["model", "nn.Module", "str"]),
    ("fit patience without val", lambda: training.fit(nn.Linear(2, 2), [], epochs=1, patience=2), ValueError, ["patience", "val"]),
    ("empty loader", lambda: training.evaluate(nn.Linear(2, 2), []), ValueError, ["no batches", "empty"]),
    ("too few classes", lambda: training.evaluate(nn.Linear(2, 3), [(torch.zeros(4, 2), torch.tensor([0, 1, 5, 2]))]),
     ValueError, ["3 logits", "class 5", "at least 6"]),
    ("logits rank", lambda: training.evaluate(nn.Flatten(0), [(torch.zeros(4, 2), torch.zeros(4).long())]),
     ValueError, ["(batch, classes)", "(8,)"]),
    ("autocast dtype", lambda: training.evaluate(nn.Linear(2, 2), [(torch.zeros(1, 2), torch.zeros(1).long())],
                                                 autocast_dtype=torch.int8), ValueError, ["autocast_dtype", "int8", "bfloat16"]),
    ("device mix, evaluate", lambda: training.evaluate(nn.Linear(2, 2), [(torch.zeros(1, 2), torch.zeros(1).long())],
                                                       device="meta"), ValueError, ["device", "'meta'", "'cpu'", "model.to"]),
    ("device mix, one epoch", lambda: training.train_one_epoch(nn.Linear(2, 2), [], _sgd(), device="meta"),
     ValueError, ["device", "'meta'", "'cpu'"]),
    ("device mix, batches", lambda: data.TensorBatches(torch.zeros(3, 1), torch.zeros(3, device="meta")),
     ValueError, ["cpu", "meta", "same device"]),
    # filters
    ("even kernel", lambda: filters.correlate2d(IMG, torch.ones(2, 2), edge="zero"), ValueError, ["kernel", "2", "odd"]),
    ("unknown edge", lambda: filters.correlate2d(IMG, torch.ones(3, 3), edge="mirror"), ValueError, ["edge", "'mirror'", "zero"]),
    ("stride zero", lambda: filters.correlate2d(IMG, torch.ones(3, 3), stride=0), ValueError, ["stride", "0", "positive"]),
    ("kernel too big", lambda: filters.correlate2d(IMG, torch.ones(11, 11), edge="crop"), ValueError, ["kernel", "11x11", "8x8"]),
    ("kernel rank", lambda: filters.correlate2d(IMG, torch.ones(3)), ValueError, ["kernel", "(3,)"]),
    ("image rank", lambda: filters.correlate2d(torch.rand(1, 1, 1, 8, 8), torch.ones(3, 3)), ValueError, ["image", "(1, 1, 1, 8, 8)"]),
    ("image type", lambda: filters.correlate2d("photo", torch.ones(3, 3)), TypeError, ["image", "str"]),
    ("output size", lambda: filters.output_size(5, 7), ValueError, ["7", "5"]),
    ("unknown kernel", lambda: filters.get_kernel("emboss"), ValueError, ["'emboss'", "sobel"]),
    # pooling
    ("pool window", lambda: pooling.max_pool2d(IMG, window=0), ValueError, ["window", "0", "positive"]),
    ("pool mode", lambda: pooling.pool2d(IMG, mode="median"), ValueError, ["mode", "'median'", "max"]),
    ("pool too big", lambda: pooling.avg_pool2d(IMG, window=9), ValueError, ["window 9x9", "larger than the input 8x8"]),
    # receptive fields
    ("unknown layer", lambda: receptive_field.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Linear(3, 3))),
     ValueError, ["layer 1", "Linear"]),
    ("power law", lambda: receptive_field.fit_power_law([1, 2], [1]), ValueError, ["x", "y", "(2,)", "(1,)"]),
    ("power law NaN", lambda: receptive_field.fit_power_law([1, 2, 3], [1, math.nan, 2]), ValueError,
     ["finite", "nan"]),
    ("power law log", lambda: receptive_field.fit_power_law([0, 1], [1, 2]), ValueError, ["positive", "x=[0.0, 1.0]"]),
    ("gaussian NaN", lambda: receptive_field.fit_gaussian(np.full((3, 3), math.nan)), ValueError, ["weights", "finite", "9 non-finite"]),
    # argument checks and geometry (issue 20, kinds 1 and 2): one rule, TypeError for a type
    ("int given a float", lambda: _checks.check_int(3.0, "n"), TypeError, ["n", "float", "int"]),
    ("int given a bool", lambda: geometry.output_size(True, 3), TypeError, ["size", "bool"]),
    ("float given NaN", lambda: filters.gaussian_kernel(5, math.nan), ValueError, ["sigma", "nan", "positive"]),
    ("pair too long", lambda: _checks.check_pair((1, 2, 3), "kernel_size"), ValueError, ["kernel_size", "3 values", "pair"]),
    ("choice type", lambda: pooling.pool2d(IMG, mode=1), TypeError, ["mode", "int", "'max'"]),
    ("window float", lambda: pooling.max_pool2d(IMG, window=2.0), TypeError, ["window", "float"]),
    ("formula kernel float", lambda: conv_parameter_count(1, 4, 3.0), TypeError, ["kernel_size", "float"]),
    ("input too small", lambda: geometry.output_size(2, 3), ValueError, ["size 2", "kernel_size 3", "smallest size that fits is 3"]),
    ("same with stride", lambda: geometry.output_size(28, 3, stride=2, padding="same"), ValueError, ["'same'", "stride 1", "2"]),
    ("unknown padding", lambda: geometry.output_size(28, 3, padding="full"), ValueError, ["padding", "'full'", "'same'"]),
    ("layer geometry", lambda: geometry.layer_geometry(nn.Linear(2, 2)), TypeError, ["Linear", "Conv2d"]),
    ("ceil-mode summary", lambda: summarize(CEIL_CHAIN, (1, 6, 6)), ValueError, ["(1, 6, 6)", "too small", "7x7"]),
    # contracts at the package boundary (kind 4)
    ("loss sum, one epoch", lambda: training.train_one_epoch(nn.Linear(2, 2), ONE, _sgd(), nn.CrossEntropyLoss(reduction="sum")),
     ValueError, ["loss_fn", "'sum'", "'mean'"]),
    ("loss none, evaluate", lambda: training.evaluate(nn.Linear(2, 2), ONE, nn.CrossEntropyLoss(reduction="none")),
     ValueError, ["loss_fn", "'none'", "'mean'"]),
    ("uint8 images", lambda: training.evaluate(nn.Linear(2, 2), _batch(torch.uint8)), TypeError, ["uint8", "floating-point", "standardize"]),
    ("float64 images", lambda: training.evaluate(nn.Linear(2, 2), _batch(torch.float64)), TypeError, ["float64", "float32", "x.to"]),
    ("cnn uint8", lambda: ConvNet()(torch.zeros(1, 1, 28, 28, dtype=torch.uint8)), TypeError, ["ConvNet", "uint8", "scale raw pixels"]),
    ("float targets", lambda: training.evaluate(nn.Linear(2, 2), [(torch.zeros(2, 2), torch.zeros(2))]), TypeError,
     ["targets", "float32", "long"]),
    ("negative targets", lambda: training.train_one_epoch(nn.Linear(2, 2), _batch(y=(0, -1)), _sgd()), ValueError,
     ["targets", "-1", ">= 0"]),
    ("confused NaN", lambda: evaluation.most_confused_pairs(torch.full((2, 2), math.nan)), ValueError, ["matrix", "finite", "NaN"]),
    ("confused k", lambda: evaluation.most_confused_pairs(torch.eye(2), k=-1), ValueError, ["k", "-1", "non-negative"]),
    # the rules the API fuzz test (tests/test_fuzz_api.py) asked for, one row each
    ("batches not iterable", lambda: training.predict(nn.Linear(2, 2), None), TypeError,
     ["batches", "iterable of (inputs, targets) pairs", "None"]),
    ("batch not a pair", lambda: training.evaluate(nn.Linear(2, 2), [None]), TypeError,
     ["batches", "(inputs, targets) pairs", "None", "batch 0"]),
    ("meta model", lambda: training.evaluate(nn.Linear(2, 2, device="meta"),
                                             [(torch.zeros(1, 2), torch.tensor([0]))]),
     ValueError, ["model", "meta device", "'weight'"]),
    ("model without parameters", lambda: speed.training_flops_per_image(nn.Identity(), torch.zeros(2, 3)),
     ValueError, ["model", "parameters", "Identity"]),
    ("mapping None", lambda: filters.response_table(None, {"box": torch.ones(3, 3)}), TypeError,
     ["images", "dict", "None"]),
    ("learning rate huge", lambda: training.fit(nn.Linear(2, 2), [(torch.zeros(1, 2), torch.tensor([0]))],
                                                epochs=1, lr=1e300, progress=False),
     ValueError, ["lr", "1e+300", "3.4"]),
    ("panel size", lambda: show_kernel(torch.ones(3, 3), size=0), ValueError, ["size", "[0.1, 20.0]", "0"]),
    ("plot image empty", lambda: show_kernel(torch.zeros(0, 3)), ValueError, ["kernel", "empty", "(0, 3)"]),
    # the data folder (kind 5)
    ("data root is a file", lambda: data.provision_mnist(__file__, verbose=False), data.MNISTDataError,
     ["test_bad_input.py", "is a file, not a folder"]),
]


@pytest.mark.parametrize("call, error, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_explained(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_nan_input_to_training_is_reported():
    """Seen failing with the loss check removed (mutant `loss-not-checked`)."""
    x = torch.full((8, 2), math.nan)
    batches = [(x, torch.zeros(8).long())]
    with pytest.raises(training.NonFiniteLossError, match="NaN"):
        training.fit(nn.Linear(2, 2), batches, epochs=1, progress=False)


def test_kernel_and_bias_follow_the_image_device():
    """A kernel made on the CPU filters an image elsewhere (here the shape-only meta device)."""
    out = filters.correlate2d(torch.rand(1, 1, 8, 8, device="meta"), torch.ones(2, 1, 3, 3), bias=torch.ones(2))
    assert out.device.type == "meta" and out.shape == (1, 2, 8, 8)


def test_numpy_and_torch_inputs_agree():
    image = np.random.default_rng(0).random((6, 6))
    assert torch.allclose(filters.correlate2d(image, filters.laplacian()),
                          filters.correlate2d(torch.from_numpy(image), filters.laplacian()))
