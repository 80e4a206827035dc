"""Where the computation runs and how to make it repeatable.

Every lesson starts with :func:`seed_everything` and :func:`pick_device`; both live here so
that a learner's run on a laptop, the book build and the tests behave the same way. The first
:func:`seed_everything` of a process also sets the number of CPU threads
(:func:`configure_threads`), and :func:`training_config` chooses, by measuring this machine,
the memory format and precision that lessons train in.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# OpenMP reads its wait policy once, when PyTorch loads it: a "passive" wait lets an idle worker
# thread sleep instead of spinning on a core another program needs. Effective only when nothing
# imported torch before this module (the Makefile exports it for the book build and the tests).
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from torch import nn

from cnncourse._checks import (  # after the wait policy above: it imports torch
    as_tensor,
    check_device,
    check_float,
    check_int,
    check_mapping,
    check_model,
    check_path,
)

__all__ = ["DEVICE_ENV", "pick_device", "seed_everything", "device_summary", "THREADS_ENV", "busy_cores",
           "configure_threads", "CACHE_ENV", "MARGIN", "TrainingConfig", "autocast", "to_device",
           "model_device", "evaluating", "FLOAT32", "cpu_description", "choose_config", "training_config",
           "atomic_write"]

DEVICE_ENV = "CNNCOURSE_DEVICE"
"""Environment variable that overrides the automatic device choice (``cpu``, ``cuda``, ``mps``)."""

_KNOWN_DEVICES = ("cpu", "cuda", "mps")


def _device_available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(name: str | None = None) -> torch.device:
    """Choose the device lessons compute on.

    Parameters
    ----------
    name
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` to force a device. When ``None``
        the environment variable ``CNNCOURSE_DEVICE`` is used if set, otherwise the first
        available of CUDA, Apple MPS and the CPU.

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ValueError
        If the requested device is unknown or not available on this machine.
    """
    source = "argument name"
    if name is None and os.environ.get(DEVICE_ENV):
        name, source = os.environ[DEVICE_ENV], f"environment variable {DEVICE_ENV}"
    if name is None:
        for kind in ("cuda", "mps"):
            if _device_available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    if not isinstance(name, str):
        raise TypeError(f"{source} must be a string such as 'cpu' or 'cuda', got {type(name).__name__}")
    kind = name.strip().lower().split(":")[0]
    if kind not in _KNOWN_DEVICES:
        raise ValueError(
            f"{source} is {name!r}: expected one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
        )
    if not _device_available(kind):
        raise ValueError(
            f"{source} asks for {name!r}, but no {kind.upper()} device is available here; "
            f"use 'cpu' or unset {DEVICE_ENV}"
        )
    return torch.device(name.strip().lower())


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch, and ask PyTorch for deterministic kernels.

    Deterministic mode is requested without PyTorch's filling of new tensors with NaN
    (``torch.utils.deterministic.fill_uninitialized_memory``), which only guards against
    reading memory before writing it and slowed training measurably.

    On the CPU this makes a run reproducible bit for bit on the same machine. On CUDA it
    also sets ``CUBLAS_WORKSPACE_CONFIG`` (effective only before CUDA initialises, which is
    why lessons call this first) and turns the cuDNN autotuner off.

    Parameters
    ----------
    seed
        A non-negative integer.
    deterministic
        Whether to request deterministic algorithms (``torch.use_deterministic_algorithms``).

    Returns
    -------
    int
        The seed, so that a lesson can print it.

    Notes
    -----
    The first call in a process also runs :func:`configure_threads` (unless it already ran),
    so every lesson's first cell sets the thread count that :func:`device_summary` prints.
    """
    seed = check_int(seed, "seed", minimum=0)
    if _threads_configured is None:
        configure_threads()
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _use_deterministic_algorithms()
        # Deterministic mode also fills every new tensor with NaN before an operation writes
        # it, a debugging aid against reading memory never written; no computation here does,
        # and without the filling a CNN trained 1.08x as fast (median of four cases, 0.98 to
        # 1.19x; 2-core Xeon, torch 2.14, benchmarks/RESULTS.md).
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
    return seed


def device_summary(device: torch.device | str | None = None) -> str:
    """Describe a device in one line, e.g. ``"cpu (2 threads of 2 usable cores, torch 2.14.1)"``.

    Lessons print this so every executed page says where it ran.
    """
    device = pick_device() if device is None else check_device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        what = torch.cuda.get_device_name(index)
    elif device.type == "mps":
        what = f"Apple GPU, {platform.machine()}"
    else:
        threads = torch.get_num_threads()
        what = f"{threads} thread{'s' if threads != 1 else ''} of {len(_usable_cpus())} usable cores"
    return f"{device.type} ({what}, torch {torch.__version__})"


# --------------------------------------------------------------------------- threads
THREADS_ENV = "CNNCOURSE_THREADS"
"""Environment variable that fixes the number of CPU threads (a positive integer)."""

_threads_configured: int | None = None
_DEFAULT_THREADS = torch.get_num_threads()  # PyTorch's own choice: the physical cores


def _use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)``, without its import cost.

    Since torch 2.5 the public call also sets ``torch._inductor.config.deterministic``, and
    importing that module loads the whole compiler stack: 1.3 to 1.7 s on a 2-core Xeon
    (torch 2.14), once in every lesson's kernel, for a flag that only ``torch.compile`` reads.
    Until the compiler is loaded, the flag is set instead through the environment variable it
    reads when it loads (``TORCHINDUCTOR_DETERMINISTIC``), and the kernels' switch directly.
    """
    set_switch = getattr(torch._C, "_set_deterministic_algorithms", None)
    if "torch._inductor.config" in sys.modules or set_switch is None:
        torch.use_deterministic_algorithms(True, warn_only=True)
        return
    os.environ.setdefault("TORCHINDUCTOR_DETERMINISTIC", "1")
    set_switch(True, warn_only=True)


def _usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity mask), sorted."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return list(range(os.cpu_count() or 1))


def _cpu_times(cpus: list[int]) -> dict[int, tuple[int, int]] | None:
    """(busy, total) jiffies of each CPU in ``cpus`` from /proc/stat, or None without it."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    wanted, found = set(cpus), {}
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in wanted:
            ticks = [int(v) for v in values[:8]]
            idle = ticks[3] + ticks[4]  # idle + iowait
            found[int(name[3:])] = (sum(ticks) - idle, sum(ticks))
    return found or None


def busy_cores(sample_seconds: float = 0.2) -> float:
    """How many of this process's usable cores other programs keep busy right now.

    Samples /proc/stat over ``sample_seconds`` (from 0 to an hour) while this process
    sleeps; elsewhere (no /proc/stat) falls back to the one-minute load average, capped at the
    usable cores.

    Returns
    -------
    float
        Busy cores, between 0 and the number of usable cores.

    Raises
    ------
    TypeError, ValueError
        For a ``sample_seconds`` that is not a number from 0 to 3600.
    """
    sample_seconds = check_float(sample_seconds, "sample_seconds", minimum=0, maximum=3600)
    cpus = _usable_cpus()
    before = _cpu_times(cpus)
    if before is None:
        try:
            return min(float(os.getloadavg()[0]), float(len(cpus)))
        except (AttributeError, OSError):
            return 0.0
    time.sleep(sample_seconds)
    after = _cpu_times(cpus) or {}
    busy = 0.0
    for cpu, (busy0, total0) in before.items():
        busy1, total1 = after.get(cpu, (busy0, total0))
        if total1 > total0:
            busy += (busy1 - busy0) / (total1 - total0)
    return min(busy, float(len(cpus)))


def configure_threads(n: int | None = None) -> int:
    """Set the number of threads PyTorch computes with on the CPU, and return it.

    The count is what this process may really use: the cores of its CPU affinity mask (a
    container or ``taskset`` may allow fewer than the machine has), at most PyTorch's own
    default of one thread per physical core. It does not follow the load of the moment, for two
    measured reasons (2-core Xeon, torch 2.14):

    - the training result of a CNN depends on the thread count (the weight gradient of a
      convolution is summed in per-thread parts), so a count that changed with the load would
      change a re-run's numbers;
    - the slowdown under load came from the OpenMP threads spinning while they wait: with one
      core busy elsewhere, two threads ran 4 to 8x slower than one. This module asks OpenMP for
      a passive wait (``OMP_WAIT_POLICY=PASSIVE``, see the module source), and with it two
      threads under load ran as fast as one.

    ``CNNCOURSE_THREADS=auto`` chooses from the load instead: the usable cores minus those other
    programs keep busy now (:func:`busy_cores`), at least one.

    Parameters
    ----------
    n
        The number of threads to use; ``None`` takes ``$CNNCOURSE_THREADS`` (a positive integer
        or ``auto``) if set, else the usable cores as above.

    Returns
    -------
    int
        The number of threads now in use (``torch.get_num_threads()``).

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` is not positive, or ``$CNNCOURSE_THREADS`` neither a positive integer nor
        ``auto``.
    """
    global _threads_configured
    usable = max(1, min(len(_usable_cpus()), _DEFAULT_THREADS))
    if n is None:
        text = os.environ.get(THREADS_ENV, "").strip().lower()
        if text == "auto":
            n = max(1, usable - int(busy_cores() + 0.5))
        elif text:
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"environment variable {THREADS_ENV} is {os.environ[THREADS_ENV]!r}: "
                                 f"expected a positive integer or 'auto'")
            n = int(text)
        else:
            n = usable
    else:
        n = check_int(n, "n", minimum=1)
    torch.set_num_threads(int(n))
    _threads_configured = torch.get_num_threads()
    return _threads_configured


# --------------------------------------------------------------------------- training configuration
CACHE_ENV = "CNNCOURSE_CACHE"
"""Environment variable naming the folder of the per-machine cache (default ``~/.cache/cnncourse``)."""

MARGIN = 1.2
"""A speed option is chosen only when it trains at least this many times as fast."""


@dataclass(frozen=True)
class TrainingConfig:
    """How a model trains on a device: the memory format and the precision of its arithmetic.

    Attributes
    ----------
    channels_last
        Store images and convolution weights channels-innermost (NHWC), see
        :func:`cnncourse.training.train_one_epoch`.
    autocast_dtype
        ``torch.bfloat16`` to run matrix products and convolutions under autocast in bfloat16,
        or ``None`` for float32 throughout.
    rates
        Training images per second of each candidate measured when the choice was made
        (name, rate), for display; not part of the configuration's identity.
    """

    channels_last: bool
    autocast_dtype: torch.dtype | None
    rates: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        """``"float32"``, ``"float32 + channels_last"``, ``"bfloat16 autocast + channels_last"``..."""
        precision = "float32" if self.autocast_dtype is None else f"{str(self.autocast_dtype)[6:]} autocast"
        return precision + (" + channels_last" if self.channels_last else "")

    def options(self) -> dict:
        """Keyword arguments for ``fit``, ``evaluate`` and ``training_throughput``."""
        return {"channels_last": self.channels_last, "autocast_dtype": self.autocast_dtype}

    def describe(self) -> str:
        """The choice and, when measured, the rates behind it, in a few lines."""
        lines = [f"training configuration: {self.name}"]
        for name, rate in self.rates:
            lines.append(f"  {name:34s} {rate:9,.0f} images/s")
        return "\n".join(lines)


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """The context in which a configuration's arithmetic runs: ``torch.autocast`` in ``dtype``
    on ``device``'s type, or a context that changes nothing for ``dtype=None`` (float32).

    Raises
    ------
    TypeError, ValueError
        For a ``dtype`` other than ``torch.bfloat16``, ``torch.float16`` or ``None``, or a
        ``device`` that names no device.
    """
    return autocast_context(device, dtype, name="dtype")


def autocast_context(device: torch.device | str, dtype: torch.dtype | None, *,
                     name: str = "autocast_dtype"):
    """:func:`autocast` for a caller whose argument holding ``dtype`` is called ``name`` (the
    training, evaluation and measuring functions' ``autocast_dtype``)."""
    device = check_device(device, "device")
    if dtype is None:
        return contextlib.nullcontext()
    if dtype not in (torch.bfloat16, torch.float16):
        error = ValueError if isinstance(dtype, torch.dtype) else TypeError
        raise error(f"{name} must be torch.bfloat16, torch.float16 or None, got {dtype!r}")
    return torch.autocast(device.type, dtype=dtype)


def to_device(x: torch.Tensor, device: torch.device | str, channels_last: bool = False) -> torch.Tensor:
    """``x`` on ``device``; a 4-D batch ``(N, C, H, W)`` also in the channels_last memory format
    when ``channels_last`` is true (the numbers and the shape stay the same)."""
    x = as_tensor(x, "x")
    device = check_device(device)
    if x.device.type == "meta":
        raise ValueError(f"x must hold numbers, got a meta tensor of shape {tuple(x.shape)}")
    x = x.to(device, non_blocking=True)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x



def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the first one's); the CPU for a model without any."""
    param = next(check_model(model).parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Run the block with ``model`` in eval mode, and give it back its own mode afterwards.

    Dropout is off and batch normalization uses its running statistics inside the block;
    the mode the model had (training or eval) is restored on leaving, also on an error.

    Examples
    --------
    >>> with evaluating(model), torch.no_grad():
    ...     logits = model(x)
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)

FLOAT32 = TrainingConfig(channels_last=False, autocast_dtype=None)
_CANDIDATES = (FLOAT32, TrainingConfig(True, None), TrainingConfig(True, torch.bfloat16))
_configs: dict[str, TrainingConfig] = {}


def _cpu_description() -> tuple[str, list[str]]:
    """The processor's model name and the matrix-arithmetic flags it has."""
    name, flags = platform.processor() or platform.machine(), []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name == (platform.processor() or platform.machine()):
                name = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                have = set(value.split())
                flags = [f for f in ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2", "asimd")
                         if f in have]
    return name, flags


def cpu_description() -> str:
    """One line naming the processor and its matrix-arithmetic flags (AMX, AVX-512, AVX2)."""
    name, flags = _cpu_description()
    return f"{name} [{' '.join(flags) or 'no AMX/AVX-512/AVX2 flags'}]"


def _machine_key(device: torch.device) -> str:
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device.index if device.index is not None else 0)
    elif device.type == "mps":
        what = f"mps {platform.machine()}"
    else:
        what = cpu_description()
    return f"{device.type} | {what} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def _cache_file() -> Path:
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cnncourse")
    return Path(root) / "training-config.json"


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _from_entry(entry: object) -> TrainingConfig | None:
    try:
        dtype = {"bfloat16": torch.bfloat16, None: None}[entry["autocast_dtype"]]
        rates = tuple((str(name), float(rate)) for name, rate in entry["rates"])
        return TrainingConfig(bool(entry["channels_last"]), dtype, rates)
    except (KeyError, TypeError, ValueError):
        return None


def _record(path: Path, key: str, config: TrainingConfig) -> TrainingConfig:
    """Store ``config`` under ``key`` unless another process stored one first; return the stored one.

    The file is rewritten atomically (temporary file, then rename) under an exclusive lock, so
    two processes measuring at once still end with one recorded choice.
    """
    entry = {"channels_last": config.channels_last,
             "autocast_dtype": None if config.autocast_dtype is None else "bfloat16",
             "rates": [list(r) for r in config.rates]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            with contextlib.suppress(ImportError, OSError):
                import fcntl
                fcntl.flock(lock, fcntl.LOCK_EX)
            data = _read_cache(path)
            stored = _from_entry(data.get(key))
            if stored is not None:
                return stored
            data[key] = entry
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            try:
                with os.fdopen(handle, "w") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
    except OSError:
        pass  # a read-only home: the choice still holds for this process
    return config


def _probe_rates(device: torch.device, candidates: tuple[TrainingConfig, ...], rounds: int = 3,
                 batch_size: int = 256) -> dict[TrainingConfig, float]:
    """Best-of-``rounds`` training images per second of each candidate, measured in turns.

    The workload is a two-convolution network of the size lesson 8 trains (24 and 32 filters,
    a 256-unit hidden layer) on one random batch of 28x28 images. Taking turns and keeping each
    candidate's fastest step makes the comparison fair even when other programs load the CPU.
    """
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, 1, 28, 28, generator=generator).to(device)
    y = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    state = torch.random.get_rng_state()
    setups = []
    for config in candidates:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 24, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(24, 32, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 256), nn.ReLU(),
                              nn.Linear(256, 10)).to(device)
        images = x
        if config.channels_last:
            model, images = model.to(memory_format=torch.channels_last), x.contiguous(
                memory_format=torch.channels_last)
        setups.append((config, model, images, torch.optim.Adam(model.parameters(), lr=1e-3)))
    torch.random.set_rng_state(state)  # measuring leaves the caller's random numbers alone

    def step(config, model, images, optimizer) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, config.autocast_dtype):
            loss = nn.functional.cross_entropy(model(images), y)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    best = {config: float("inf") for config in candidates}
    for setup in setups:  # warm-up: the first step allocates memory and picks kernels
        step(*setup)
    for _ in range(rounds):
        for setup in setups:
            best[setup[0]] = min(best[setup[0]], step(*setup))
    return {config: batch_size / seconds for config, seconds in best.items()}


def _candidates(device: torch.device) -> tuple[TrainingConfig, ...]:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return _CANDIDATES[:2]
    if device.type == "mps":
        return _CANDIDATES[:2]
    return _CANDIDATES


def choose_config(rates: dict[TrainingConfig, float], margin: float = MARGIN) -> TrainingConfig:
    """The configuration to train in, from measured rates.

    Candidates are taken from the simplest (float32, the usual memory format) to the most
    involved (bfloat16 autocast + channels_last); one replaces the current choice only when it
    trains at least ``margin`` times as fast, so that near-ties keep the simpler configuration.

    Parameters
    ----------
    rates
        Images per second of each candidate, in order from simplest to most involved.
    margin
        Required speed-up over the current choice (at least 1).

    Returns
    -------
    TrainingConfig
        The choice, carrying the rates (named) it was made from.

    Raises
    ------
    TypeError, ValueError
        For ``rates`` that is not a non-empty dict, or a ``margin`` that is not a finite
        number of at least 1.
    """
    check_mapping(rates, "rates", nonempty=False)
    if not rates:
        raise ValueError("rates is empty: expected images per second of at least one configuration")
    margin = check_float(margin, "margin", minimum=1)
    chosen = next(iter(rates))
    for config, rate in rates.items():
        if rate >= margin * rates[chosen]:
            chosen = config
    named = tuple((config.name, round(float(rate), 1)) for config, rate in rates.items())
    return TrainingConfig(chosen.channels_last, chosen.autocast_dtype, named)


def training_config(device: torch.device | str | None = None) -> TrainingConfig:
    """The memory format and precision to train in on ``device``, chosen by measuring it.

    The candidates are float32, float32 + channels_last and bfloat16 autocast +
    channels_last (bfloat16 only where the device may support it). Each trains a lesson-8-sized
    CNN for four steps on one batch of 256 images, in turns (twelve steps in all), and
    :func:`choose_config` keeps a more involved one only when it is at least :data:`MARGIN`
    times as fast. Whether bfloat16 pays depends on the hardware: CPUs with AMX or AVX-512-BF16
    units run it faster than float32, CPUs with only AVX2 several times slower.

    ``torch.compile`` is not a candidate: on a 2-core Xeon with AMX (torch 2.14) compiling
    this CNN's training step took 34 s, and the compiled step then trained at 0.8x the rate
    of the uncompiled one (``benchmarks/RESULTS.md``), so it cannot pay within a lesson.

    The choice is made once per process and recorded once per machine, in
    ``training-config.json`` of ``$CNNCOURSE_CACHE`` (default ``~/.cache/cnncourse``), keyed by
    the device (processor model and flags, or GPU name), the torch version and the thread
    count: a rebuilt book and its re-run make the same choice. Delete the file to measure
    again.

    Parameters
    ----------
    device
        Default: :func:`pick_device`.

    Returns
    -------
    TrainingConfig
        The choice, with the rates it was based on (``describe()`` prints them).

    Raises
    ------
    TypeError, ValueError
        For a ``device`` that is not a ``torch.device`` or a device string, or one that is
        not available (see :func:`pick_device`).
    """
    device = pick_device() if device is None else pick_device(str(check_device(device, "device")))
    key = _machine_key(device)
    if key in _configs:
        return _configs[key]
    path = _cache_file()
    config = _from_entry(_read_cache(path).get(key))
    if config is None:
        config = _record(path, key, choose_config(_probe_rates(device, _candidates(device))))
    _configs[key] = config
    return config


def atomic_write(path: str | os.PathLike, payload: bytes | str) -> Path:
    """Write ``payload`` to ``path`` so that a reader sees the old file or the new one, never half.

    The bytes (a ``str`` is encoded as UTF-8) go to a temporary file in the same folder, are
    flushed to disk, and the temporary file is renamed over ``path``; an interrupted write
    leaves ``path`` as it was and no temporary file behind. Missing parent folders are made.

    Raises
    ------
    TypeError
        If ``payload`` is neither ``bytes`` nor ``str``.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if not isinstance(payload, (bytes, bytearray)):
        raise TypeError(f"payload must be bytes or str, got {type(payload).__name__}")
    path = check_path(path, "path")
    if path.is_dir():
        raise ValueError(f"path must name a file, got the folder {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
