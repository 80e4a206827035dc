"""A miniature MNIST for tests of provisioning: no download, a few images."""

from __future__ import annotations

import gzip
import pickle

import numpy as np


def fake_pickle(n_train=6, n_valid=4, n_test=5, seed=0) -> bytes:
    """A miniature mnist.pkl.gz: float32 = byte / 256, like the real one."""
    rng = np.random.default_rng(seed)

    def part(n):
        pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        return pixels.astype(np.float32) / 256, rng.integers(0, 10, size=n).astype(np.int64)

    return gzip.compress(pickle.dumps((part(n_train), part(n_valid), part(n_test))))
