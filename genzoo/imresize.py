"""MATLAB-compatible bicubic ``imresize``: the resize the super-resolution protocol is defined with.

SRCNN, VDSR and the published Set5 tables make low-resolution inputs with MATLAB's
``imresize(img, 1/scale, 'bicubic')`` and upscale them back with ``imresize(img, scale, 'bicubic')``.
MATLAB's bicubic is Keys' cubic convolution with a = -0.5; when *downscaling* it antialiases by
stretching the kernel by 1/scale (so 16 taps per dimension at 1/4, not 4), pixel centres are aligned
(``u = x / scale + 0.5 (1 - 1 / scale)``) and borders are mirrored (``symmetric`` padding, the edge pixel
repeated). torch's ``interpolate(mode="bicubic")`` upscales with a = -0.75 and replicates border pixels, so
its results differ: on Set5, torch's bicubic (antialiased downscaling, then upscaling) gives a baseline
0.2 - 0.3 dB above the published one, this resize lands within 0.03 dB (README, "Evaluate";
``tests/test_sr.py`` measures both).

The resize is linear and separable: each dimension is one (out x in) weight matrix, so a resize is two
matrix products, done here in float64 (MATLAB computes in double) and returned in the input's dtype.
"""

from __future__ import annotations

import math

import torch


def cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    absx = x.abs()
    absx2, absx3 = absx**2, absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2))
    return near + far


def resize_matrix(in_length: int, out_length: int, scale: float, antialias: bool = True) -> torch.Tensor:
    """The (out_length, in_length) float64 matrix that resizes one dimension as MATLAB's imresize does."""
    kernel_width = 4.0
    stretch = scale < 1 and antialias
    if stretch:  # antialiasing: the kernel widened by 1/scale (and scaled to keep unit area)
        kernel_width /= scale
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # the input coordinate (1-based) of each output pixel centre
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]  # 1-based input pixels
    distance = u[:, None] - indices
    weights = scale * cubic(scale * distance) if stretch else cubic(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Symmetric padding: pixel 0 is pixel 1, pixel n+1 is pixel n, and so on (MATLAB's boundary rule).
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)])
    columns = mirror[(indices.long() - 1) % (2 * in_length)]
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    matrix.scatter_add_(1, columns, weights)
    return matrix


def imresize(images: torch.Tensor, scale: float | None = None, size: tuple[int, int] | None = None, antialias: bool = True) -> torch.Tensor:
    """Bicubic resize of ``images`` (..., H, W) by ``scale`` or to ``size`` = (H', W'), as MATLAB's imresize.

    With ``scale``, the output is ``ceil(H * scale)`` x ``ceil(W * scale)`` (MATLAB's rule) and the kernel
    positions use ``scale`` itself, so ``imresize(x, 1/3)`` matches MATLAB even when H is not a multiple of
    3. Values are not clamped (bicubic over- and undershoots, as in MATLAB for double images).
    """
    if (scale is None) == (size is None):
        raise ValueError("pass exactly one of scale and size")
    if not isinstance(images, torch.Tensor) or images.dim() < 2 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor (..., H, W), got {getattr(images, 'shape', type(images).__name__)}")
    height, width = images.shape[-2:]
    if size is not None:
        out_h, out_w = size
        scale_h, scale_w = out_h / height, out_w / width
    else:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        scale_h = scale_w = float(scale)
        # MATLAB: ceil(size * scale); the epsilon keeps e.g. 255 * (1/3) * 3 from becoming 256.
        out_h, out_w = math.ceil(height * scale - 1e-9), math.ceil(width * scale - 1e-9)
    rows = resize_matrix(height, out_h, scale_h, antialias).to(images.device)
    cols = resize_matrix(width, out_w, scale_w, antialias).to(images.device)
    result = rows @ images.to(torch.float64) @ cols.T
    return result.to(images.dtype)
