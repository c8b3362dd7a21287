"""Neural Photo Editor operations (Brock et al., ICLR 2017, section 2), for networks with encode/decode.

* ``paint``: the contextual paintbrush. The photo X is encoded to z and reconstructed, X_hat = G(z).
  The squared difference between the painted region of X_hat and the requested colour is
  backpropagated to z, and z takes a step against that gradient; the change of the reconstruction,
  Delta = G(z') - X_hat, is then carried to the photo by the interpolation mask.
* ``interpolation_mask``: M = min(g(|mean_c Delta|), 1), g a Gaussian blur: where the reconstruction
  changed, M ~ 1; elsewhere M ~ 0.
* ``apply_edit``: Y = X_hat + M * Delta + (1 - M) * (X - X_hat): the edit inside the mask, the
  original photo's detail (its reconstruction error) outside.

All images are (N, C, H, W) in the network's value range; masks are (N, 1, H, W), (1, H, W) or (H, W)
in [0, 1]; colours are given in [0, 1] per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genzoo._checks import check_count, check_number, check_tensor


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) with standard deviation ``sigma`` pixels (replicate border)."""
    images = check_tensor(images, ("N", "C", "H", "W"), "images")
    if check_number(sigma, "sigma", minimum=0) == 0:
        return images
    radius = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def interpolation_mask(delta: torch.Tensor, sigma: float = 2.0, gain: float = 1.0) -> torch.Tensor:
    """M = min(gain * g(|mean_c Delta|), 1), shape (N, 1, H, W), for a change Delta of shape (N, C, H, W)."""
    delta = check_tensor(delta, ("N", "C", "H", "W"), "delta", "changes of images")
    gain = check_number(gain, "gain", minimum=0)
    return (gain * gaussian_blur(delta.mean(dim=1, keepdim=True).abs(), sigma)).clamp(max=1.0)


def apply_edit(x: torch.Tensor, x_hat: torch.Tensor, delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Y = X_hat + M * Delta + (1 - M) * (X - X_hat)."""
    for name, images in (("x", x), ("x_hat", x_hat), ("delta", delta)):
        check_tensor(images, ("N", "C", "H", "W"), name)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a tensor (N, 1, H, W) with values in [0, 1], got {type(mask).__name__}")
    if mask.dim() > 4 or any(m not in (1, s) for m, s in zip(reversed(mask.shape), reversed(x.shape))):
        raise ValueError(f"mask must broadcast to x's shape {tuple(x.shape)}, e.g. (N, 1, H, W); got {tuple(mask.shape)}")
    if not (x.shape == x_hat.shape == delta.shape):
        raise ValueError(f"x, x_hat and delta must have one shape, got {tuple(x.shape)}, {tuple(x_hat.shape)}, {tuple(delta.shape)}")
    return x_hat + mask * delta + (1 - mask) * (x - x_hat)


@dataclass
class PaintResult:
    image: torch.Tensor  # Y, the edited photo (N, C, H, W)
    latent: torch.Tensor  # z after the step (N, latent_dim)
    reconstruction: torch.Tensor  # X_hat = G(z) before the step
    edited_reconstruction: torch.Tensor  # G(z') after the step
    mask: torch.Tensor  # M (N, 1, H, W)


def _brush_mask(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(mask):
        raise TypeError(f"mask must be a tensor, got {type(mask).__name__}")
    n, _, h, w = x.shape
    if mask.dim() == 2:
        mask = mask[None, None]
    elif mask.dim() == 3:
        mask = mask[:, None] if mask.shape[0] == n and mask.shape[0] != 1 else mask[None]
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != (h, w) or mask.shape[0] not in (1, n):
        raise ValueError(f"mask must be (H, W), (N, H, W) or (N, 1, H, W) with H, W = {h}, {w}; got {tuple(mask.shape)}")
    mask = mask.to(x.device, x.dtype)
    if not torch.isfinite(mask).all() or (mask < 0).any() or (mask > 1).any():
        raise ValueError("mask values must lie in [0, 1]")
    if mask.sum() == 0:
        raise ValueError("mask is empty: paint at least one pixel")
    return mask.expand(n, 1, h, w)


def _colour(rgb: Sequence[float] | torch.Tensor, network, x: torch.Tensor) -> torch.Tensor:
    if isinstance(rgb, (str, bytes)):
        raise TypeError(f"rgb must be {x.shape[1]} numbers in [0, 1] (one per channel), got the string {rgb!r}")
    try:  # checked in float32, then cast to the images' dtype
        colour = torch.as_tensor(rgb, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"rgb must be {x.shape[1]} numbers in [0, 1] (one per channel), got {rgb!r}") from err
    if colour.numel() != x.shape[1]:
        raise ValueError(f"rgb needs {x.shape[1]} values (one per channel, in [0, 1]), got {colour.numel()}")
    if not torch.isfinite(colour).all() or (colour < 0).any() or (colour > 1).any():
        raise ValueError(f"rgb values must lie in [0, 1], got {colour.tolist()}")
    low, high = network.value_range
    return (low + (high - low) * colour).view(1, -1, 1, 1).to(x.device, x.dtype)


def paint(
    network,
    x: torch.Tensor,
    rgb: Sequence[float] | torch.Tensor,
    mask: torch.Tensor,
    step_size: float = 0.5,
    steps: int = 1,
    blur_sigma: float = 2.0,
    mask_gain: float = 1.0,
    latent: torch.Tensor | None = None,
) -> PaintResult:
    """One contextual-paintbrush stroke: paint ``mask`` of photos ``x`` with colour ``rgb``.

    Each of ``steps`` steps moves z by ``step_size`` (in latent units, along the normalized negative
    gradient of the mean squared colour error inside the mask). ``latent`` resumes from an earlier
    stroke's latent instead of encoding ``x`` again. Returns a ``PaintResult``; ``.image`` is Y.
    """
    if not all(hasattr(network, attr) for attr in ("encode", "decode", "generator", "_images", "_latents")):
        raise TypeError(f"network must be an encoder-decoder such as IAN (with encode and decode), got {type(network).__name__}")
    steps = check_count(steps, "steps", "brush steps")
    step_size = check_number(step_size, "step_size", minimum=0)
    blur_sigma = check_number(blur_sigma, "blur_sigma", minimum=0)
    mask_gain = check_number(mask_gain, "mask_gain", minimum=0)
    x = network._images(x)
    brush = _brush_mask(mask, x)
    target = _colour(rgb, network, x)
    z = network.encode(x) if latent is None else network._latents(latent, "latent")
    if len(z) != len(x):
        raise ValueError(f"latent must have one row per image of x ({len(x)}), got {len(z)}")
    x_hat = network.decode(z)
    was_training = network.training
    network.eval()
    try:
        with torch.enable_grad():
            for _ in range(steps):
                z = z.detach().requires_grad_(True)
                error = (brush * (network.generator(z) - target) ** 2).flatten(1).sum(1) / brush.flatten(1).sum(1)
                (grad,) = torch.autograd.grad(error.sum(), z)
                # The normalization runs in float32: in float16 the squares of small gradients underflow to 0
                # and so does the 1e-12 floor, and the step becomes inf / NaN.
                grad = grad.float()
                norm = grad.flatten(1).norm(dim=1, keepdim=True).clamp_min(1e-12)
                z = (z.float() - step_size * grad / norm).to(z.dtype)
    finally:
        network.train(was_training)
    z = z.detach()
    edited = network.decode(z)
    delta = edited - x_hat
    m = interpolation_mask(delta, blur_sigma, mask_gain)
    return PaintResult(apply_edit(x, x_hat, delta, m), z, x_hat, edited, m)
