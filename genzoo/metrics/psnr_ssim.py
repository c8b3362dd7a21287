"""PSNR and SSIM of restored images against their references, with the super-resolution protocol.

Super-resolution papers (SRCNN, VDSR, ...) measure on the luma channel: Y of YCbCr (ITU-R BT.601,
MATLAB's ``rgb2ycbcr``: Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1], so Y is in
[16, 235] on a 0-255 scale) after cropping ``scale`` pixels from every border, with PSNR's peak 255,
and average PSNR and SSIM over images (not over pooled pixels). ``mode="rgb"`` measures all three
channels on the 0-255 scale instead (and ``crop_border`` is then usually 0).

Both images are first quantized to 8 bits, as when the result is saved and measured from files
(BasicSR's convention); Y itself is kept in floating point. SSIM is Wang et al.'s MATLAB ``ssim_index``
(Gaussian window 11 px, sigma 1.5, K1 0.01, K2 0.03, averaged over the 'valid' region only); torchmetrics'
SSIM also averages over a reflect-padded border, so it is not used. PSNR is 10 log10(255^2 / MSE) per
image in float64 (torchmetrics' agrees to float32 precision).

Input contract: ``update(preds, target)`` with float tensors of the same shape (N, C, H, W) in
[0, 1]; C = 3 for ``mode="y"``, 1 or 3 for ``"rgb"``. State: float64 sums and an image count.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genzoo.metrics._contract import check_images, check_same_shape, quantize
from genzoo.metrics.msssim import ms_ssim_8bit, ssim_and_contrast
from genzoo.metrics.protocol import StampedMetric

MODES = ("y", "rgb")
BT601_Y = (65.481, 128.553, 24.966)  # weights of R, G, B in [0, 1] for Y on the 0-255 scale, offset 16


def rgb_to_y(images: Tensor) -> Tensor:
    """RGB (N, 3, H, W) on the 0-255 scale -> Y (N, 1, H, W) on the 0-255 scale (BT.601, MATLAB rgb2ycbcr)."""
    weights = torch.tensor(BT601_Y, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return 16.0 + (images / 255.0 * weights).sum(dim=1, keepdim=True)


def prepare_pair(preds: Tensor, target: Tensor, mode: str, crop_border: int) -> tuple[Tensor, Tensor]:
    """Check, quantize, convert (Y or RGB) and crop both images: float64 on the 0-255 scale."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    channels = (3,) if mode == "y" else (1, 3)
    check_images(preds, "preds", channels=channels)
    check_images(target, "target", channels=channels)
    check_same_shape(preds, target)
    height, width = preds.shape[-2:]
    if crop_border < 0 or 2 * crop_border >= min(height, width):
        raise ValueError(f"crop_border must be >= 0 and leave pixels of a {height}x{width} image, got {crop_border}")
    a, b = quantize(preds).double(), quantize(target).double()
    if mode == "y":
        a, b = rgb_to_y(a), rgb_to_y(b)
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    return a, b


class _PairedMetric(StampedMetric):
    def __init__(self, mode: str = "y", crop_border: int = 0, any_size: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        # any_size: whole test images of different sizes (Set5), one pair at a time; values are per image anyway.
        self.mode, self.crop_border, self.any_size = mode, crop_border, any_size
        self.channels_seen: int | None = None  # for the stamp: mode "rgb" also measures grayscale images as they are
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _per_image(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, preds: Tensor, target: Tensor) -> None:
        a, b = prepare_pair(preds, target, self.mode, self.crop_border)
        self.channels_seen = preds.shape[1]
        if self.any_size:
            self.input_resolution = "whole images, sizes vary"
        else:
            self._note_resolution(preds)
        values = self._per_image(a, b)
        self.total += values.sum().cpu()
        self.count += values.numel()

    def compute(self) -> Tensor:
        if int(self.count) == 0:
            raise ValueError(f"{self.label} has seen no images")
        return self.total / self.count

    def counts(self) -> tuple[int, int]:
        return int(self.count), int(self.count)

    def protocol_details(self) -> dict[str, Any]:
        return {
            "resize": "none",
            "pixels": "uint8 (round half up, as save_image)",
            "color": "Y of YCbCr (ITU-R BT.601, MATLAB rgb2ycbcr), 0-255 scale"
            if self.mode == "y"
            else "grayscale, 0-255 scale" if self.channels_seen == 1 else "RGB, 0-255 scale",
            "crop_border": self.crop_border,
            "average": "mean over images",
        }


class PSNR(_PairedMetric):
    """Peak signal-to-noise ratio in dB (peak 255), averaged over images; higher is better.

    Args:
        mode: ``"y"`` (super-resolution protocol, needs RGB) or ``"rgb"``.
        crop_border: pixels cropped from every border before measuring (the SR scale factor).

    An image identical to its reference has infinite PSNR, and so has the mean.
    """

    metric_type = "psnr"
    label = "PSNR"
    higher_is_better = True

    def _per_image(self, a: Tensor, b: Tensor) -> Tensor:
        # torchmetrics' peak_signal_noise_ratio gives the same number but computes in float32.
        mse = (a - b).pow(2).mean(dim=(1, 2, 3))
        return 10.0 * torch.log10(255.0**2 / mse)


class SSIM(_PairedMetric):
    """Structural similarity (Gaussian 11 px, sigma 1.5, no padding), averaged over images; higher is better.

    Args as :class:`PSNR`. For RGB the SSIM map is averaged over channels too.
    """

    metric_type = "ssim"
    label = "SSIM"
    higher_is_better = True

    def _per_image(self, a: Tensor, b: Tensor) -> Tensor:
        return ssim_and_contrast(a, b, max_val=255.0, filter_size=11, filter_sigma=1.5)[0]


class MSSSIM(_PairedMetric):
    """MS-SSIM of restored or translated images against their references, averaged over images; higher is better.

    The MS-SSIM of :func:`genzoo.metrics.msssim.ms_ssim` (ProGAN's TensorFlow code). Args as :class:`PSNR`
    (pix2pix measures RGB: ``mode="rgb"``, the default here).
    """

    metric_type = "ms_ssim"
    label = "MS-SSIM"
    higher_is_better = True

    def __init__(self, mode: str = "rgb", crop_border: int = 0, any_size: bool = False, **kwargs: Any) -> None:
        super().__init__(mode=mode, crop_border=crop_border, any_size=any_size, **kwargs)

    def _per_image(self, a: Tensor, b: Tensor) -> Tensor:
        return ms_ssim_8bit(a, b)

    def protocol_details(self) -> dict[str, Any]:
        details = super().protocol_details()
        details["ms_ssim"] = "ProGAN/TF: 5 scales, gaussian 11 px sigma 1.5 'valid', max 255, 2x2 average downsampling"
        return details
