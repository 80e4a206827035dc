"""Receptive fields: which input pixels a unit of a feature map can see, and which it really uses.

Two questions, two kinds of answer:

* The **theoretical receptive field** of a unit is the set of input pixels that can change
  its value at all. It follows from the kernel sizes, strides, paddings and dilations alone
  (:func:`receptive_field`), by the recurrence

  .. math::

     r_l = r_{l-1} + (k_l - 1)\\, j_{l-1}, \\qquad j_l = j_{l-1}\\, s_l, \\qquad
     c_l = c_{l-1} + \\left(\\tfrac{k_l - 1}{2} - p_l\\right) j_{l-1},

  from :math:`r_0 = j_0 = 1, c_0 = 0`, where :math:`k_l = d_l (k^{raw}_l - 1) + 1` is the
  effective kernel of layer :math:`l` (dilation :math:`d_l` included), :math:`s_l` its
  stride, :math:`p_l` its padding before the first pixel, :math:`r_l` the field size,
  :math:`j_l` the *jump* (how many input pixels apart two neighbouring units are) and
  :math:`c_l` the input coordinate of the centre of unit 0's field (Araujo et al. 2019).
  The model is traced with ``torch.fx``, so the recurrence follows branches: where branches
  meet (a residual ``add``, a ``cat``, a multiplication by a gate) the field is the union of
  the fields of the branches.
* The **effective receptive field** (ERF) weighs every input pixel by how much it actually
  changes the unit: the magnitude of the gradient of the unit with respect to the input,
  averaged over random inputs and random weights (:func:`effective_receptive_field`).
  Luo et al. (2016) showed that it is roughly Gaussian and that its width grows like the
  square root of depth, while the theoretical field grows linearly.

Between the two sit the counting maps: :func:`usage_map` backpropagates through a copy of
the model with every weight set to one, one channel, window sums in place of poolings and
no non-linearity, so that no two paths can cancel; :func:`gradient_support` is the set of
pixels where that gradient is positive, the exact theoretical field of one unit measured by
backpropagation, the check of :func:`receptive_field`.

This package computes; the figures are in :mod:`cnncourse.plots.receptive_field`. Its modules,
one job each, import one way only (``pyproject.toml`` pins the order with import-linter):
``errors`` holds :class:`ReceptiveFieldError`, the one error for a model or an operation the
analysers cannot handle; ``_graph`` traces the model with ``torch.fx`` (not into the
``leaf_modules`` given) and names its nodes; ``table`` holds the result
table (:class:`LayerField`, :class:`ReceptiveField`); ``_rules`` is the table of per-operation
rules, each kind of operation with its classification, its geometry and its counting side by
side (on ``_field``, the state of a tensor, and ``_windows``, the sliding window);
``_classify`` gives each traced node its rule; ``theory``
runs the recurrence; ``counting`` runs the all-ones copy (:func:`usage_map`,
:func:`gradient_support`, :func:`measure_field`) and lists the names of the nodes
(:func:`node_names`, like torchvision's ``get_graph_node_names``); ``effective`` measures the effective field;
``fits`` fits Gaussians and power laws (NumPy and SciPy only). Everything public is importable
from here.
"""

from cnncourse.receptive_field._graph import flatten_layers
from cnncourse.receptive_field.counting import (
    FieldMeasurement,
    gradient_support,
    measure_field,
    node_names,
    support_extent,
    usage_map,
)
from cnncourse.receptive_field.effective import conv_stack, effective_receptive_field
from cnncourse.receptive_field.errors import ReceptiveFieldError
from cnncourse.receptive_field.fits import GaussianFit, fit_gaussian, fit_power_law, mass_radius
from cnncourse.receptive_field.table import LayerField, ReceptiveField
from cnncourse.receptive_field.theory import receptive_field

__all__ = [
    "LayerField",
    "ReceptiveField",
    "receptive_field",
    "flatten_layers",
    "node_names",
    "ReceptiveFieldError",
    "usage_map",
    "gradient_support",
    "FieldMeasurement",
    "measure_field",
    "support_extent",
    "effective_receptive_field",
    "GaussianFit",
    "fit_gaussian",
    "mass_radius",
    "fit_power_law",
    "conv_stack",
]
