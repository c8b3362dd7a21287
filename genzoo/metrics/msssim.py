"""MS-SSIM and the MS-SSIM diversity of a set of generated images.

Multi-scale SSIM (Wang, Simoncelli and Bovik, 2003) as GAN papers compute it: the TensorFlow code
that ProGAN ships (``metrics/ms_ssim.py``) and mmagic ports. Images are 8-bit, max value 255; at each of
5 scales a Gaussian window of 11 px, sigma 1.5 (shrunk, with sigma scaled alike, when the image is
smaller than 11 px) is applied without padding; the scales are joined with the weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333) and images are halved by 2x2 averaging between scales.
(Sides are floored when odd; the TensorFlow code assumes even sides.) ``torchmetrics``' MS-SSIM needs
images of at least 160 px for 5 scales, so it cannot measure 28 px digits or 64 px faces.

Diversity (Odena et al., "Conditional Image Synthesis with Auxiliary Classifier GANs", 2017): the
mean MS-SSIM of pairs of generated images. Lower is more diverse; compare it with the same number on
real images. No pretrained network is involved, so it always works offline.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.metrics._contract import check_images, check_same_shape, quantize
from genzoo.metrics.protocol import StampedMetric

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float) -> Tensor:
    """The normalized 2-D Gaussian of ProGAN's ``_FSpecialGauss`` (centred between pixels for even sizes)."""
    offset = 0.5 if size % 2 == 0 else 0.0
    coords = torch.arange(size, dtype=torch.float64) - size // 2 + offset
    g = torch.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def ssim_and_contrast(
    a: Tensor,
    b: Tensor,
    max_val: float = 255.0,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> tuple[Tensor, Tensor]:
    """Per-image (SSIM, contrast-structure term) of float64 images (N, C, H, W) in [0, max_val]."""
    channels, height, width = a.shape[1:]
    size = min(filter_size, height, width)
    sigma = size * filter_sigma / filter_size
    window = gaussian_window(size, sigma).to(a).expand(channels, 1, size, size)
    blur = lambda x: F.conv2d(x, window, groups=channels)  # noqa: E731 ('valid': no padding)
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    v1, v2 = 2.0 * cov + c2, var_a + var_b + c2
    ssim = ((2.0 * mu_a * mu_b + c1) * v1) / ((mu_a * mu_a + mu_b * mu_b + c1) * v2)
    return ssim.mean(dim=(1, 2, 3)), (v1 / v2).mean(dim=(1, 2, 3))


def ms_ssim(preds: Tensor, target: Tensor, weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> Tensor:
    """MS-SSIM of each pair: float images (N, C, H, W) in [0, 1] (quantized to 8 bits) -> (N,) float64 in [0, 1]."""
    check_images(preds, "preds")
    check_images(target, "target")
    check_same_shape(preds, target)
    return ms_ssim_8bit(quantize(preds).double(), quantize(target).double(), weights)


def ms_ssim_8bit(a: Tensor, b: Tensor, weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> Tensor:
    """MS-SSIM of each pair of float64 images (N, C, H, W) already on the 8-bit 0-255 scale -> (N,)."""
    ssims, contrasts = [], []
    for scale in range(len(weights)):
        ssim, contrast = ssim_and_contrast(a, b)
        ssims.append(ssim)
        contrasts.append(contrast)
        if scale < len(weights) - 1:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    # Clipped at zero as in the reference code (a negative value to a fractional power is NaN).
    ssims_t = torch.stack(ssims).clamp_min(0.0)
    contrasts_t = torch.stack(contrasts).clamp_min(0.0)
    w = torch.tensor(weights, dtype=torch.float64, device=a.device)[:, None]
    return (contrasts_t[:-1] ** w[:-1]).prod(dim=0) * ssims_t[-1] ** w[-1, 0]


class MSSSIMDiversity(StampedMetric):
    """Mean MS-SSIM of pairs of images from one set; lower means more diverse.

    ``update(images)``: float images (N, C, H, W) in [0, 1]; consecutive images are paired (0 with 1,
    2 with 3, ...), so with even batch sizes the pairs do not depend on batching; an odd batch's last
    image is left out. State: float64 sum and pair count (summed across DDP ranks).
    """

    metric_type = "ms_ssim"
    label = "MS-SSIM diversity"
    higher_is_better = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("pairs", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, images: Tensor) -> None:
        check_images(images)
        self._note_resolution(images)
        n = images.shape[0] // 2 * 2
        if n == 0:
            return
        values = ms_ssim(images[0:n:2], images[1:n:2])
        self.total += values.sum().cpu()
        self.pairs += values.numel()

    def compute(self) -> Tensor:
        if int(self.pairs) == 0:
            raise ValueError("MS-SSIM diversity needs at least one pair of images (a batch of 2 or more)")
        return self.total / self.pairs

    def counts(self) -> tuple[None, int]:
        return None, 2 * int(self.pairs)

    def protocol_details(self) -> dict[str, Any]:
        return {
            "resize": "none",
            "pixels": "uint8 (round half up, as save_image)",
            "ms_ssim": "ProGAN/TF: 5 scales, gaussian 11 px sigma 1.5 'valid', max 255, 2x2 average downsampling",
            "pairs": int(self.pairs),
            "pairing": "consecutive images (0-1, 2-3, ...)",
        }
