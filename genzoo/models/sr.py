"""Super-resolution: SRCNN and VDSR, on the Y channel, with the published Set5 protocol.

Dong, Loy, He and Tang, "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016 (ECCV 2014),
https://arxiv.org/abs/1501.00092 -- SRCNN: three convolutions (9x9 patch extraction, 1x1 (or 5x5) non-linear
mapping, 5x5 reconstruction; 64 and 32 channels) applied to the bicubic-upscaled image.

Kim, Lee and Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional Networks", CVPR 2016,
https://arxiv.org/abs/1511.04587 -- VDSR: 20 3x3 convolutions of 64 channels with ReLU, predicting the
residual HR - bicubic, one network for x2, x3 and x4.

Both work as in the papers on the luma channel Y of YCbCr (ITU-R BT.601, MATLAB ``rgb2ycbcr``); Cb and Cr
are upscaled bicubically. Bicubic is MATLAB's (``genzoo.imresize``), the protocol's resize. Convolutions are
zero-padded so the output has the input's size (the SRCNN paper trains without padding and reports on the
central region; padding lets one network handle whole images, as VDSR does).

A network works on Y in [0, 1] (Y / 255 on MATLAB's 16-235 scale): ``forward(y_bicubic)`` returns the
restored Y. ``upscale(image, scale)`` is the user-facing whole-pipeline call on RGB images in [0, 1].
These networks do not generate images from noise: ``sample`` raises.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import torch
from torch import nn

from genzoo._checks import rgb_batch
from genzoo.imresize import imresize
from genzoo.metrics.psnr_ssim import BT601_Y
from genzoo.models._base import GenerativeNetwork

# MATLAB rgb2ycbcr on [0, 1] RGB, outputs on the 0-255 scale: [Y, Cb, Cr] = offset + matrix @ [R, G, B].
YCBCR_MATRIX = (
    BT601_Y,
    (-37.797, -74.203, 112.0),
    (112.0, -93.786, -18.214),
)
YCBCR_OFFSET = (16.0, 128.0, 128.0)


def rgb_to_ycbcr(images: torch.Tensor) -> torch.Tensor:
    """RGB (N, 3, H, W) in [0, 1] -> YCbCr (N, 3, H, W) in [0, 1] (MATLAB rgb2ycbcr divided by 255)."""
    matrix = torch.tensor(YCBCR_MATRIX, dtype=images.dtype, device=images.device)
    offset = torch.tensor(YCBCR_OFFSET, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (torch.einsum("ij,njhw->nihw", matrix, images) + offset) / 255.0


def ycbcr_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_ycbcr` (MATLAB ycbcr2rgb): YCbCr in [0, 1] -> RGB, not clamped."""
    matrix = torch.tensor(YCBCR_MATRIX, dtype=torch.float64)
    inverse = torch.linalg.inv(matrix).to(images.dtype).to(images.device)
    offset = torch.tensor(YCBCR_OFFSET, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return torch.einsum("ij,njhw->nihw", inverse, images * 255.0 - offset)


def check_scale(scale: Any, scales: tuple[int, ...]) -> int:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Integral):
        raise TypeError(f"scale must be an integer factor, one of {scales}; got {scale!r}")
    if int(scale) not in scales:
        raise ValueError(f"this network was trained for scales {scales}; got scale {scale}")
    return int(scale)


class SuperResolutionNetwork(GenerativeNetwork):
    """What SRCNN and VDSR share: the Y-channel pipeline around ``forward`` and the metadata of an SR network.

    ``forward(y)``: bicubic-upscaled luma (N, 1, H, W) in [0, 1] -> restored luma (N, 1, H, W), same size.
    """

    VALUE_RANGE = (0.0, 1.0)
    #: What the network does (the model card's Hub ``pipeline_tag`` and its usage snippet).
    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    #: The smallest low-resolution side ``upscale`` accepts: the bicubic kernel needs a few pixels.
    MIN_INPUT_SIZE: ClassVar[int] = 3

    scales: tuple[int, ...]

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        # The base class's facts, with what differs for an image-to-image network that takes any size.
        return {
            **super().describe(config),
            "image_size": None,  # any size
            "channels": 3,  # RGB in and out; the network itself sees the Y channel
            "latent_dim": None,
            "scales": list(config.get("scales", [])),
            "color": "Y of YCbCr (ITU-R BT.601) by the network; Cb, Cr by MATLAB-style bicubic",
        }

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} is a super-resolution network: it does not sample from noise. "
            "Use network.upscale(image, scale) or `genzoo upscale NAME --scale S --input IMG --output OUT`."
        )

    def bicubic(self, image: torch.Tensor, scale: int) -> torch.Tensor:
        """The protocol's bicubic upscaling of an RGB image in [0, 1] (the baseline; clamped to [0, 1])."""
        batch, single = rgb_batch(image, "image", self.MIN_INPUT_SIZE)
        scale = check_scale(scale, tuple(self.scales))
        out = imresize(batch.float(), scale=scale).clamp(0.0, 1.0)
        return out[0] if single else out

    def upscale(self, image: torch.Tensor, scale: int) -> torch.Tensor:
        """Super-resolve RGB images in [0, 1], (3, H, W) or (N, 3, H, W), by ``scale`` -> (.., 3, sH, sW) in [0, 1].

        YCbCr of the input is upscaled bicubically (MATLAB's kernel); the network restores Y; the result is
        converted back to RGB on the input's device, in float32 (or the input's dtype if float64).
        """
        batch, single = rgb_batch(image, "image", self.MIN_INPUT_SIZE)
        scale = check_scale(scale, tuple(self.scales))
        compute = torch.float64 if batch.dtype == torch.float64 else torch.float32
        ycbcr = imresize(rgb_to_ycbcr(batch.to(compute)), scale=scale)
        with self.inference_mode():
            y = self(ycbcr[:, :1].to(self.device, self.dtype)).to(batch.device, compute)
        rgb = ycbcr_to_rgb(torch.cat([y, ycbcr[:, 1:]], dim=1)).clamp(0.0, 1.0)
        return rgb[0] if single else rgb


class SRCNN(SuperResolutionNetwork):
    """SRCNN (Dong et al.): conv f1 x f1 (c1) - ReLU - conv f2 x f2 (c2) - ReLU - conv f3 x f3 (1), one scale.

    ``mapping_kernel`` 1 is the 9-1-5 network, 5 the 9-5-5 one. Initialization: N(0, 0.001) as in the paper.
    """

    TINY_CONFIG = {"channels1": 4, "channels2": 4}

    def __init__(
        self,
        scale: int = 3,
        channels1: int = 64,
        channels2: int = 32,
        extraction_kernel: int = 9,
        mapping_kernel: int = 1,
        reconstruction_kernel: int = 5,
    ) -> None:
        super().__init__(
            scale=scale, channels1=channels1, channels2=channels2, extraction_kernel=extraction_kernel,
            mapping_kernel=mapping_kernel, reconstruction_kernel=reconstruction_kernel,
        )
        check_scale(scale, (2, 3, 4))
        self.scales = (scale,)
        kernels = (extraction_kernel, mapping_kernel, reconstruction_kernel)
        if any(k % 2 == 0 or k < 1 for k in kernels):
            raise ValueError(f"SRCNN kernel sizes must be odd (same-size padding), got {kernels}")
        self.body = nn.Sequential(
            nn.Conv2d(1, channels1, extraction_kernel, padding=extraction_kernel // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels1, channels2, mapping_kernel, padding=mapping_kernel // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels2, 1, reconstruction_kernel, padding=reconstruction_kernel // 2),
        )
        for module in self.body:
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.001)
                nn.init.zeros_(module.bias)

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        return super().describe({**config, "scales": [config.get("scale", 3)]})

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.body(y)


class VDSR(SuperResolutionNetwork):
    """VDSR (Kim et al.): ``depth`` 3x3 convolutions of ``width`` channels, ReLU between, plus the input.

    The last convolution predicts the residual HR - bicubic, so a zero last layer is exactly bicubic.
    Initialization: He et al.'s (the paper's). ``scales``: the factors one network was trained for.
    """

    TINY_CONFIG = {"depth": 3, "width": 4}

    def __init__(self, depth: int = 20, width: int = 64, scales: list[int] | tuple[int, ...] = (2, 3, 4)) -> None:
        scales = [check_scale(s, (2, 3, 4)) for s in scales]
        super().__init__(depth=depth, width=width, scales=scales)
        if depth < 2:
            raise ValueError(f"VDSR needs depth >= 2 (input and output convolutions), got {depth}")
        self.scales = tuple(scales)
        layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)
        for module in self.body:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y + self.body(y)  # global residual: the body learns HR - bicubic


PAPER = (
    "Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016 (arXiv:1501.00092); "
    "Kim et al., Accurate Image Super-Resolution Using Very Deep Convolutional Networks, CVPR 2016 (arXiv:1511.04587)"
)
# Set5 Y-channel PSNR, Kim et al. CVPR 2016, Table 3 (the same table as ../shared/data/README.md).
PUBLISHED_RESULTS = {
    "bicubic-x2": "33.66 dB",
    "bicubic-x3": "30.39 dB",
    "bicubic-x4": "28.42 dB",
    "srcnn-x2": "36.66 dB",
    "srcnn-x3": "32.75 dB",
    "srcnn-x4": "30.48 dB",
    "vdsr-x2": "37.53 dB",
    "vdsr-x3": "33.66 dB",
    "vdsr-x4": "31.35 dB",
}
ARCHITECTURES = (SRCNN, VDSR)
