"""The image transformations of transformation-based interpolation (Ganin, seed 000, section 4.1), as pure functions.

Each maps an image batch (N, C, H, W) and per-pixel / per-image parameters to a new image batch, is
differentiable in all of its arguments, and is the identity for its neutral parameters (zero flow, an
all-ones keep mask):

- :func:`warp`, eq. (2): O(x, y) = I(x + F_x(x, y), y + F_y(x, y)), I bilinearly interpolated; the flow F is in
  pixels, so an integer flow moves pixels exactly. Positions outside the image read the nearest border pixel.
- :func:`recolor`, eq. (3): O = alpha * I + (1 - alpha) * (A I + b), A a (C, C) matrix and b a C-vector per image.
- :func:`blend`, eq. (4): O = alpha * I + (1 - alpha) * D, D a directly synthesized image.

:func:`lowres_noise` is the seed's trick for sampling spatial maps (eq. 8): the standard deviation map is
shrunk, multiplied by white noise there, and bilinearly upsampled back, so the noise is locally correlated and a
noisy flow field distorts the image smoothly instead of tearing it apart.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def warp(images: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Bilinear warping by a displacement field in pixels: out[.., y, x] = images[.., y + flow_y, x + flow_x].

    ``images``: (N, C, H, W); ``flow``: (N, 2, H, W), channel 0 the horizontal (x), channel 1 the vertical (y)
    displacement. Samples outside the image take the nearest border value.
    """
    n, _, height, width = images.shape
    if flow.shape != (n, 2, height, width):
        raise ValueError(f"flow must have shape {(n, 2, height, width)} for images {tuple(images.shape)}, got {tuple(flow.shape)}")
    ys, xs = torch.meshgrid(
        torch.arange(height, device=flow.device, dtype=flow.dtype),
        torch.arange(width, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    x = xs + flow[:, 0]
    y = ys + flow[:, 1]
    # grid_sample's normalized coordinates with align_corners=True: -1 and 1 are the centres of the corner
    # pixels, so pixel index i maps to 2 i / (size - 1) - 1 exactly (an integer flow samples pixel centres).
    grid = torch.stack((2.0 * x / max(width - 1, 1) - 1.0, 2.0 * y / max(height - 1, 1) - 1.0), dim=-1)
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="border", align_corners=True)


def recolor(images: torch.Tensor, keep: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Affine recolouring through a mask: keep * I + (1 - keep) * (matrix @ I + bias), per pixel.

    ``images``: (N, C, H, W); ``keep``: (N, 1, H, W) in [0, 1] (1 keeps the pixel); ``matrix``: (N, C, C);
    ``bias``: (N, C).
    """
    n, channels = images.shape[:2]
    if matrix.shape != (n, channels, channels) or bias.shape != (n, channels):
        raise ValueError(
            f"recolor needs matrix {(n, channels, channels)} and bias {(n, channels)} for images {tuple(images.shape)}, "
            f"got {tuple(matrix.shape)} and {tuple(bias.shape)}"
        )
    recolored = torch.einsum("ncd,ndhw->nchw", matrix, images) + bias[:, :, None, None]
    return keep * images + (1.0 - keep) * recolored


def blend(images: torch.Tensor, keep: torch.Tensor, synthesized: torch.Tensor) -> torch.Tensor:
    """Blending with a directly synthesized image: keep * I + (1 - keep) * D; ``keep`` (N, 1, H, W) in [0, 1]."""
    if synthesized.shape != images.shape:
        raise ValueError(f"synthesized image {tuple(synthesized.shape)} must match images {tuple(images.shape)}")
    return keep * images + (1.0 - keep) * synthesized


def lowres_noise(std: torch.Tensor, factor: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Spatially correlated Gaussian noise with a per-pixel scale (eq. 8): upsample(downsample(std) * eps).

    ``std``: (N, K, H, W) standard deviations; ``factor``: how much the map is shrunk before sampling (1 gives
    white noise: std * eps). The draw is on the CPU from ``generator`` (reproducible on every device), then
    moved to ``std``'s device. Downsampling is area averaging, upsampling bilinear.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    height, width = std.shape[-2:]
    small = F.adaptive_avg_pool2d(std, (max(1, height // factor), max(1, width // factor))) if factor > 1 else std
    eps = torch.randn(small.shape, generator=generator, dtype=torch.float32).to(std.device, std.dtype)
    noise = small * eps
    if factor > 1:
        noise = F.interpolate(noise, size=(height, width), mode="bilinear", align_corners=False)
    return noise


def gaussian_log_prob(sample: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(sample; mean, diag(std^2)), summed over every dimension but the first -> (N,).

    For the low-resolution noise of :func:`lowres_noise` this is the seed's "pretend" likelihood: the sample is
    scored as if drawn independently per pixel with ``std``, which gives the right direction for the policy
    gradient (mean towards good samples, std up or down) without a full covariance.
    """
    variance = std.pow(2)
    log_density = -0.5 * ((sample - mean).pow(2) / variance + torch.log(2.0 * torch.pi * variance))
    return log_density.flatten(1).sum(1)
