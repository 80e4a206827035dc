"""Measuring a map of gradient mass: a 2-D Gaussian fit (:func:`fit_gaussian`), the radius
that holds a fraction of the mass (:func:`mass_radius`) and a power law (:func:`fit_power_law`).

NumPy and SciPy only: no torch, so the fits run on any array."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D array, got shape {w.shape}")
    bad, negative = int((~np.isfinite(w)).sum()), int((w < 0).sum())
    if bad or negative:
        raise ValueError(f"weights must be finite and non-negative, got {bad} non-finite and "
                         f"{negative} negative values out of {w.size}")
    mass = w.sum()
    if mass <= 0:
        raise ValueError("weights sum to zero: there is nothing to fit")
    if method not in ("moments", "least_squares"):
        raise ValueError(f"method must be 'moments' or 'least_squares', got {method!r}")
    grid = np.indices(w.shape).astype(float)
    p = w / mass
    r0, c0 = (p * grid[0]).sum(), (p * grid[1]).sum()
    vr = (p * (grid[0] - r0) ** 2).sum()
    vc = (p * (grid[1] - c0) ** 2).sum()
    cov = (p * (grid[0] - r0) * (grid[1] - c0)).sum()
    if vr <= 0 or vc <= 0:
        raise ValueError("the map is a single line or point: its spread is zero along an axis")
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
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be a non-negative 2-D array with positive sum")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    grid = np.indices(w.shape).astype(float)
    if center is None:
        p = w / w.sum()
        center = ((p * grid[0]).sum(), (p * grid[1]).sum())
    dist = np.hypot(grid[0] - center[0], grid[1] - center[1]).ravel()
    order = np.argsort(dist, kind="stable")
    cum = np.cumsum(w.ravel()[order]) / w.sum()
    k = int(np.searchsorted(cum, fraction - 1e-12))
    return float(dist[order][min(k, dist.size - 1)])


def _as_floats(values, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__} "
                        f"({str(values)[:40]})") from None


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
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
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
    x, y = _as_floats(x, "x"), _as_floats(y, "y")
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"x and y must be finite numbers, got x={x.tolist()} and y={y.tolist()}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError(f"x and y must be positive for a log-log fit, got x={x.tolist()} and y={y.tolist()}")
    check_fit_data(x, "x")
    check_fit_data(y, "y")  # a constant y fits a slope of 0 that means nothing
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(math.exp(intercept))
