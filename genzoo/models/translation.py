"""Image-to-image translation: CycleGAN (unpaired) and pix2pix (paired), with PatchGAN discriminators.

Zhu, Park, Isola and Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017, https://arxiv.org/abs/1703.10593 -- two generators G_AB: A -> B and G_BA: B -> A and
two discriminators, trained with the least-squares GAN loss, a cycle loss and an identity loss.

Isola, Zhu, Zhou and Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017,
https://arxiv.org/abs/1611.07004 -- one U-Net generator and a conditional PatchGAN that sees
(input, output) pairs, trained with a GAN loss plus L1 to the true output.

The networks, as the papers' appendices and their code (``junyanz/pytorch-CycleGAN-and-pix2pix``) build them:

* ``ResnetGenerator`` (CycleGAN; Johnson et al.'s network): c7s1-ngf, d2ngf, d4ngf, ``n_blocks`` residual
  blocks R4ngf, u2ngf, ungf, c7s1-3 with tanh. Reflection padding, instance norm. It sees any H, W
  divisible by 4 (two stride-2 convolutions).
* ``UNetGenerator`` (pix2pix): ``depth`` 4x4 stride-2 convolutions C64-C128-C256-C512-C512... (LeakyReLU 0.2,
  no norm on the first and the innermost) and mirrored transposed convolutions (ReLU; dropout 0.5 in the
  first three decoder layers, as the paper's CD512 layers), each decoder layer concatenated with the encoder
  layer of the same size (skips), tanh output. It sees any H, W divisible by 2**depth.
* ``PatchGANDiscriminator``: C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1) - a 1-channel
  convolution, 4x4 kernels, LeakyReLU 0.2: one real/fake score per overlapping 70x70 patch for
  ``n_layers`` 3 (see ``receptive_field``).

Weights are drawn from N(0, 0.02) (norm scales from N(1, 0.02)), as in both papers. Images are in [-1, 1].
These networks translate an input; they do not sample from noise: ``sample`` raises.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from genzoo._checks import check_tensor
from genzoo.models._base import GenerativeNetwork

NORMS = ("instance", "batch", "none")
DIRECTIONS = ("a2b", "b2a")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Instance norm (CycleGAN; no affine parameters, no running statistics, as in the papers' code), batch
    norm (pix2pix) or nothing."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def translation_init_(module: nn.Module) -> None:
    """Both papers' initialization: convolution weights N(0, 0.02), biases 0; norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ResidualBlock(nn.Module):
    """R(k): two 3x3 convolutions with reflection padding and instance norm, added to the input."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        bias = norm != "batch"  # a bias before batch norm is cancelled by its mean subtraction
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1], H and W divisible by 4.

    c7s1-ngf, d2ngf, d4ngf, R4ngf x ``n_blocks`` (6 for 128 px, 9 for 256 px in the paper), u2ngf, ungf,
    c7s1-out with tanh.
    """

    DIVISOR: ClassVar[int] = 4  # two stride-2 downsamplings

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9, norm: str = "instance") -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True),  # c7s1-ngf
        ]
        for multiple in (1, 2):  # d2ngf, d4ngf: 3x3 stride-2 convolutions
            layers += [nn.Conv2d(ngf * multiple, ngf * multiple * 2, 3, stride=2, padding=1, bias=bias),
                       norm_layer(norm, ngf * multiple * 2), nn.ReLU(True)]
        layers += [ResidualBlock(ngf * 4, norm) for _ in range(n_blocks)]
        for multiple in (4, 2):  # u2ngf, ungf: fractionally strided (transposed) 3x3 convolutions
            layers += [nn.ConvTranspose2d(ngf * multiple, ngf * multiple // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       norm_layer(norm, ngf * multiple // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]  # c7s1-out
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UNetGenerator(nn.Module):
    """pix2pix's generator: an encoder-decoder with skips, (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1].

    ``depth`` stride-2 layers (8 for 256 px in the paper: a 1x1 bottleneck); H and W divisible by 2**depth.
    Encoder layer i has min(ngf * 2**i, 8 ngf) channels; decoder layer k is concatenated with the encoder
    layer of the same size before the next transposed convolution.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, depth: int = 8, norm: str = "batch",
                 dropout: float = 0.5) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"the U-Net needs depth >= 2 (an outermost and an innermost layer), got {depth}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.depth = depth
        self.divisor = 2**depth
        widths = [min(ngf * 2**i, ngf * 8) for i in range(depth)]
        bias = norm != "batch"
        # Encoder: LeakyReLU(0.2) -> 4x4 stride-2 conv -> norm (the outermost has no activation before it and
        # no norm; the innermost no norm: a 1x1 map has no statistics).
        self.down = nn.ModuleList()
        for i in range(depth):
            outer = in_channels if i == 0 else widths[i - 1]
            plain = i in (0, depth - 1)
            self.down.append(nn.Sequential(
                nn.Identity() if i == 0 else nn.LeakyReLU(0.2, True),
                nn.Conv2d(outer, widths[i], 4, 2, 1, bias=bias or plain),
                nn.Identity() if plain else norm_layer(norm, widths[i]),
            ))
        # Decoder: ReLU -> 4x4 stride-2 transposed conv -> norm (-> dropout); the last one -> tanh.
        self.up = nn.ModuleList()
        for k in range(depth):
            level = depth - 1 - k  # the encoder level this decoder layer mirrors
            inner = widths[level] * (1 if k == 0 else 2)  # the innermost sees no skip; the others their concatenation
            if level == 0:
                self.up.append(nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(inner, out_channels, 4, 2, 1), nn.Tanh()))
            else:
                self.up.append(nn.Sequential(
                    nn.ReLU(True),
                    nn.ConvTranspose2d(inner, widths[level - 1], 4, 2, 1, bias=bias),
                    norm_layer(norm, widths[level - 1]),
                    nn.Dropout(dropout) if k < 3 and dropout > 0 else nn.Identity(),  # the paper's CD512 layers
                ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = self.up[0](skips[-1])
        for k in range(1, self.depth):
            x = self.up[k](torch.cat([x, skips[self.depth - 1 - k]], dim=1))
        return x


class PatchGANDiscriminator(nn.Module):
    """The PatchGAN: (N, in_channels, H, W) -> a map of real/fake scores (N, 1, H', W'), one per input patch.

    C64 (no norm) then ``n_layers`` - 1 more stride-2 layers doubling the width (at most 8x), one stride-1
    layer and a stride-1 convolution to one channel; 4x4 kernels, padding 1, LeakyReLU 0.2. Each score sees a
    ``receptive_field`` x ``receptive_field`` patch: 70 for ``n_layers`` 3 (the papers' 70x70 PatchGAN),
    34 for 2, 142 for 4. pix2pix's conditional discriminator takes in_channels = input + output channels.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"the PatchGAN needs n_layers >= 1, got {n_layers}")
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1  # the last of these keeps the size (C512 at stride 1)
            new_width = ndf * min(2**n, 8)
            layers += [nn.Conv2d(width, new_width, 4, stride, 1, bias=bias), norm_layer(norm, new_width), nn.LeakyReLU(0.2, True)]
            width = new_width
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def receptive_field(self) -> int:
        """The side of the input patch one output score sees, from the convolutions' kernels and strides.

        Walking back from one output pixel: a layer of kernel k and stride s turns a field of r pixels into
        (r - 1) s + k pixels of its input.
        """
        field = 1
        for layer in reversed([m for m in self.net if isinstance(m, nn.Conv2d)]):
            field = (field - 1) * layer.stride[0] + layer.kernel_size[0]
        return field


class TranslationNetwork(GenerativeNetwork):
    """What CycleGAN and pix2pix share: ``translate`` in a direction, input checks, image-to-image metadata.

    ``generators`` maps each direction the network can translate ("a2b", and "b2a" for CycleGAN) to the name of
    its generator submodule. ``domain_a`` and ``domain_b`` name the two domains ("horse", "zebra").
    """

    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    generators: ClassVar[dict[str, str]] = {}

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        a, b = config.get("domain_a", "A"), config.get("domain_b", "B")
        names = {"a2b": f"{a} -> {b}", "b2a": f"{b} -> {a}"}
        return {
            **super().describe(config),
            "latent_dim": None,  # an input image, not noise
            "domains": {"a": a, "b": b},
            "directions": {direction: names[direction] for direction in cls.generators},
            "size_divisor": cls.size_divisor_of(config),
        }

    @classmethod
    def size_divisor_of(cls, config: dict[str, Any]) -> int:
        """What input heights and widths must be divisible by."""
        raise NotImplementedError

    @property
    def image_size(self) -> int:
        """The side of the square images it was trained on (``translate`` takes other sizes too)."""
        return int(self.config["image_size"])

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} is an image-to-image translation network: it does not sample from noise. "
            "Use network.translate(images, direction='a2b') or `genzoo translate NAME --input IMG_OR_FOLDER --output OUT`."
        )

    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Translate images (N, C, H, W) or (C, H, W) with values in ``value_range`` ([-1, 1]) in ``direction``.

        "a2b" maps domain A to domain B (``info["domains"]`` names them); "b2a" the other way (CycleGAN only).
        H and W must be divisible by ``size_divisor``. Returns the same shape, in ``value_range``, on the
        network's device and dtype; eval mode, no gradients.
        """
        if direction not in self.generators:
            known = " or ".join(repr(d) for d in self.generators)
            hint = " (pix2pix learns one direction: input -> output)" if len(self.generators) == 1 else ""
            raise ValueError(f"direction must be {known}{hint}, got {direction!r}")
        single = isinstance(images, torch.Tensor) and images.dim() == 3
        batch = images[None] if single else images
        batch = check_tensor(batch, ("N", self.channels, "H", "W"), "images", value_range=self.value_range, tolerance=1e-3,
                             device=self.device, dtype=self.dtype)
        divisor = self.size_divisor_of(self.config)
        height, width = batch.shape[-2:]
        if height % divisor or width % divisor:
            down = (height // divisor * divisor, width // divisor * divisor)
            raise ValueError(
                f"{type(self).__name__} needs image heights and widths divisible by {divisor}, got {height}x{width} "
                f"(crop or resize to e.g. {down[0]}x{down[1]})"
            )
        generator = getattr(self, self.generators[direction])
        with self.inference_mode():
            out = generator(batch)
        return out[0] if single else out


class CycleGAN(TranslationNetwork):
    """CycleGAN (Zhu et al. 2017): G_AB, G_BA (ResNet generators) and D_A, D_B (70x70 PatchGANs), saved together
    so that training can resume from a release. ``translate(x, "a2b")`` uses G_AB, ``"b2a"`` G_BA.

    ``d_a`` judges domain A images (real A against G_BA(B)); ``d_b`` domain B images.
    """

    TINY_CONFIG = {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2}
    generators = {"a2b": "g_ab", "b2a": "g_ba"}

    def __init__(
        self,
        image_size: int = 128,
        channels: int = 3,
        ngf: int = 64,
        ndf: int = 64,
        n_blocks: int = 6,
        d_layers: int = 3,
        norm: str = "instance",
        domain_a: str = "A",
        domain_b: str = "B",
    ) -> None:
        super().__init__(image_size=image_size, channels=channels, ngf=ngf, ndf=ndf, n_blocks=n_blocks, d_layers=d_layers,
                         norm=norm, domain_a=domain_a, domain_b=domain_b)
        self.g_ab = ResnetGenerator(channels, channels, ngf, n_blocks, norm)
        self.g_ba = ResnetGenerator(channels, channels, ngf, n_blocks, norm)
        self.d_a = PatchGANDiscriminator(channels, ndf, d_layers, norm)
        self.d_b = PatchGANDiscriminator(channels, ndf, d_layers, norm)
        self.apply(translation_init_)

    @classmethod
    def size_divisor_of(cls, config: dict[str, Any]) -> int:
        return ResnetGenerator.DIVISOR

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """G_AB(images), with autograd (training); ``translate`` is the checked inference call."""
        return self.g_ab(images)


class Pix2Pix(TranslationNetwork):
    """pix2pix (Isola et al. 2017): a U-Net generator and its conditional 70x70 PatchGAN, which judges the input
    and an output concatenated on channels. ``translate(x)`` maps inputs (domain A) to outputs (domain B).

    ``depth``: the U-Net's stride-2 layers (None: log2(image_size), a 1x1 bottleneck as in the paper).
    """

    TINY_CONFIG = {"ngf": 4, "ndf": 4, "depth": 3, "d_layers": 2}
    generators = {"a2b": "generator"}

    def __init__(
        self,
        image_size: int = 256,
        in_channels: int = 3,
        channels: int = 3,
        ngf: int = 64,
        ndf: int = 64,
        depth: int | None = None,
        d_layers: int = 3,
        norm: str = "batch",
        dropout: float = 0.5,
        domain_a: str = "input",
        domain_b: str = "output",
    ) -> None:
        depth = self.default_depth(image_size) if depth is None else depth
        super().__init__(image_size=image_size, in_channels=in_channels, channels=channels, ngf=ngf, ndf=ndf, depth=depth,
                         d_layers=d_layers, norm=norm, dropout=dropout, domain_a=domain_a, domain_b=domain_b)
        if image_size % 2**depth:
            raise ValueError(f"a U-Net of depth {depth} needs an image size divisible by {2**depth}, got {image_size}")
        self.generator = UNetGenerator(in_channels, channels, ngf, depth, norm, dropout)
        self.discriminator = PatchGANDiscriminator(in_channels + channels, ndf, d_layers, norm)
        self.apply(translation_init_)

    @staticmethod
    def default_depth(image_size: int) -> int:
        if image_size < 4 or image_size & (image_size - 1):
            raise ValueError(f"without an explicit depth, pix2pix needs a power-of-two image size >= 4, got {image_size}")
        return image_size.bit_length() - 1

    @classmethod
    def size_divisor_of(cls, config: dict[str, Any]) -> int:
        return 2 ** int(config.get("depth") or cls.default_depth(int(config.get("image_size", 256))))

    @property
    def channels(self) -> int:
        """The input's channels: what ``translate`` takes (its output has ``config["channels"]``)."""
        return int(self.config["in_channels"])

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {**super().describe(config), "input_channels": config.get("in_channels", 3)}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """G(images), with autograd (training); ``translate`` is the checked inference call."""
        return self.generator(images)


PAPER = (
    "Zhu et al., Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks, ICCV 2017 "
    "(arXiv:1703.10593); Isola et al., Image-to-Image Translation with Conditional Adversarial Networks, CVPR 2017 "
    "(arXiv:1611.07004)"
)
ARCHITECTURES = (CycleGAN, Pix2Pix)
