"""DCGAN: deep convolutional generator and discriminator.

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", ICLR 2016, https://arxiv.org/abs/1511.06434

The architecture guidelines of the paper: strided (transposed) convolutions instead of pooling, batch
norm in both networks except the generator output and the discriminator input, ReLU in the generator
with tanh output, LeakyReLU(0.2) in the discriminator, weights drawn from N(0, 0.02).

Images of 28 px (MNIST) start from a 7x7 map, 32 and 64 px from 4x4; each transposed convolution
doubles the side and halves the width. The discriminator mirrors the generator and returns one logit
(or, for WGAN, one critic score) per image; ``d_norm`` picks its normalization because WGAN-GP's
gradient penalty is per-sample and must not see batch norm.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genzoo._checks import check_count, check_tensor
from genzoo.models._base import GenerativeNetwork

SUPPORTED_SIZES = (28, 32, 64)


def layout(image_size: int) -> tuple[int, int]:
    """(side of the first feature map, number of upsamplings) for a DCGAN of ``image_size`` pixels."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(f"DCGAN supports image sizes {SUPPORTED_SIZES}, got {image_size}")
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


def _norm_2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalizes each sample over (C, H, W): the WGAN-GP paper's choice for critics
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {kind!r}")


class DCGANGenerator(nn.Module):
    """Latent vector (N, latent_dim) -> image (N, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        start, upsamplings = layout(image_size)
        features = width * 2 ** (upsamplings - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, features, start, 1, 0, bias=False),
            nn.BatchNorm2d(features),
            nn.ReLU(inplace=True),
        ]
        for _ in range(upsamplings - 1):
            layers += [
                nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(features // 2),
                nn.ReLU(inplace=True),
            ]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"expected a tensor of latents of shape (N, {self.latent_dim}), got {type(z).__name__}")
        if z.dim() == 2:
            z = z[:, :, None, None]
        if z.dim() != 4 or z.shape[1:] != (self.latent_dim, 1, 1):
            raise ValueError(f"expected latents of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z.to(self.net[0].weight))  # the weights' device and dtype (no-op in training)


class DCGANDiscriminator(nn.Module):
    """Image (N, channels, image_size, image_size) -> one real-valued score per image, shape (N,)."""

    def __init__(self, channels: int, image_size: int, width: int, norm: str = "batch") -> None:
        super().__init__()
        self.input_shape = (channels, image_size, image_size)
        start, downsamplings = layout(image_size)
        # No normalization on the input layer (DCGAN guideline).
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        features = width
        for _ in range(downsamplings - 1):
            layers += [
                nn.Conv2d(features, features * 2, 4, 2, 1, bias=norm == "none"),
                _norm_2d(norm, features * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            features *= 2
        layers.append(nn.Conv2d(features, 1, start, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        shape = ", ".join(map(str, self.input_shape))
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"expected a tensor of images of shape (N, {shape}), got {type(images).__name__}")
        if images.dim() != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"expected images of shape (N, {shape}), got {tuple(images.shape)}")
        return self.net(images.to(self.net[0].weight)).flatten()  # the weights' device and dtype (no-op in training)


def dcgan_init_(module: nn.Module) -> None:
    """The paper's initialization: conv weights N(0, 0.02); batch-norm scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN(GenerativeNetwork):
    """A generator and its discriminator (or WGAN critic), saved together so training can resume from a release.

    ``forward(z)`` and ``sample(n)`` use the generator only. For releases trained with an EMA, the
    generator holds the EMA weights.
    """

    TINY_CONFIG = {"g_width": 4, "d_width": 4, "latent_dim": 8}

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 100,
        g_width: int = 64,
        d_width: int = 64,
        d_norm: str = "batch",
    ) -> None:
        super().__init__(
            image_size=image_size, channels=channels, latent_dim=latent_dim, g_width=g_width, d_width=d_width, d_norm=d_norm
        )
        self.latent_dim = latent_dim
        self.generator = DCGANGenerator(latent_dim, channels, image_size, g_width)
        self.discriminator = DCGANDiscriminator(channels, image_size, d_width, d_norm)
        self.apply(dcgan_init_)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] from latents z (N, latent_dim) (or (N, latent_dim, 1, 1))."""
        if isinstance(z, torch.Tensor) and z.dim() == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)
        z = check_tensor(z, ("N", self.latent_dim), "z", "latents", device=self.device, dtype=self.dtype)
        return self.generator(z)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [-1, 1]; the same seed gives the same images on any device."""
        n = check_count(n)
        with self.inference_mode():
            return self.generator(self.gaussian_noise(n, self.latent_dim, seed=seed))


PAPER = "Radford et al., Unsupervised Representation Learning with Deep Convolutional GANs, ICLR 2016 (arXiv:1511.06434)"
ARCHITECTURES = (DCGAN,)
