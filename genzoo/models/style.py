"""Texture and style: texture networks, perceptual-loss transform networks, AdaIN, and the Deep Image Prior network.

Ulyanov, Lebedev, Vedaldi and Lempitsky, "Texture Networks: Feed-forward Synthesis of Textures and Stylized
Images", ICML 2016, https://arxiv.org/abs/1603.03417 -- ``TextureNet``: a multi-scale generator from noise,
trained per texture with Gatys's Gram loss; with instance normalization (Ulyanov, Vedaldi and Lempitsky,
"Improved Texture Networks", CVPR 2017) instead of batch normalization.

Johnson, Alahi and Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016,
https://arxiv.org/abs/1603.08155 -- ``TransformNet``: a residual encoder-decoder trained per style on content
photos with Gram (style) and feature (content) losses; one forward pass replaces Gatys's optimization.

Huang and Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017,
https://arxiv.org/abs/1703.06868 -- ``AdaINNet``: the VGG-19 encoder up to relu4_1 (fixed), AdaIN (the content
features given the style features' per-channel mean and std), and a decoder mirroring the encoder: any style,
one network.

Ulyanov, Vedaldi and Lempitsky, "Deep Image Prior", CVPR 2018, https://arxiv.org/abs/1711.10925 --
``DeepImagePrior``: the hourglass with skip connections whose randomly initialized weights, fitted to one
corrupted image from a fixed noise input, restore it (``genzoo.prior.restore``). It is never trained on data.

Images are RGB in [0, 1] (the VGG features' input). The networks that were trained with VGG-19 features record
the extractor's name in their config (``extractor``: ``vgg19-random-seed0`` or ``torchvision-vgg19-imagenet``,
see ``genzoo.backbones``); using one with other features is allowed but warns (:class:`ExtractorMismatchWarning`).
AdaIN's encoder is that extractor: it is rebuilt from the name (the random one anywhere, offline; the ImageNet
one from its weights file) and never stored in the network's state dict.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo._checks import check_count, check_number, check_seed, rgb_batch  # noqa: F401  (rgb_batch: also for genzoo.style, texture, prior)
from genzoo.backbones.vgg import random_extractor_name
from genzoo.layers.adain import adain_transfer
from genzoo.models._base import GenerativeNetwork

#: The extractor of networks trained on machines without ImageNet weights.
RANDOM_EXTRACTOR = random_extractor_name(0)
#: AdaIN's encoder: VGG-19 up to relu4_1; its style loss uses all four layers.
ENCODER_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


class ExtractorMismatchWarning(UserWarning):
    """A style network is used with features other than those it was trained with."""


# ---------------------------------------------------------------------------------------------
# input checks and small helpers
# ---------------------------------------------------------------------------------------------
def pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom and right of (N, C, H, W) so H and W are multiples of ``multiple`` (the crop undoes it)."""
    height, width = images.shape[-2:]
    bottom, right = -height % multiple, -width % multiple
    if bottom == right == 0:
        return images
    mode = "reflect" if bottom < height and right < width else "replicate"
    return F.pad(images, (0, right, 0, bottom), mode=mode)


def match_color(image: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``image`` (3, h, w) recoloured to the mean and covariance of ``reference``'s (3, H, W) pixel colours.

    The linear colour transfer that Gatys et al. ("Controlling Perceptual Factors in Neural Style Transfer",
    CVPR 2017) apply to the style image to keep the content's colours, and AdaIN's paper uses:
    x' = C_ref^(1/2) C_img^(-1/2) (x - mu_img) + mu_ref, in float64, clamped to [0, 1].
    """

    def mean_cov_roots(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean = pixels.mean(dim=1, keepdim=True)
        centred = pixels - mean
        cov = centred @ centred.T / pixels.shape[1] + eps * torch.eye(3, dtype=pixels.dtype)
        values, vectors = torch.linalg.eigh(cov)
        root = vectors @ torch.diag(values.sqrt()) @ vectors.T
        inverse_root = vectors @ torch.diag(values.rsqrt()) @ vectors.T
        return mean, root, inverse_root

    source = image.reshape(3, -1).double().cpu()
    target = reference.reshape(3, -1).double().cpu()
    source_mean, _, source_inverse_root = mean_cov_roots(source)
    target_mean, target_root, _ = mean_cov_roots(target)
    recoloured = target_root @ source_inverse_root @ (source - source_mean) + target_mean
    return recoloured.clamp(0, 1).reshape(image.shape).to(image.device, image.dtype)


class StyleNetwork(GenerativeNetwork):
    """What the VGG-trained networks share: images in [0, 1], RGB, and the name of the extractor they were
    trained with (``config["extractor"]``), checked by :meth:`check_extractor`."""

    VALUE_RANGE: ClassVar[tuple[float, float]] = (0.0, 1.0)

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {**super().describe(config), "channels": 3, "latent_dim": None, "extractor": config.get("extractor")}

    @property
    def extractor_name(self) -> str:
        return str(self.config["extractor"])

    def check_extractor(self, extractor: Any) -> None:
        """Warn when ``extractor`` (a ``VGG19Features`` or a name) is not the one this network was trained with."""
        name = extractor if isinstance(extractor, str) else getattr(extractor, "name", repr(extractor))
        if name != self.extractor_name:
            warnings.warn(
                f"{type(self).__name__} was trained with the {self.extractor_name} features, and is now used with {name}: "
                "allowed, but the losses and results are not those it was trained for.",
                ExtractorMismatchWarning,
                stacklevel=3,
            )


def seeded_noise(shapes: Sequence[tuple[int, ...]], seed: int | None, device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    """Standard normal tensors of ``shapes``, drawn in order from one private CPU generator when seeded (the same
    seed gives the same noise on every device, leaving the global random state alone), else from the global one."""
    if seed is None:
        return [torch.randn(*shape, device=device).to(dtype) for shape in shapes]
    generator = torch.Generator().manual_seed(check_seed(seed))
    return [torch.randn(*shape, generator=generator).to(device, dtype) for shape in shapes]


# ---------------------------------------------------------------------------------------------
# texture networks (Ulyanov et al. 2016)
# ---------------------------------------------------------------------------------------------
def conv_norm_act(in_channels: int, out_channels: int, kernel: int, stride: int = 1, act: str = "relu") -> list[nn.Module]:
    """Convolution (reflection-padded to keep the size / stride), affine instance norm, activation."""
    activation = nn.LeakyReLU(0.2, inplace=True) if act == "leaky" else nn.ReLU(inplace=True)
    return [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, padding_mode="reflect"),
            nn.InstanceNorm2d(out_channels, affine=True), activation]


class TextureBlock(nn.Sequential):
    """The texture network's convolution block: 3x3, 3x3, 1x1 convolutions, each with instance norm and LeakyReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(*conv_norm_act(in_channels, out_channels, 3, act="leaky"),
                         *conv_norm_act(out_channels, out_channels, 3, act="leaky"),
                         *conv_norm_act(out_channels, out_channels, 1, act="leaky"))


class TextureNet(StyleNetwork):
    """Ulyanov et al.'s multi-scale texture generator: noise at ``scales`` resolutions -> one texture image in [0, 1].

    Noise z_k (``noise_channels`` channels) at 1 / 2**k of the output size, k = 0 (finest) .. scales - 1. Each
    z_k goes through a :class:`TextureBlock` of ``width`` channels; from the coarsest up, the running result is
    upsampled (nearest, x2), normalized, concatenated with the next finer block's output and passed through a
    block of the summed width (width, 2 width, ..., scales x width channels: the paper's 8, 16, 24, ...). A 1x1
    convolution and a sigmoid give RGB. Fully convolutional: :meth:`sample` makes textures of any size.

    Args:
        image_size: the side of the samples it was trained on (``sample``'s default).
        scales, width, noise_channels: the architecture (the paper: 5 or 6 scales, width 8, 3 noise channels).
        texture: the texture's name (e.g. "brick"), for the card. extractor: the features it was trained with.
    """

    TINY_CONFIG = {"scales": 3, "width": 4}

    def __init__(self, image_size: int = 128, scales: int = 5, width: int = 8, noise_channels: int = 3,
                 texture: str = "texture", extractor: str = RANDOM_EXTRACTOR) -> None:
        super().__init__(image_size=image_size, scales=scales, width=width, noise_channels=noise_channels, texture=texture,
                         extractor=extractor)
        check_count(scales, "scales", "scales")
        check_count(width, "width", "channels")
        check_count(noise_channels, "noise_channels", "channels")
        self.blocks = nn.ModuleList(TextureBlock(noise_channels, width) for _ in range(scales))  # finest first
        # joins[j] merges the result so far ((j + 1) x width channels) with the block of scale scales - 2 - j.
        self.joins = nn.ModuleList(TextureBlock((j + 2) * width, (j + 2) * width) for j in range(scales - 1))
        self.up_norms = nn.ModuleList(nn.InstanceNorm2d((j + 1) * width, affine=True) for j in range(scales - 1))
        self.skip_norms = nn.ModuleList(nn.InstanceNorm2d(width, affine=True) for _ in range(scales - 1))
        self.to_rgb = nn.Conv2d(scales * width, 3, 1)

    def noise_shapes(self, n: int, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """The noise of each scale (finest first) for samples of at least height x width: the coarsest grid has
        ceil(size / 2**(scales - 1)) cells (at least 2, for the reflection padding), each finer one twice as many."""
        top = 2 ** (self.config["scales"] - 1)
        coarse_h, coarse_w = max(2, math.ceil(height / top)), max(2, math.ceil(width / top))
        return [(n, self.config["noise_channels"], coarse_h * top >> k, coarse_w * top >> k) for k in range(self.config["scales"])]

    def forward(self, noise: Sequence[torch.Tensor]) -> torch.Tensor:
        """Noise tensors of :meth:`noise_shapes` (finest first) -> images (N, 3, H, W) in [0, 1], with autograd."""
        if len(noise) != len(self.blocks):
            raise ValueError(f"TextureNet takes {len(self.blocks)} noise tensors (finest first), got {len(noise)}")
        x = self.blocks[-1](noise[-1])
        for j, k in enumerate(range(len(self.blocks) - 2, -1, -1)):  # from the second coarsest scale to the finest
            upsampled = self.up_norms[j](F.interpolate(x, scale_factor=2, mode="nearest"))
            x = self.joins[j](torch.cat([upsampled, self.skip_norms[j](self.blocks[k](noise[k]))], dim=1))
        return torch.sigmoid(self.to_rgb(x))

    def sample(self, n: int, size: int | tuple[int, int] | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` textures (n, 3, H, W) in [0, 1] of ``size`` (an int or (H, W); default the training size).

        Any size works: the network makes the next size its scales divide and the result is cropped.
        """
        n = check_count(n)
        size = self.config["image_size"] if size is None else size
        height, width = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        for side in (height, width):
            check_count(side, "size", "pixels")
        with self.inference_mode():
            noise = seeded_noise(self.noise_shapes(n, height, width), seed, self.device, self.dtype)
            return self(noise)[..., :height, :width]


# ---------------------------------------------------------------------------------------------
# perceptual-loss transform networks (Johnson et al. 2016)
# ---------------------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """Two 3x3 convolutions (reflection padding, instance norm, ReLU between) added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_norm_act(channels, channels, 3), *conv_norm_act(channels, channels, 3)[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(StyleNetwork):
    """Johnson et al.'s transform network: photo (N, 3, H, W) in [0, 1] -> the photo in one style, same size.

    c9s1-w, d2w, d4w (3x3 stride 2), ``n_blocks`` residual blocks of 4w, two upsampling layers (nearest x2, then
    a 3x3 convolution: the paper's fractionally strided convolutions make checkerboard artifacts, Odena et al.
    2016), c9s1-3 and a sigmoid. Instance norm everywhere (Ulyanov et al. 2016: it is what makes feed-forward
    stylization work), reflection padding. The paper: w = 32, 5 blocks.

    Args:
        image_size: the side of its training crops (``stylize`` takes any size).
        width, n_blocks: the architecture. style: the style's name (e.g. "la_muse"), for the card.
        extractor: the features it was trained with.
    """

    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    TINY_CONFIG = {"width": 4, "n_blocks": 1}
    DIVISOR: ClassVar[int] = 4  # two stride-2 convolutions

    def __init__(self, image_size: int = 256, width: int = 32, n_blocks: int = 5, style: str = "style",
                 extractor: str = RANDOM_EXTRACTOR) -> None:
        super().__init__(image_size=image_size, width=width, n_blocks=n_blocks, style=style, extractor=extractor)
        check_count(width, "width", "channels")
        check_count(n_blocks, "n_blocks", "residual blocks", minimum=0)
        w = width
        self.net = nn.Sequential(
            *conv_norm_act(3, w, 9), *conv_norm_act(w, 2 * w, 3, stride=2), *conv_norm_act(2 * w, 4 * w, 3, stride=2),
            *(ResidualBlock(4 * w) for _ in range(n_blocks)),
            nn.Upsample(scale_factor=2, mode="nearest"), *conv_norm_act(4 * w, 2 * w, 3),
            nn.Upsample(scale_factor=2, mode="nearest"), *conv_norm_act(2 * w, w, 3),
            nn.Conv2d(w, 3, 9, padding=4, padding_mode="reflect"), nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The stylized images, with autograd (training); H and W divisible by 4. ``stylize`` is the checked call."""
        return self.net(images)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError("TransformNet stylizes photos; it does not sample from noise. Use network.stylize(images) "
                                  "or `genzoo stylize NAME --content IMG --out OUT`.")

    def stylize(self, images: torch.Tensor) -> torch.Tensor:
        """Photos (N, 3, H, W) or (3, H, W) in [0, 1], any size >= 4 -> the same shape in [0, 1]; eval, no gradients."""
        batch, single = rgb_batch(images, "images", min_size=self.DIVISOR)
        height, width = batch.shape[-2:]
        with self.inference_mode():
            out = self(pad_to_multiple(batch.to(self.device, self.dtype), self.DIVISOR))[..., :height, :width]
        return out[0] if single else out


# ---------------------------------------------------------------------------------------------
# AdaIN (Huang and Belongie 2017)
# ---------------------------------------------------------------------------------------------
class AdaINNet(StyleNetwork):
    """Arbitrary style transfer: VGG-19 encoder (to relu4_1, fixed, not in the state dict), AdaIN, decoder.

    The decoder mirrors the encoder, pooling replaced by nearest upsampling, without normalization (the paper:
    normalization in the decoder would undo the statistics AdaIN sets): relu4_1's 512 channels -> 4w, x2,
    3 x (4w -> 4w), 4w -> 2w, x2, 2w -> 2w, 2w -> w, x2, w -> w, w -> 3; 3x3 reflection-padded convolutions with
    ReLU, the last linear. The paper: w = 64.

    Args:
        image_size: the side of its training crops (``stylize`` takes any size >= 8).
        decoder_width: w above.
        extractor: the encoder's weights by name (``vgg19-random-seed0``, ``torchvision-vgg19-imagenet``); the
            decoder only inverts that encoder, so the encoder is built from this name unless ``set_encoder`` is given
            another (which warns).
    """

    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    TINY_CONFIG = {"decoder_width": 4}
    DIVISOR: ClassVar[int] = 8  # three max pools before relu4_1

    def __init__(self, image_size: int = 256, decoder_width: int = 64, extractor: str = RANDOM_EXTRACTOR) -> None:
        super().__init__(image_size=image_size, decoder_width=decoder_width, extractor=extractor)
        w = check_count(decoder_width, "decoder_width", "channels")

        def conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")]
            return layers + [nn.ReLU(inplace=True)] if relu else layers

        up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
        self.decoder = nn.Sequential(
            *conv(512, 4 * w), up(), *conv(4 * w, 4 * w), *conv(4 * w, 4 * w), *conv(4 * w, 4 * w), *conv(4 * w, 2 * w),
            up(), *conv(2 * w, 2 * w), *conv(2 * w, w), up(), *conv(w, w), *conv(w, 3, relu=False),
        )
        # The encoder lives outside the module tree (a plain attribute), so it is never in the state dict, never
        # trained and not moved by .to() (``encode`` moves it to the images); built on first use.
        object.__setattr__(self, "_encoder", None)

    @property
    def encoder(self):  # -> genzoo.backbones.VGG19Features
        """The VGG-19 encoder (relu1_1 .. relu4_1), built from ``config["extractor"]`` on first use."""
        if self._encoder is None:
            from genzoo.backbones import feature_extractor

            object.__setattr__(self, "_encoder", feature_extractor(self.extractor_name, layers=ENCODER_LAYERS))
        return self._encoder

    def set_encoder(self, extractor) -> AdaINNet:
        """Use ``extractor`` (a ``VGG19Features`` with relu1_1 .. relu4_1) as the encoder, e.g. ImageNet weights from
        an explicit path. Another extractor than the trained one is allowed, with an :class:`ExtractorMismatchWarning`."""
        missing = [layer for layer in ENCODER_LAYERS if layer not in getattr(extractor, "layers", ())]
        if missing:
            raise ValueError(f"AdaIN's encoder must return {', '.join(ENCODER_LAYERS)}; this extractor lacks {', '.join(missing)}")
        self.check_extractor(extractor)
        object.__setattr__(self, "_encoder", extractor)
        return self

    def encode(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """relu1_1 .. relu4_1 features of images (N, 3, H, W) in [0, 1] (the encoder follows the images' device and dtype)."""
        encoder = self.encoder.to(images.device, images.dtype)
        return encoder(images)

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """decoder(AdaIN(f(content), f(style))), with autograd (training); sizes divisible by 8, style batch 1 or N."""
        return self.decoder(adain_transfer(self.encode(content)["relu4_1"], self.encode(style)["relu4_1"]))

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError("AdaINNet stylizes photos; it does not sample from noise. Use network.stylize(content, style) "
                                  "or `genzoo stylize NAME --content IMG --style IMG --out OUT`.")

    def stylize(self, content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], alpha: float = 1.0,
                style_weights: Sequence[float] | None = None, preserve_color: bool = False) -> torch.Tensor:
        """Content photos in the style of ``style``; eval mode, no gradients.

        Args:
            content: (N, 3, H, W) or (3, H, W) in [0, 1], H, W >= 8 (any size: padded to a multiple of 8, then cropped).
            style: one style image (3, h, w) / (1, 3, h, w) for every content image, its own size; or a batch
                (N, 3, h, w), one per content image; or several styles to mix, as a list of (3, h_k, w_k) images (or a
                batch (K, 3, h, w) with ``style_weights``).
            alpha: the content-style trade-off in [0, 1]: the decoder sees alpha AdaIN(f_c, f_s) + (1 - alpha) f_c.
            style_weights: K non-negative weights summing to 1 to interpolate K styles: the decoder sees
                sum_k w_k AdaIN(f_c, f_s_k) (equal weights for a list given without them).
            preserve_color: recolour each style image to the content image's colour mean and covariance first
                (:func:`match_color`), so the result keeps the content's colours.

        Returns (N, 3, H, W) (or (3, H, W)) in [0, 1].
        """
        alpha = check_number(alpha, "alpha")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] (0: the content reconstructed, 1: fully stylized), got {alpha}")
        batch, single = rgb_batch(content, "content", min_size=self.DIVISOR)
        styles, pairwise = self._styles(style, len(batch), style_weights)
        weights = self._style_weights(style_weights, len(styles), pairwise)
        height, width = batch.shape[-2:]
        outputs = []
        with self.inference_mode():
            for i, image in enumerate(batch.to(self.device, self.dtype)):  # one at a time: styles of different sizes
                mine = [styles[i]] if pairwise else styles
                if preserve_color:
                    mine = [match_color(s, image) for s in mine]
                features = self.encode(pad_to_multiple(image[None], self.DIVISOR))["relu4_1"]
                target = sum(w * adain_transfer(features, self.encode(s[None].to(self.device, self.dtype))["relu4_1"])
                             for w, s in zip(weights, mine))
                target = alpha * target + (1 - alpha) * features
                outputs.append(self.decoder(target)[..., :height, :width].clamp(0, 1))
        out = torch.cat(outputs)
        return out[0] if single else out

    def _styles(self, style: Any, n: int, style_weights: Sequence[float] | None) -> tuple[list[torch.Tensor], bool]:
        """The style images as a list of (3, h, w) and whether they pair with the content images one to one."""
        if isinstance(style, (list, tuple)):
            if not style:
                raise ValueError("style is an empty list: give at least one style image")
            images = [rgb_batch(s, f"style[{k}]", min_size=self.DIVISOR)[0] for k, s in enumerate(style)]
            if any(len(s) != 1 for s in images):
                raise ValueError("a list of styles holds single images (3, h, w), one per style")
            return [s[0] for s in images], False
        images, _ = rgb_batch(style, "style", min_size=self.DIVISOR)
        if len(images) == 1 or style_weights is not None:
            return list(images), False
        if len(images) != n:
            raise ValueError(f"got {len(images)} style images for {n} content images: give one style, one per content image, "
                             "or style_weights to mix several")
        return list(images), True

    @staticmethod
    def _style_weights(style_weights: Sequence[float] | None, count: int, pairwise: bool) -> list[float]:
        if style_weights is None:
            return [1.0] if pairwise else [1.0 / count] * count
        weights = [check_number(w, "style_weights[k]", minimum=0.0) for w in style_weights]
        if len(weights) != count:
            raise ValueError(f"style_weights has {len(weights)} weights for {count} style images")
        if abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"style_weights must sum to 1 (a convex combination of styles), got {sum(weights):g}")
        return weights


# ---------------------------------------------------------------------------------------------
# Deep Image Prior (Ulyanov et al. 2018)
# ---------------------------------------------------------------------------------------------
def bn_act(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """The paper's convolution unit: reflection-padded convolution, batch norm, LeakyReLU(0.2)."""
    return [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, padding_mode="reflect"),
            nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.2, inplace=True)]


class HourglassLevel(nn.Module):
    """One level of the hourglass: down (3x3 stride 2, 3x3), the deeper levels, up x2 (bilinear), concatenated with
    the skip branch (1x1 to ``skip`` channels) of this level's input, batch norm, 3x3 and 1x1 convolutions."""

    def __init__(self, in_channels: int, width: int, skip: int, inner: nn.Module | None) -> None:
        super().__init__()
        self.down = nn.Sequential(*bn_act(in_channels, width, 3, stride=2), *bn_act(width, width, 3))
        self.inner = inner if inner is not None else nn.Identity()
        self.skip = nn.Sequential(*bn_act(in_channels, skip, 1)) if skip else None
        self.up = nn.Sequential(nn.BatchNorm2d(width + skip), *bn_act(width + skip, width, 3), *bn_act(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deeper = F.interpolate(self.inner(self.down(x)), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.up(deeper if self.skip is None else torch.cat([self.skip(x), deeper], dim=1))


class DeepImagePrior(GenerativeNetwork):
    """The Deep Image Prior's hourglass with skip connections ("skip" in the paper's supplement): a fixed noise
    input (``input_channels`` x H x W) -> an RGB image in [0, 1] (sigmoid), H and W divisible by 2**depth (and at
    least 2 x 2**depth).

    ``depth`` levels of ``width`` channels, each with a ``skip_width``-channel skip branch (0: the plain hourglass of
    the inpainting experiments), batch norm, LeakyReLU, bilinear upsampling. The paper: 32 input channels, depth 5,
    width 128, skip 4 (~2 M parameters). ``genzoo.prior.restore`` fits it to one image; it has no training set.
    """

    VALUE_RANGE: ClassVar[tuple[float, float]] = (0.0, 1.0)
    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    TINY_CONFIG = {"input_channels": 4, "width": 4, "skip_width": 2, "depth": 2}

    def __init__(self, input_channels: int = 32, channels: int = 3, width: int = 128, skip_width: int = 4, depth: int = 5) -> None:
        super().__init__(input_channels=input_channels, channels=channels, width=width, skip_width=skip_width, depth=depth)
        check_count(input_channels, "input_channels", "channels")
        check_count(width, "width", "channels")
        check_count(depth, "depth", "levels")
        check_count(skip_width, "skip_width", "channels", minimum=0)
        inner = None
        for level in reversed(range(depth)):  # build from the innermost level out
            inner = HourglassLevel(input_channels if level == 0 else width, width, skip_width, inner)
        self.body = inner
        self.to_rgb = nn.Conv2d(width, channels, 1)

    @property
    def divisor(self) -> int:
        return 2 ** int(self.config["depth"])

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        if noise.dim() != 4 or noise.shape[1] != self.config["input_channels"]:
            raise ValueError(f"DeepImagePrior takes noise (N, {self.config['input_channels']}, H, W), got {tuple(noise.shape)}")
        if noise.shape[-2] % self.divisor or noise.shape[-1] % self.divisor or min(noise.shape[-2:]) < 2 * self.divisor:
            raise ValueError(f"DeepImagePrior of depth {self.config['depth']} needs sizes divisible by {self.divisor} and at least "
                             f"{2 * self.divisor}, got {tuple(noise.shape[-2:])}")
        return torch.sigmoid(self.to_rgb(self.body(noise)))

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError("The Deep Image Prior network is fitted to one image at a time: use "
                                  "genzoo.prior.restore(image, task=...) or `genzoo restore IMG --task ... --out OUT`.")


PAPER = (
    "Gatys et al., Texture Synthesis Using Convolutional Neural Networks, NIPS 2015 (arXiv:1505.07376); Ulyanov et al., "
    "Texture Networks, ICML 2016 (arXiv:1603.03417); Johnson et al., Perceptual Losses for Real-Time Style Transfer and "
    "Super-Resolution, ECCV 2016 (arXiv:1603.08155); Huang and Belongie, Arbitrary Style Transfer in Real-time with "
    "Adaptive Instance Normalization, ICCV 2017 (arXiv:1703.06868); Ulyanov et al., Deep Image Prior, CVPR 2018 "
    "(arXiv:1711.10925)"
)
ARCHITECTURES = (TextureNet, TransformNet, AdaINNet, DeepImagePrior)
