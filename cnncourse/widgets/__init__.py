"""Interactive explorers and answer boxes that work in JupyterLab and on the static page.

The explorers are `anywidget <https://anywidget.dev>`_ widgets: Python holds their state (the
images, the kernel, the settings, and whatever needs PyTorch, such as a trained model's
effective receptive field, computed when the lesson runs), and an ES module computes and draws
in the browser. The same module runs in JupyterLab and on the published book, which has no
Python kernel, so the controls respond in both. Each explorer's Python attributes compute the
values the browser shows with :mod:`cnncourse.filters`, :mod:`cnncourse.pooling` and
:mod:`cnncourse.receptive_field` (the tests compare the two), and ``static_figure()`` draws a
few settings with matplotlib for print and for readers without JavaScript.

* :class:`KernelExplorer`: a 3x3 kernel (named or edited) slid over a digit or a photograph,
  with zero padding, cropping or extension, and one window's sum of products (lesson 5);
* :class:`PoolingExplorer`: max or average pooling with any window and stride, and what a
  1-pixel shift changes (lesson 7);
* :class:`ErfExplorer`: effective receptive fields for depth, kernel size and dilation, and
  of a trained network (lesson 9);
* :func:`answer_box`: instant feedback on an exercise from its checker's verdicts, embedded
  at build time without giving the answer away.
"""

from cnncourse.widgets._shared import CUSTOM, IMAGE_NAMES, PHOTO_NAMES, load_image, named_kernels
from cnncourse.widgets.answer import AnswerBox, answer_box, canonical
from cnncourse.widgets.erf import ERF_DILATIONS, ERF_KERNEL_SIZES, ERF_MAX_DEPTH, ERF_MAX_SIDE, ErfExplorer
from cnncourse.widgets.kernel import KernelExplorer
from cnncourse.widgets.pooling import PoolingExplorer

__all__ = [
    "IMAGE_NAMES",
    "PHOTO_NAMES",
    "CUSTOM",
    "load_image",
    "named_kernels",
    "KernelExplorer",
    "PoolingExplorer",
    "ErfExplorer",
    "ERF_KERNEL_SIZES",
    "ERF_DILATIONS",
    "ERF_MAX_DEPTH",
    "ERF_MAX_SIDE",
    "AnswerBox",
    "answer_box",
    "canonical",
]
