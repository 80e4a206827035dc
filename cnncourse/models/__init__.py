"""The networks of the course.

``cnncourse.models.mlp`` holds the multi-layer perceptrons, ``cnncourse.models.cnn`` the
convolutional networks; everything public is importable from ``cnncourse.models``.
"""

from cnncourse.models.cnn import *  # noqa: F403
from cnncourse.models.cnn import __all__ as _cnn_all
from cnncourse.models.mlp import *  # noqa: F403
from cnncourse.models.mlp import __all__ as _mlp_all

__all__ = [*_mlp_all, *_cnn_all]
