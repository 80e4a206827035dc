"""Kernel filtering from scratch: sliding-window correlation, edge handling, classic kernels.

What a convolutional layer computes at one output position is a *sum of products*: lay a
small grid of weights (the kernel) over a patch of the image, multiply the numbers that lie
on top of each other and add the products up. Sliding the kernel over every position gives
the output image, the feature map.

This module writes that computation out so it can be read:

* :func:`correlate2d` slides the kernel without flipping it (cross-correlation, what
  ``torch.nn.functional.conv2d`` and every CNN layer compute);
* :func:`convolve2d` flips the kernel first (the convolution of mathematics and signal
  processing);
* :func:`pad` implements the edge modes ``"zero"``, ``"crop"`` and ``"extend"``;
* :func:`output_size` is the arithmetic ``floor((n + 2p - k) / s) + 1`` (the one of
  :mod:`cnncourse.geometry`, importable from here);
* :data:`KERNELS` and :func:`get_kernel` hold the classic hand-made kernels, and
  :func:`edge_candidates` the four candidate edge kernels of lesson 6;
* :func:`sobel_gradients`, :func:`gradient_magnitude` and :func:`gradient_direction` turn
  the Sobel pair into an image gradient.

Images may be one image ``(H, W)``, a batch ``(N, H, W)`` or a multi-channel batch
``(N, C, H, W)``; torch tensors and NumPy arrays are accepted (results are torch tensors).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from cnncourse._checks import (
    FLOAT32_MAX,
    check_choice,
    check_float,
    check_int,
    check_mapping,
    check_nonempty,
    check_pair,
    check_text,
    describe,
)
from cnncourse._checks import as_tensor as _as_tensor
from cnncourse._text import text_table
from cnncourse.geometry import checked_output_size, output_size

__all__ = ["EDGE_MODES", "ArrayLike", "as_tensor", "output_size", "pad", "correlate2d", "correlate2d_loops",
           "flip_kernel", "convolve2d", "im2col", "correlate2d_matmul", "conv2d_gradients",
           "compose_kernels", "oriented_edges", "template_fit", "uncovered_pixels", "box_blur",
           "gaussian_kernel", "identity_kernel", "sharpen", "laplacian", "sobel_x", "sobel_y",
           "diagonal_edge", "KERNELS", "get_kernel", "edge_candidates", "kernel_sum", "step_edge",
           "response_table", "format_table", "sobel_gradients", "gradient_magnitude", "gradient_direction"]

EDGE_MODES: tuple[str, ...] = ("zero", "crop", "extend")
"""How the border is handled: zero padding, cropping ("valid"), extension (replicate)."""

ArrayLike = "torch.Tensor | np.ndarray"


# --------------------------------------------------------------------------- argument checks
def as_tensor(x: object, name: str = "x") -> torch.Tensor:
    """Turn a torch tensor, NumPy array or nested list into a floating-point tensor.

    Integer and boolean inputs (e.g. ``uint8`` pixels) become ``float32``; floating
    tensors keep their dtype (``cnncourse._checks.as_tensor`` with ``dtype="floating"``).
    ``name`` is the argument's name in the messages (``x`` unless the caller says).

    Raises
    ------
    TypeError
        If ``x`` is not array-like or holds complex or non-numeric values.
    """
    return _as_tensor(x, name, dtype="floating")


def _kernel_tensor(kernel: object, name: str, image: torch.Tensor) -> torch.Tensor:
    """``kernel`` as a floating tensor with at least one tap along its last two axes; a
    meta kernel (no numbers to move to the image's device) only for a meta image."""
    w = _as_tensor(kernel, name, dtype="floating", numbers=image.device.type != "meta")
    if w.ndim >= 2:
        check_nonempty(w, name, axes=(-2, -1))
    return w


def _check_window(x: torch.Tensor, name: str, kh: int, kw: int, ph: int, pw: int, window: str,
                  extra: str = "") -> None:
    """Refuse a window larger than the padded image, naming both (before ``output_size``
    would, with its own names)."""
    H, W = x.shape[-2:]
    if kh > H + 2 * ph or kw > W + 2 * pw:
        raise ValueError(
            f"{window} {kh}x{kw} is larger than the padded {name} {H + 2 * ph}x{W + 2 * pw} "
            f"({name} {H}x{W} of shape {tuple(x.shape)}, padding {ph}x{pw}{extra})")


def _check_edge(edge: object) -> str:
    return check_choice(edge, "edge", EDGE_MODES)


# --------------------------------------------------------------------------- edges
def pad(image: ArrayLike, padding: int | tuple[int, int], edge: str = "zero") -> torch.Tensor:
    """Add ``padding`` pixels around the last two axes of ``image``.

    Parameters
    ----------
    image
        ``(..., H, W)`` tensor or array.
    padding
        Pixels added on each side: one int for both axes, or ``(rows, cols)``.
    edge
        ``"zero"`` fills with zeros (black); ``"extend"`` repeats the nearest border pixel,
        so sides are extended in lines and each corner pixel fills a 90-degree wedge;
        ``"crop"`` adds nothing and requires ``padding == 0``.

    Returns
    -------
    torch.Tensor
        ``(..., H + 2 * rows, W + 2 * cols)``.
    """
    x = as_tensor(image, "image")
    edge = _check_edge(edge)
    if x.ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (H, W), got {describe(x)}")
    ph, pw = check_pair(padding, "padding", minimum=0)
    if edge == "crop":
        if ph or pw:
            raise ValueError(f"padding must be 0 with edge='crop' (cropping adds no border), got {padding!r}")
        return x
    if edge == "zero":
        out = x.new_zeros(*x.shape[:-2], x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw)
        out[..., ph:ph + x.shape[-2], pw:pw + x.shape[-1]] = x
        return out
    # extend: index every output pixel back to the nearest pixel inside the image
    rows = torch.arange(-ph, x.shape[-2] + ph).clamp(0, x.shape[-2] - 1)
    cols = torch.arange(-pw, x.shape[-1] + pw).clamp(0, x.shape[-1] - 1)
    return x[..., rows, :][..., :, cols]


def _standardize_inputs(image: ArrayLike, kernel: ArrayLike, names: tuple[str, str] = ("image", "kernel")
                        ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Return ``(x, w, ndim)`` with ``x`` as ``(N, C, H, W)`` and ``w`` as ``(O, C, kh, kw)``;
    ``names`` are the caller's names of the two arguments, for the messages."""
    iname, kname = names
    x = as_tensor(image, iname)
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"{iname} must have shape (H, W), (N, H, W) or (N, C, H, W), got {x.ndim} dimensions: "
            f"{describe(x)}"
        )
    check_nonempty(x, iname, axes=(-2, -1))
    w = _kernel_tensor(kernel, kname, x)
    if x.ndim in (2, 3):
        if w.ndim != 2:
            raise ValueError(
                f"{kname} must be 2-D (k_h, k_w) for an {iname} of shape {tuple(x.shape)}, "
                f"got {describe(w)}"
            )
    elif w.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(
                f"{kname} of shape {tuple(w.shape)} is 2-D but {iname} has {x.shape[1]} channels: "
                "use a (C_out, C_in, k_h, k_w) kernel for multi-channel images"
            )
    elif w.ndim != 4:
        raise ValueError(
            f"{kname} must have shape (C_out, C_in, k_h, k_w) for an {iname} of shape "
            f"{tuple(x.shape)}, got {describe(w)}"
        )
    elif w.shape[1] != x.shape[1]:
        raise ValueError(
            f"{kname} has C_in = {w.shape[1]} input channels but {iname} has C = {x.shape[1]}"
        )
    dtype = torch.promote_types(x.dtype, w.dtype)
    ndim = x.ndim
    x = x.to(dtype).reshape(-1, *x.shape[-3:]) if ndim == 4 else x.to(dtype).reshape(-1, 1, *x.shape[-2:])
    w = w.to(dtype=dtype, device=x.device)
    w = w.reshape(1, 1, *w.shape) if w.ndim == 2 else w
    return x, w, ndim


def correlate2d(image: ArrayLike, kernel: ArrayLike, edge: str = "zero", stride: int = 1,
                padding: int | tuple[int, int] | None = None,
                bias: ArrayLike | None = None) -> torch.Tensor:
    """Slide ``kernel`` over ``image`` and sum the products: 2-D cross-correlation.

    Output pixel ``(i, j)`` is ``sum_{a, b} kernel[a, b] * padded[i*s + a, j*s + b]``,
    the kernel laid on the (padded) image with its top-left tap at ``(i*s, j*s)``, *not*
    flipped. This is what ``torch.nn.functional.conv2d`` computes, and
    ``scipy.ndimage.correlate`` with ``mode="constant"`` (zero) or ``mode="nearest"``
    (extend).

    The implementation loops over the ``k_h * k_w`` kernel taps rather than over the
    output pixels: tap ``(a, b)`` multiplies the image shifted by ``(a, b)`` by one weight,
    and adding these weighted, shifted copies gives every sum of products at once. The
    arithmetic is the same as the per-pixel loop, and fast enough for a 512x512 photo.

    Parameters
    ----------
    image
        ``(H, W)``, ``(N, H, W)`` or ``(N, C, H, W)``.
    kernel
        ``(k_h, k_w)`` for 2-D and 3-D images (and 4-D images with one channel), or
        ``(C_out, C_in, k_h, k_w)`` for ``(N, C_in, H, W)`` images; each output channel
        sums over all input channels, as in a convolutional layer. The kernel (and
        ``bias``) are moved to the image's device (and a common dtype), so a
        kernel built on the CPU filters an image on the GPU.
    edge
        ``"zero"`` (zero padding, output as large as the input at stride 1), ``"crop"``
        ("valid": only positions where the kernel lies inside the image) or ``"extend"``
        (replicate the nearest border pixel).
    stride
        Step between kernel positions (positive int or ``(rows, cols)``).
    padding
        Pixels added on each side. ``None`` (default) means ``(k - 1) // 2`` for ``"zero"``
        and ``"extend"``, which keeps the size at stride 1 and needs an odd (centred)
        kernel, and 0 for ``"crop"``.
    bias
        Optional ``(C_out,)`` values added to each output channel.

    Returns
    -------
    torch.Tensor
        Same leading shape as ``image`` (``C_out`` channels for 4-D input), spatial size
        ``output_size(H, k_h, p, s) x output_size(W, k_w, p, s)``.

    Raises
    ------
    ValueError
        Unknown edge mode, non-positive stride, wrong rank, an even kernel where a
        centred one is needed, or a kernel larger than the padded image.
    TypeError
        If an input is not array-like or a size is not an int.
    """
    return _correlate2d(image, kernel, edge, stride, padding, bias)


def _correlate2d(image: ArrayLike, kernel: ArrayLike, edge: str = "zero", stride: int = 1,
                 padding: int | tuple[int, int] | None = None, bias: ArrayLike | None = None,
                 names: tuple[str, str] = ("image", "kernel")) -> torch.Tensor:
    """:func:`correlate2d`, whose messages call the image and the kernel by ``names`` (the
    caller's names for them, e.g. ``("images['a']", "kernels['sobel']")``)."""
    edge = _check_edge(edge)
    sh, sw = check_pair(stride, "stride", minimum=1)
    x, w, ndim = _standardize_inputs(image, kernel, names)
    kh, kw = w.shape[-2:]
    if padding is None:
        if edge != "crop" and (kh % 2 == 0 or kw % 2 == 0):
            raise ValueError(
                f"kernel has spatial size {kh}x{kw} with an even side: edge={edge!r} centres the kernel on each pixel and needs odd "
                "sides (3, 5, ...); use edge='crop' or give padding explicitly"
            )
        ph, pw = (0, 0) if edge == "crop" else ((kh - 1) // 2, (kw - 1) // 2)
    else:
        ph, pw = check_pair(padding, "padding", minimum=0)
        if edge == "crop" and (ph or pw):
            raise ValueError(f"padding must be 0 with edge='crop', got {padding!r}")
    H, W = x.shape[-2:]
    _check_window(x, names[0], kh, kw, ph, pw, f"{names[1]} of size", extra=f", edge={edge!r}")
    out_h, out_w = output_size(H, kh, ph, sh), output_size(W, kw, pw, sw)
    xp = pad(x, (ph, pw), edge) if (ph or pw) else x

    out = x.new_zeros(x.shape[0], w.shape[0], out_h, out_w)
    for a in range(kh):            # one kernel row ...
        for b in range(kw):        # ... and one column at a time: the tap (a, b)
            # the pixel under tap (a, b) for every output position (i, j): xp[i*s + a, j*s + b]
            under_tap = xp[:, :, a:a + sh * (out_h - 1) + 1:sh, b:b + sw * (out_w - 1) + 1:sw]
            # weight times pixel, summed over input channels, for every output channel
            out += torch.einsum("oc,nchw->nohw", w[:, :, a, b], under_tap)
    if bias is not None:
        bb = _as_tensor(bias, "bias", dtype="floating", numbers=out.device.type != "meta")
        if bb.numel() != out.shape[1]:
            raise ValueError(f"bias must have {out.shape[1]} values (one per output channel), got "
                             f"{describe(bb)}")
        out += bb.to(dtype=out.dtype, device=out.device).reshape(1, -1, 1, 1)
    if ndim == 2:
        return out[0, 0]
    if ndim == 3:
        return out[:, 0]
    return out


def correlate2d_loops(image: ArrayLike, kernel: ArrayLike) -> torch.Tensor:
    """The textbook version: one sum of products per output pixel ("crop" mode, stride 1).

    Slow (a Python loop over every output pixel) and only for one 2-D image and a 2-D
    kernel; it is here so the definition can be read in four lines and tested against
    :func:`correlate2d`.
    """
    x = _as_tensor(image, "image", dtype="floating", numbers=True)
    w = _as_tensor(kernel, "kernel", dtype="floating", numbers=True)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"image and kernel must both be 2-D, got {describe(x)} and {describe(w)}")
    kh, kw = w.shape
    if kh > x.shape[0] or kw > x.shape[1]:
        raise ValueError(f"kernel of size {kh}x{kw} is larger than the image {tuple(x.shape)}")
    out = torch.zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1, dtype=torch.promote_types(x.dtype, w.dtype))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * w).sum()
    return out


def flip_kernel(kernel: ArrayLike) -> torch.Tensor:
    """Rotate a kernel by 180 degrees (flip both spatial axes, the last two)."""
    w = as_tensor(kernel, "kernel")
    if w.ndim < 2:
        raise ValueError(f"kernel must have at least 2 dimensions, got {describe(w)}")
    return torch.flip(w, dims=(-2, -1))


def convolve2d(image: ArrayLike, kernel: ArrayLike, edge: str = "zero", stride: int = 1,
               padding: int | tuple[int, int] | None = None) -> torch.Tensor:
    """True 2-D convolution: :func:`correlate2d` with the kernel rotated by 180 degrees.

    Mathematics defines convolution with the flip, which makes it commutative and
    associative; CNN layers skip the flip. For a symmetric kernel (box blur, Gaussian,
    Laplacian) both are the same; for the Sobel kernels the flip changes the sign.
    """
    return correlate2d(image, flip_kernel(kernel), edge=edge, stride=stride, padding=padding)


# --------------------------------------------------------------------------- as a matrix product
def _nchw(image: ArrayLike, name: str = "image") -> torch.Tensor:
    x = as_tensor(image, name)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {describe(x)}")
    return check_nonempty(x, name, axes=(-2, -1))


def im2col(image: ArrayLike, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """Every window the kernel visits, as one column of a matrix ("image to columns").

    Column ``l`` (output position ``(i, j)`` in row-major order) holds the ``C * k_h * k_w``
    pixels under the kernel at that position, ordered channel, kernel row, kernel column:
    the order of ``weight.reshape(C_out, -1)``. The same result as
    ``torch.nn.functional.unfold``, computed here tap by tap like :func:`correlate2d`.

    Parameters
    ----------
    image
        ``(N, C, H, W)``.
    kernel_size, stride, padding
        Ints or ``(rows, cols)`` pairs; zero padding on each side.

    Returns
    -------
    torch.Tensor
        ``(N, C * k_h * k_w, L)`` with ``L = H_out * W_out`` (see :func:`output_size`).

    Raises
    ------
    ValueError
        Wrong rank, non-positive kernel size or stride, negative padding, or a kernel
        larger than the padded image.
    """
    x = _nchw(image)
    kh, kw = check_pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = check_pair(stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
    _check_window(x, "image", kh, kw, ph, pw, "kernel_size")
    out_h = output_size(x.shape[-2], kh, ph, sh)
    out_w = output_size(x.shape[-1], kw, pw, sw)
    xp = pad(x, (ph, pw), "zero") if (ph or pw) else x
    taps = [xp[:, :, a:a + sh * (out_h - 1) + 1:sh, b:b + sw * (out_w - 1) + 1:sw]
            for a in range(kh) for b in range(kw)]
    cols = torch.stack(taps, dim=2)                      # (N, C, kh*kw, out_h, out_w)
    return cols.reshape(x.shape[0], x.shape[1] * kh * kw, out_h * out_w)


def correlate2d_matmul(image: ArrayLike, kernel: ArrayLike, stride: int | tuple[int, int] = 1,
                       padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """A convolutional layer as one matrix product: ``weight matrix @ im2col(image)``.

    The kernel ``(C_out, C_in, k_h, k_w)`` becomes a ``(C_out, C_in * k_h * k_w)`` matrix,
    each row one filter; the image becomes the columns of :func:`im2col`; their product
    holds every output value, and a reshape lays it out as ``(N, C_out, H_out, W_out)``.
    Equal to ``torch.nn.functional.conv2d(image, kernel, stride=stride, padding=padding)``.

    Raises
    ------
    ValueError
        Wrong ranks, mismatched channels, or the conditions of :func:`im2col`.
    """
    x = _nchw(image)
    w = _kernel_tensor(kernel, "kernel", x)
    if w.ndim != 4:
        raise ValueError(f"kernel must have shape (C_out, C_in, k_h, k_w), got {describe(w)}")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"kernel has C_in = {w.shape[1]} input channels but image has C = {x.shape[1]}")
    dtype = torch.promote_types(x.dtype, w.dtype)
    x, w = x.to(dtype), w.to(dtype=dtype, device=x.device)
    sh, sw = check_pair(stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
    _check_window(x, "image", w.shape[-2], w.shape[-1], ph, pw, "kernel of size")
    cols = im2col(x, tuple(w.shape[-2:]), (sh, sw), (ph, pw))
    out = w.reshape(w.shape[0], cols.shape[1]) @ cols     # (N, C_out, L)
    out_h = output_size(x.shape[-2], w.shape[-2], ph, sh)
    out_w = output_size(x.shape[-1], w.shape[-1], pw, sw)
    return out.reshape(x.shape[0], w.shape[0], out_h, out_w)


def conv2d_gradients(image: ArrayLike, kernel: ArrayLike, grad_output: ArrayLike,
                     padding: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The two gradients of a stride-1 convolutional layer, each computed as a correlation.

    For ``y = conv2d(x, w, padding=p)`` and the gradient ``g = dL/dy`` of a loss:

    * ``dL/dw[o, c] = correlate(x_padded[:, c], g[:, o])``, summed over the batch: the
      input correlated with the output gradient;
    * ``dL/dx = correlate(g zero-padded by k - 1, w rotated by 180 degrees)`` with the
      roles of ``C_in`` and ``C_out`` swapped, then the ``p`` padded border rows and
      columns cropped: a "full" correlation with the flipped kernel.

    Backpropagation through a convolution is therefore itself a convolution; the results
    equal PyTorch's autograd (``torch.autograd.grad``).

    Parameters
    ----------
    image
        ``x``, ``(N, C_in, H, W)``.
    kernel
        ``w``, ``(C_out, C_in, k, k)`` (square or not).
    grad_output
        ``g``, ``(N, C_out, H_out, W_out)`` with the output shape of the layer.
    padding
        Zero padding ``p`` on each side, at most ``k - 1``.

    Returns
    -------
    (grad_image, grad_kernel)
        Tensors shaped like ``image`` and ``kernel``.

    Raises
    ------
    ValueError
        Wrong ranks or mismatched shapes, or padding larger than ``k - 1``.
    """
    x = _nchw(image)
    w = _kernel_tensor(kernel, "kernel", x)
    g = _nchw(_as_tensor(grad_output, "grad_output", numbers=True), "grad_output")
    ph, pw = check_pair(padding, "padding", minimum=0)
    if w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(f"kernel must have shape (C_out, {x.shape[1]}, k_h, k_w) for an image of shape "
                         f"{tuple(x.shape)}, got {describe(w)}")
    kh, kw = w.shape[-2:]
    if ph > kh - 1 or pw > kw - 1:
        raise ValueError(f"padding must be at most k - 1 = ({kh - 1}, {kw - 1}), got {padding!r}")
    _check_window(x, "image", kh, kw, ph, pw, "kernel of size")
    expected = (x.shape[0], w.shape[0], output_size(x.shape[-2], kh, ph), output_size(x.shape[-1], kw, pw))
    if tuple(g.shape) != expected:
        raise ValueError(f"grad_output must have the layer's output shape {expected} (image of shape "
                         f"{tuple(x.shape)}, kernel of shape {tuple(w.shape)}, padding {padding!r}), "
                         f"got {tuple(g.shape)}")
    dtype = torch.promote_types(torch.promote_types(x.dtype, w.dtype), g.dtype)
    x, w, g = x.to(dtype), w.to(dtype=dtype, device=x.device), g.to(dtype=dtype, device=x.device)
    xp = pad(x, (ph, pw), "zero") if (ph or pw) else x
    # weight gradient: batch plays the role of the channels that are summed over
    grad_w = correlate2d(xp.transpose(0, 1), g.transpose(0, 1), edge="crop").transpose(0, 1)
    # input gradient: full correlation of g with the flipped kernel, C_in and C_out swapped
    full = correlate2d(g, flip_kernel(w).transpose(0, 1), edge="zero", padding=(kh - 1, kw - 1))
    grad_x = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    return grad_x, grad_w


def compose_kernels(first: ArrayLike, second: ArrayLike) -> torch.Tensor:
    """The single kernel equal to correlating with ``first`` and then with ``second``.

    Two correlations in a row (no padding, stride 1, no bias, nothing in between) are one
    correlation with a larger kernel of side ``k1 + k2 - 1``:
    ``c[o, i, t] = sum_{m, b} second[o, m, b] * first[m, i, t - b]``. So a stack of
    linear 3x3 layers is no more expressive than one 7x7 layer; only a non-linearity in
    between makes it more.

    Parameters
    ----------
    first
        ``(C_mid, C_in, k1_h, k1_w)`` or a 2-D kernel.
    second
        ``(C_out, C_mid, k2_h, k2_w)`` or a 2-D kernel.

    Returns
    -------
    torch.Tensor
        ``(C_out, C_in, k1_h + k2_h - 1, k1_w + k2_w - 1)``, or 2-D when both inputs are.

    Raises
    ------
    ValueError
        Wrong ranks or mismatched middle channels.
    """
    a = as_tensor(first, "first")
    b = _kernel_tensor(second, "second", a)
    for name, t in (("first", a), ("second", b)):
        if t.ndim not in (2, 4):
            raise ValueError(f"{name} must be a 2-D or 4-D kernel, got {describe(t)}")
        check_nonempty(t, name)
    flat = a.ndim == 2 and b.ndim == 2
    a = a[None, None] if a.ndim == 2 else a
    b = b[None, None] if b.ndim == 2 else b
    if b.shape[1] != a.shape[0]:
        raise ValueError(f"second has C_mid = {b.shape[1]} input channels but first has {a.shape[0]} outputs")
    dtype = torch.promote_types(a.dtype, b.dtype)
    a, b = a.to(dtype), b.to(dtype=dtype, device=a.device)
    kh, kw = b.shape[-2:]
    c = correlate2d(a.transpose(0, 1), flip_kernel(b), edge="zero", padding=(kh - 1, kw - 1))
    c = c.transpose(0, 1)
    return c[0, 0] if flat else c


def oriented_edges(size: int = 5, n_orientations: int = 8) -> torch.Tensor:
    """Step-edge templates at evenly spaced orientations, zero-mean and of unit norm.

    Template ``i`` is ``sign(x cos t + y sin t)`` on a ``size x size`` grid centred on 0,
    with ``t = i * pi / n_orientations`` (0 on the edge line itself): light on one side,
    dark on the other. Orientations ``t`` and ``t + pi`` differ only in sign, so half a turn
    covers all edges up to polarity.

    Returns
    -------
    torch.Tensor
        ``(n_orientations, size, size)``, float32.

    Raises
    ------
    TypeError, ValueError
        For a size below 2 or fewer than 1 orientation.
    """
    size = check_int(size, "size", minimum=2)
    n = check_int(n_orientations, "n_orientations", minimum=1)
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    templates = []
    for i in range(n):
        t = math.pi * i / n
        proj = xx * math.cos(t) + yy * math.sin(t)
        proj = torch.where(proj.abs() < 1e-9, torch.zeros_like(proj), proj)
        edge = torch.sign(proj)
        edge = edge - edge.mean()
        templates.append(edge / edge.norm())
    return torch.stack(templates).to(torch.float32)


def template_fit(filters: ArrayLike, templates: ArrayLike) -> torch.Tensor:
    """How well each filter matches its best template, up to sign and scale.

    The score of a filter is ``max_t |<f - mean(f), t>| / ||f - mean(f)||`` over the
    (zero-mean, unit-norm) templates ``t``: the absolute cosine similarity with the best
    one, 1 for a filter that is a scaled template plus a constant, near
    ``sqrt(2 log(2 T) / (k*k))`` for random weights. For filters with several input
    channels the channels are summed first.

    Parameters
    ----------
    filters
        ``(F, k, k)`` or ``(F, C, k, k)``.
    templates
        ``(T, k, k)``, e.g. :func:`oriented_edges`.

    Returns
    -------
    torch.Tensor
        ``(F,)`` scores in [0, 1].

    Raises
    ------
    ValueError
        Wrong ranks or different spatial sizes, no templates, or a constant template (it
        has no direction to match once its mean is removed).
    """
    f = as_tensor(filters, "filters").to(torch.float64)
    raw = as_tensor(templates, "templates")
    t = raw.to(torch.float64)
    if f.ndim == 4:
        f = f.sum(dim=1)
    if f.ndim != 3 or t.ndim != 3 or f.shape[-2:] != t.shape[-2:]:
        raise ValueError(f"filters must be (F, k, k) or (F, C, k, k) and templates (T, k, k) with the "
                         f"same k, got shapes {tuple(f.shape)} and {tuple(t.shape)}")
    check_nonempty(t, "templates")
    f = f.flatten(1)
    f = f - f.mean(dim=1, keepdim=True)
    t = t.flatten(1)
    t = t - t.mean(dim=1, keepdim=True)
    norms = t.norm(dim=1, keepdim=True)
    if t.device.type != "meta" and bool((norms == 0).any()):
        flat = int((norms == 0).nonzero()[0, 0])
        raise ValueError(f"templates must not be constant: template {flat} of {describe(raw)} is "
                         "flat once its mean is removed, so it matches no direction")
    t = t / norms
    cos = (f @ t.T).abs() / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return cos.max(dim=1).values.to(torch.float32)


def uncovered_pixels(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    """Pixels of the image at the end of an axis that no kernel position covers.

    With ``n_out`` positions (:func:`output_size`), the last window starts at
    ``(n_out - 1) * stride`` of the padded axis, that is at ``(n_out - 1) * stride - padding``
    in image coordinates, and ends ``k - 1`` pixels later. The image pixels beyond it are never
    seen. Padding pixels left uncovered are not counted: they hold no image. 0 means every
    image pixel reaches the output.

    Parameters
    ----------
    n
        Length of the image axis, in pixels (positive).
    k
        Kernel size (positive, at most ``n + 2 * padding``).
    padding
        Zero padding on each side (non-negative).
    stride
        Step between kernel positions (positive).

    Returns
    -------
    int
        The number of uncovered image pixels, between 0 and ``stride - 1``.

    Raises
    ------
    TypeError, ValueError
        As :func:`output_size`, for arguments that are not integers in range.

    Examples
    --------
    >>> uncovered_pixels(28, 2, stride=2)   # 2x2 windows tile 28 pixels
    0
    >>> uncovered_pixels(28, 3, stride=2)   # 13 windows end at pixel 26: pixel 27 is lost
    1
    >>> uncovered_pixels(28, 3, padding=1, stride=2)  # the last window ends on pixel 27
    0
    """
    names = {"size": "n", "kernel_size": "k"}
    n_out = checked_output_size(n, k, padding, stride, names=names)
    last_end = (n_out - 1) * stride + k - 1 - padding   # image coordinates
    return max(0, n - 1 - last_end)


# --------------------------------------------------------------------------- classic kernels
def box_blur(size: int = 3) -> torch.Tensor:
    """Box (mean) blur: ``size x size`` equal weights summing to 1."""
    size = check_int(size, "size", minimum=1)
    return torch.full((size, size), 1.0 / size**2)


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> torch.Tensor:
    """Sampled 2-D Gaussian ``exp(-(x^2 + y^2) / (2 sigma^2))`` normalised to sum 1.

    ``size`` must be odd so the kernel has a centre.
    """
    size = check_int(size, "size", minimum=1)
    if size % 2 == 0:
        raise ValueError(f"size must be odd so the Gaussian has a centre pixel, got {size}")
    sigma = check_float(sigma, "sigma", minimum=0, exclusive_minimum=True)
    r = (torch.arange(size, dtype=torch.float64) - size // 2) / sigma  # in units of sigma: no
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / 2)           # overflow for any sigma
    return (g / g.sum()).to(torch.float32)


def identity_kernel(size: int = 3) -> torch.Tensor:
    """1 at the centre, 0 elsewhere: the output equals the input."""
    size = check_int(size, "size", minimum=1)
    if size % 2 == 0:
        raise ValueError(f"size must be odd, got {size}")
    k = torch.zeros(size, size)
    k[size // 2, size // 2] = 1.0
    return k


def sharpen() -> torch.Tensor:
    """Sharpen: the identity plus the Laplacian kernel (weights sum to 1)."""
    return torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])


def laplacian() -> torch.Tensor:
    """Four-neighbour Laplacian edge kernel ``[[0,-1,0],[-1,4,-1],[0,-1,0]]`` (sum 0).

    This is the *negative* of the discrete Laplacian ``d2/dx2 + d2/dy2``: it answers how
    much brighter a pixel is than the mean of its four neighbours (times 4).
    """
    return torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


def sobel_x() -> torch.Tensor:
    """Sobel kernel for change from left to right (responds to *vertical* edges).

    ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``: a central difference across columns,
    smoothed over three rows with weights 1-2-1 (Sobel and Feldman, 1968).
    """
    return torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_y() -> torch.Tensor:
    """Sobel kernel for change from top to bottom (responds to *horizontal* edges).

    ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``, the transpose of :func:`sobel_x`.
    """
    return sobel_x().T.contiguous()


def diagonal_edge() -> torch.Tensor:
    """A Sobel-like kernel for change from top-left to bottom-right (45-degree edges)."""
    return torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 2.0]])


KERNELS: dict[str, Callable[[], torch.Tensor]] = {
    "identity": identity_kernel,
    "box blur": box_blur,
    "gaussian blur": gaussian_kernel,
    "sharpen": sharpen,
    "laplacian": laplacian,
    "sobel x": sobel_x,
    "sobel y": sobel_y,
    "diagonal": diagonal_edge,
}
"""The classic hand-made kernels by name; each value builds a fresh tensor."""


def get_kernel(name: str) -> torch.Tensor:
    """A classic kernel by name (see :data:`KERNELS`)."""
    if name not in KERNELS:
        raise ValueError(f"name must be one of {sorted(KERNELS)}, got {name!r}")
    return KERNELS[name]()


def edge_candidates() -> dict[str, torch.Tensor]:
    """The four candidate edge kernels of lesson 6, labelled ``"a"`` to ``"d"``.

    Which of them detects horizontal and which vertical edges is for the lesson to find
    out by measuring their responses, so the docstring does not say.
    """
    return {"a": diagonal_edge(), "b": sobel_x(), "c": laplacian(), "d": sobel_y()}


def kernel_sum(kernel: ArrayLike) -> float:
    """Sum of a kernel's weights: 1 keeps flat regions' brightness, 0 maps them to 0."""
    return float(_as_tensor(kernel, "kernel", dtype="floating", numbers=True).sum())


# --------------------------------------------------------------------------- test images
def step_edge(size: int = 8, orientation: str = "horizontal", low: float = 0.0,
              high: float = 1.0, at: int | None = None) -> torch.Tensor:
    """A synthetic image with one straight step edge.

    ``"horizontal"``: rows ``< at`` are ``low`` (dark), the rest ``high`` (light), so the
    edge runs left-right. ``"vertical"``: columns ``< at`` dark, the rest light.
    ``"diagonal"``: pixels with ``row + col < size - 1`` dark (top-left half).

    Raises
    ------
    TypeError, ValueError
        For a size below 2, an unknown orientation, or a ``low`` or ``high`` that is not a
        finite number a float32 holds.
    """
    size = check_int(size, "size", minimum=2)
    at = size // 2 if at is None else check_int(at, "at", minimum=1)
    low = check_float(low, "low", minimum=-FLOAT32_MAX, maximum=FLOAT32_MAX)
    high = check_float(high, "high", minimum=-FLOAT32_MAX, maximum=FLOAT32_MAX)
    r = torch.arange(size)[:, None].expand(size, size)
    c = torch.arange(size)[None, :].expand(size, size)
    if orientation == "horizontal":
        light = r >= at
    elif orientation == "vertical":
        light = c >= at
    elif orientation == "diagonal":
        light = (r + c) >= size - 1
    else:
        raise ValueError(
            f"orientation must be 'horizontal', 'vertical' or 'diagonal', got {orientation!r}"
        )
    return torch.where(light, torch.tensor(float(high)), torch.tensor(float(low)))


def response_table(images: dict[str, ArrayLike], kernels: dict[str, ArrayLike],
                   edge: str = "crop") -> dict[str, dict[str, float]]:
    """Largest absolute response of every kernel on every image.

    Returns
    -------
    dict
        ``table[kernel_name][image_name] = max |correlate2d(image, kernel, edge)|``.
    """
    check_mapping(images, "images", nonempty=False)
    check_mapping(kernels, "kernels", nonempty=False)
    table: dict[str, dict[str, float]] = {}
    for kname, k in kernels.items():
        row = table[kname] = {}
        for iname, img in images.items():
            names = (f"images[{iname!r}]", f"kernels[{kname!r}]")  # the entry that fails, by name
            row[iname] = float(_correlate2d(img, k, edge, names=names).abs().max())
    return table


def format_table(table: dict[str, dict[str, float]], row_title: str = "", digits: int = 2) -> str:
    """A nested dict ``{row: {column: number}}`` as an aligned plain-text table.

    The columns are those of the first row; every row must have them.

    Raises
    ------
    TypeError
        For a ``table`` or a row that is not a dict, a number that is not a real number, or
        a ``row_title`` that is not a string.
    ValueError
        For a row without one of the columns, or ``digits`` below 0.
    """
    check_mapping(table, "table", nonempty=False)
    row_title = check_text(row_title, "row_title", nonempty=False)
    digits = check_int(digits, "digits", minimum=0)
    rows = list(table)
    for r in rows:
        check_mapping(table[r], f"table[{r!r}]", nonempty=False)
    cols = list(next(iter(table.values()))) if rows else []
    for r in rows:
        missing = [c for c in cols if c not in table[r]]
        if missing:
            raise ValueError(f"table[{r!r}] must have the columns of the first row {cols}, got "
                             f"no {missing[0]!r} in {describe(table[r])}")
    numbers = {(r, c): check_float(table[r][c], f"table[{r!r}][{c!r}]", finite=False) for r in rows for c in cols}
    cells = [[row_title, *map(str, cols)]] + [[str(r), *(f"{numbers[r, c]:.{digits}f}" for c in cols)] for r in rows]
    return "\n".join(text_table(cells, "<" + ">" * len(cols), min_widths=[0] + [digits + 6] * len(cols)))


# --------------------------------------------------------------------------- gradients
def sobel_gradients(image: ArrayLike, edge: str = "extend") -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical derivatives ``(gx, gy)`` of an image by the Sobel pair.

    ``gx`` is positive where the image gets brighter to the right, ``gy`` where it gets
    brighter downwards (rows grow downwards in an image).
    """
    return correlate2d(image, sobel_x(), edge=edge), correlate2d(image, sobel_y(), edge=edge)


def _gradient_pair(gx: ArrayLike, gy: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """``gx`` and ``gy`` as tensors of the same shape; a meta one only with another."""
    gx, gy = as_tensor(gx, "gx"), as_tensor(gy, "gy")
    if (gx.device.type == "meta") != (gy.device.type == "meta"):
        for name, t in (("gx", gx), ("gy", gy)):
            _as_tensor(t, name, numbers=True)
    if gx.shape != gy.shape:
        raise ValueError(f"gx and gy must have the same shape, got {describe(gx)} and {describe(gy)}")
    return gx, gy


def gradient_magnitude(gx: ArrayLike, gy: ArrayLike) -> torch.Tensor:
    """Edge strength ``sqrt(gx**2 + gy**2)``."""
    gx, gy = _gradient_pair(gx, gy)
    return torch.sqrt(gx**2 + gy**2)


def gradient_direction(gx: ArrayLike, gy: ArrayLike, degrees: bool = False) -> torch.Tensor:
    """Direction in which brightness grows fastest, ``atan2(gy, gx)``.

    0 points right (to the right is brighter), +90 degrees points *down* (since rows grow
    downwards), +-180 left, -90 up. Radians in ``(-pi, pi]`` unless ``degrees``.
    """
    gx, gy = _gradient_pair(gx, gy)
    theta = torch.atan2(gy, gx)
    return theta * (180.0 / math.pi) if degrees else theta
