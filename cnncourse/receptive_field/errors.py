"""The one error of :mod:`cnncourse.receptive_field`: a model, an operation or an input size
the analysers cannot handle. Its message names the node, the operation and what to do."""

from __future__ import annotations

__all__ = ["ReceptiveFieldError"]


class ReceptiveFieldError(ValueError):
    """A model the receptive-field analysers cannot follow.

    Raised when ``torch.fx`` cannot trace the model (the message names the module where it
    failed), for an operation without a fixed receptive field or that no rule knows (the
    message names the node as :func:`~cnncourse.receptive_field.node_names` gives it, and the
    operation), for branches that do not align, and for an input too small for a window. It
    is a ``ValueError``, so code that catches ``ValueError`` keeps working. The message says
    what to do: pass the part of the model before the node (``model.features``), or pass an
    untraceable module as a leaf module (``leaf_modules=[...]``).
    """
