"""Measuring a map of gradient mass: a 2-D Gaussian fit (:func:`fit_gaussian`), the radius
that holds a fraction of the mass (:func:`mass_radius`) and a power law (:func:`fit_power_law`).

NumPy and SciPy only: no torch, so the fits run on any array."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["check_fit_data", "GaussianFit", "fit_gaussian", "mass_radius", "fit_power_law"]


# --------------------------------------------------------------------------- measuring it
@dataclass(frozen=True)
class GaussianFit:
    """A 2-D Gaussian fitted to a non-negative map (rows first).

    Attributes
    ----------
    center
        ``(row, col)`` of the mean.
    sigma
        Standard deviations ``(sigma_row, sigma_col)`` in pixels.
    correlation
        Correlation between the row and column coordinates (0 for an axis-aligned ellipse).
    amplitude
        Peak value of the fitted Gaussian (for ``method="moments"``, the peak of the Gaussian
        with the map's total mass).
    """

    center: tuple[float, float]
    sigma: tuple[float, float]
    correlation: float
    amplitude: float

    @property
    def radius(self) -> float:
        """Effective radius: the root-mean-square of the two standard deviations,
        :math:`\\sqrt{(\\sigma_r^2 + \\sigma_c^2)/2}` (equal to :math:`\\sigma` for a round Gaussian)."""
        return math.sqrt((self.sigma[0] ** 2 + self.sigma[1] ** 2) / 2)

    def evaluate(self, shape: tuple[int, int]) -> np.ndarray:
        """The fitted Gaussian sampled on a grid of ``shape``."""
        return _gauss2d(np.indices(shape).astype(float), self.amplitude, *self.center, *self.sigma, self.correlation)


# --------------------------------------------------------------------------- reading the arguments
# The floor checks of cnncourse._checks import torch, which this module must not; these read a
# tensor by duck typing (detach, is_complex), the rest with NumPy, under the same rule: a
# TypeError for a value of the wrong type, a ValueError for one out of range, naming both.
def _describe(value: object) -> str:
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    text = repr(value)
    return f"{type(value).__name__} ({text if len(text) <= 60 else text[:57] + '...'})"


def _real_array(values: object, name: str) -> np.ndarray:
    """``values`` as a float64 array: a NumPy array, a nested sequence or a tensor of real
    numbers (booleans count as 0 and 1)."""
    if values is None or isinstance(values, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(values)}")
    if hasattr(values, "detach") and hasattr(values, "is_complex"):  # a torch tensor
        if getattr(values, "is_meta", False):
            raise ValueError(f"{name} must hold numbers, got a meta tensor of shape {tuple(values.shape)} "
                             "(it has a shape but no data)")
        if values.is_complex():
            raise TypeError(f"{name} must hold real numbers, got {_describe(values)}")
        values = values.detach().cpu().double().numpy()  # bfloat16 and float16 too
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):  # ragged nested lists
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(values)}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got {_describe(values)} (dtype {arr.dtype})")
    return arr.astype(float)


def _mass_map(weights: object, name: str = "weights") -> np.ndarray:
    """A map of mass: 2-D, finite, non-negative, with a positive sum."""
    w = _real_array(weights, name)
    if w.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got {_describe(weights)}")
    bad, negative = int((~np.isfinite(w)).sum()), int((w < 0).sum())
    if bad or negative:
        raise ValueError(f"{name} must be finite and non-negative, got {bad} non-finite and "
                         f"{negative} negative values out of {w.size} (shape {w.shape})")
    if not w.sum() > 0:
        raise ValueError(f"{name} sum to zero: there is nothing to measure in {_describe(weights)}")
    return w


def _number(value: object, name: str) -> float:
    """A real number: an int, a float, a NumPy number or a 0-d array or tensor (not a bool)."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    return float(value)


def _gauss2d(grid, amp, r0, c0, sr, sc, rho):
    u, v = (grid[0] - r0) / sr, (grid[1] - c0) / sc
    q = (u * u - 2 * rho * u * v + v * v) / (1 - rho * rho)
    return amp * np.exp(-q / 2)


def fit_gaussian(weights: np.ndarray, method: str = "moments") -> GaussianFit:
    """Fit a 2-D Gaussian to a non-negative map, such as an effective receptive field.

    Parameters
    ----------
    weights
        Non-negative 2-D array (rows, columns); it need not be normalized.
    method
        ``"moments"``: treat the map as a distribution of mass and take its mean and
        covariance (exact for a sampled Gaussian that fits in the map; fast, no iteration).
        ``"least_squares"``: fit ``A exp(-q/2)`` to the values with
        ``scipy.optimize.curve_fit``, starting from the moments (less sensitive to a faint
        wide background).

    Returns
    -------
    GaussianFit
        Centre, standard deviations, correlation and amplitude; ``.radius`` is the effective
        radius :math:`\\sqrt{(\\sigma_r^2 + \\sigma_c^2)/2}`.

    Raises
    ------
    TypeError
        For ``weights`` that are not an array of real numbers.
    ValueError
        For ``weights`` that are not 2-D, hold NaN, infinities or negative values, sum to
        zero, or lie on a single line or point (no spread to fit); an unknown ``method``.
    """
    w = _mass_map(weights)
    mass = w.sum()
    if method not in ("moments", "least_squares"):
        raise ValueError(f"method must be 'moments' or 'least_squares', got {method!r}")
    grid = np.indices(w.shape).astype(float)
    p = w / mass
    r0, c0 = (p * grid[0]).sum(), (p * grid[1]).sum()
    vr = (p * (grid[0] - r0) ** 2).sum()
    vc = (p * (grid[1] - c0) ** 2).sum()
    cov = (p * (grid[0] - r0) * (grid[1] - c0)).sum()
    if vr <= 0 or vc <= 0:
        raise ValueError(f"weights is a single line or point: its spread is zero along an axis "
                         f"({_describe(weights)}, mass at {np.count_nonzero(w)} pixels)")
    sr, sc = math.sqrt(vr), math.sqrt(vc)
    rho = float(np.clip(cov / (sr * sc), -0.99, 0.99))
    amp = mass / (2 * math.pi * sr * sc * math.sqrt(1 - rho * rho))
    if method == "moments":
        return GaussianFit((float(r0), float(c0)), (sr, sc), rho, float(amp))
    from scipy.optimize import curve_fit

    def model(flat_grid, a, rr, cc, s1, s2, rh):
        return _gauss2d(flat_grid, a, rr, cc, s1, s2, rh).ravel()

    p0 = (w.max(), r0, c0, sr, sc, rho)
    bounds = ([0, -np.inf, -np.inf, 1e-3, 1e-3, -0.99], [np.inf, np.inf, np.inf, np.inf, np.inf, 0.99])
    popt, _ = curve_fit(model, grid.reshape(2, -1), w.ravel(), p0=p0, bounds=bounds, maxfev=20000)
    a, rr, cc, s1, s2, rh = (float(v) for v in popt)
    return GaussianFit((rr, cc), (s1, s2), rh, a)


def mass_radius(weights: np.ndarray, fraction: float = 0.9,
                center: tuple[float, float] | None = None) -> float:
    """Radius of the smallest disc around ``center`` that holds ``fraction`` of the map's mass.

    Pixels count whole, at the distance of their centre, so the result is the distance of
    one pixel centre. ``center`` defaults to the centre of mass.

    Raises
    ------
    TypeError
        For ``weights`` that are not an array of real numbers, a ``fraction`` that is not a
        number, or a ``center`` that is not a pair of numbers.
    ValueError
        For ``weights`` that are not 2-D, hold NaN, infinities or negative values, or sum to
        zero; a ``fraction`` outside (0, 1]; a ``center`` that is not finite.
    """
    w = _mass_map(weights)
    fraction = _number(fraction, "fraction")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    grid = np.indices(w.shape).astype(float)
    if center is None:
        p = w / w.sum()
        center = ((p * grid[0]).sum(), (p * grid[1]).sum())
    else:
        pair = _real_array(center, "center")
        if pair.shape != (2,):
            raise TypeError(f"center must be a pair (row, col) of numbers, got {_describe(center)}")
        if not np.isfinite(pair).all():
            raise ValueError(f"center must be finite, got {pair.tolist()}")
        center = (float(pair[0]), float(pair[1]))
    dist = np.hypot(grid[0] - center[0], grid[1] - center[1]).ravel()
    order = np.argsort(dist, kind="stable")
    cum = np.cumsum(w.ravel()[order]) / w.sum()
    k = int(np.searchsorted(cum, fraction - 1e-12))
    return float(dist[order][min(k, dist.size - 1)])


def _as_floats(values, name: str) -> np.ndarray:
    return _real_array(values, name)


def check_fit_data(values, name: str) -> np.ndarray:
    """The data of a fit: a 1-D array of finite numbers with at least two
    different values (a line through one repeated value has no slope, or a meaningless one).

    The rule for the argument kind *fit data* (``cnncourse._checks.ARGUMENT_KINDS``); it lives
    here because this module must not import torch.

    Raises
    ------
    TypeError
        For values that are not numbers.
    ValueError
        For another rank, NaN or infinities, or too few distinct values.
    """
    arr = _as_floats(values, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {_describe(values)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    if len(np.unique(arr)) < 2:
        raise ValueError(f"{name} must have at least 2 different values to fit, got {arr.tolist()}")
    return arr


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Fit ``y = a * x**b`` by least squares on ``log y`` against ``log x``.

    Returns
    -------
    (b, a)
        The exponent (slope on a log-log plot) and the prefactor.
    """
    xs, ys = _as_floats(x, "x"), _as_floats(y, "y")
    if xs.shape != ys.shape or xs.ndim != 1 or xs.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {xs.shape} and {ys.shape}: "
                         f"{_describe(x)} and {_describe(y)}")
    x, y = xs, ys
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"x and y must be finite numbers, got x={x.tolist()} and y={y.tolist()}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError(f"x and y must be positive for a log-log fit, got x={x.tolist()} and y={y.tolist()}")
    check_fit_data(x, "x")
    check_fit_data(y, "y")  # a constant y fits a slope of 0 that means nothing
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(math.exp(intercept))
