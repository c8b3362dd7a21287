"""StyleGAN-lite: a style-based generator (mapping network, AdaIN, noise inputs, style mixing, truncation).

Karras, Laine and Aila, "A Style-Based Generator Architecture for Generative Adversarial Networks",
CVPR 2019, https://arxiv.org/abs/1812.04948 (lecture seed 003 in ../shared/seeds).

Every idea of the paper, at a size that trains on a CPU:

* **Mapping network** f: z -> w, an MLP (8 layers by default) on the pixel-normalized z, with the
  learning rate of its layers 100x smaller (equalized-LR multiplier 0.01), as in the paper.
* **Synthesis network** g: starts from a learned constant 4x4 input. Each resolution has two 3x3
  convolutions (the 4x4 one: the constant, then one convolution); each is followed by a per-pixel noise
  input with a learned per-channel scale, a bias, LeakyReLU(0.2) and **AdaIN**, whose scale and bias are
  a learned affine map of w (one w per layer: ``num_layers`` = 2 per resolution). Bilinear upsampling
  between resolutions; a 1x1 convolution to RGB at the end (no tanh: samples are clamped to [-1, 1]).
* **Equalized learning rate** in every layer (``genzoo.layers.equalized``).
* **Style mixing:** ``mix`` takes the styles of the layers before ``crossover`` from one latent and the
  rest from another; training does it with probability 0.9 (the recipe's ``mixing_probability``).
* **Truncation trick:** ``generator.w_avg``, a running average of w kept during training and saved with
  the weights; ``sample(truncation=psi)`` uses w_avg + psi (w - w_avg).
* **Discriminator:** the mirror image, with average-pool downsampling and a minibatch standard deviation
  channel before its last convolution.

What is smaller than the paper: widths (``max_width`` 128 channels at 4-8 px, halving per resolution above
that, ``width_base / resolution``), resolution (32 and 64 px), latent sizes (``latent_dim`` = ``w_dim``
= 128 in the recipes, 512 in the paper). No progressive growing: the recipes train at full resolution with
the non-saturating loss and a lazy R1 penalty (StyleGAN's FFHQ setup minus the growing), and no blur
filter after upsampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genzoo._checks import check_count, check_number, check_seed, check_tensor
from genzoo.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, adain
from genzoo.models._base import GenerativeNetwork

LRELU_GAIN = math.sqrt(2.0)  # He's gain for LeakyReLU layers (equalized LR's runtime scale)
NOISE_MODES = ("random", "off")


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each vector scaled to unit root mean square (ProGAN's pixel norm, StyleGAN's normalization of z)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def resolutions(image_size: int) -> list[int]:
    """4, 8, ..., image_size: the resolutions of the synthesis network (image_size a power of two >= 8)."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"StyleGAN-lite needs an image size that is a power of two >= 8, got {image_size}")
    return [2**k for k in range(2, int(math.log2(image_size)) + 1)]


class MappingNetwork(nn.Module):
    """z (N, latent_dim) -> w (N, w_dim): pixel norm, then ``num_layers`` equalized linear layers with LeakyReLU."""

    def __init__(self, latent_dim: int, w_dim: int, num_layers: int, lr_multiplier: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(num_layers):
            layers += [EqualizedLinear(latent_dim if index == 0 else w_dim, w_dim, lr_multiplier=lr_multiplier, gain=LRELU_GAIN),
                       nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))


class NoiseInput(nn.Module):
    """Adds single-channel per-pixel noise, scaled by a learned factor per feature map (zero at start)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        if noise is None:  # noise off: the layer adds nothing
            return x
        return x + self.weight.view(1, -1, 1, 1) * noise


class StyledLayer(nn.Module):
    """[bilinear x2 upsampling] -> [3x3 conv] -> noise -> bias -> LeakyReLU -> AdaIN with a style from w.

    The style is the paper's y = (y_s, y_b) = A(w), a learned affine map; y_s starts at 1 and y_b at 0.
    The first layer of the network has no convolution: it styles the learned constant.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, convolution: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = EqualizedConv2d(in_channels, out_channels, 3, bias=False, gain=LRELU_GAIN) if convolution else None
        self.noise = NoiseInput(out_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.style_scale = EqualizedLinear(w_dim, out_channels, bias_init=1.0)
        self.style_bias = EqualizedLinear(w_dim, out_channels, bias_init=0.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        if self.conv is not None:
            x = self.conv(x)
        x = F.leaky_relu(self.noise(x, noise) + self.bias.view(1, -1, 1, 1), 0.2)
        return adain(x, self.style_bias(w)[:, :, None, None], self.style_scale(w)[:, :, None, None])


class SynthesisNetwork(nn.Module):
    """Per-layer styles ws (N, num_layers, w_dim) and per-layer noise -> image (N, channels, size, size)."""

    def __init__(self, image_size: int, channels: int, w_dim: int, width: dict[int, int]) -> None:
        super().__init__()
        sizes = resolutions(image_size)
        self.const = nn.Parameter(torch.ones(1, width[4], 4, 4))
        layers = [StyledLayer(width[4], width[4], w_dim, convolution=False), StyledLayer(width[4], width[4], w_dim)]
        for previous, size in zip(sizes, sizes[1:]):
            layers += [StyledLayer(width[previous], width[size], w_dim, upsample=True), StyledLayer(width[size], width[size], w_dim)]
        self.layers = nn.ModuleList(layers)
        #: The resolution each layer works at (two layers per resolution), for noise shapes and style regions.
        self.layer_resolutions = [size for size in sizes for _ in range(2)]
        self.to_rgb = EqualizedConv2d(width[image_size], channels, 1)

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor | None]) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for index, layer in enumerate(self.layers):
            x = layer(x, ws[:, index], noise[index])
        return self.to_rgb(x)


class StyleGenerator(nn.Module):
    """Mapping and synthesis networks and the running average of w (the part an EMA averages and a release holds)."""

    def __init__(self, image_size: int, channels: int, latent_dim: int, w_dim: int, mapping_layers: int,
                 mapping_lr_multiplier: float, width: dict[int, int]) -> None:
        super().__init__()
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers, mapping_lr_multiplier)
        self.synthesis = SynthesisNetwork(image_size, channels, w_dim, width)
        # The truncation trick's centre, tracked during training (a buffer: saved with the weights, not trained).
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def num_layers(self) -> int:
        return len(self.synthesis.layers)

    def make_noise(self, n: int, generator: torch.Generator | None, like: torch.Tensor) -> list[torch.Tensor]:
        """Fresh per-pixel noise for every layer, (n, 1, R, R) each, drawn on the CPU (from ``generator`` when
        given) in layer order, then moved to ``like``'s device and dtype: the same seed gives the same noise anywhere."""
        return [torch.randn(n, 1, r, r, generator=generator).to(like) for r in self.synthesis.layer_resolutions]

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """(N, w_dim) -> (N, num_layers, w_dim): the same style for every layer."""
        return w[:, None, :].expand(-1, self.num_layers, -1)

    def truncate(self, w: torch.Tensor, truncation: float) -> torch.Tensor:
        """w_avg + truncation * (w - w_avg): 1 leaves w as it is, 0 gives the average w."""
        return self.w_avg.to(w).lerp(w, truncation)

    @torch.no_grad()
    def update_w_avg(self, batch_mean_w: torch.Tensor, beta: float) -> None:
        """w_avg <- beta * w_avg + (1 - beta) * the batch's mean w (StyleGAN's w_avg_beta is 0.995)."""
        self.w_avg.lerp_(batch_mean_w.to(self.w_avg), 1.0 - beta)


class StyleDiscriminator(nn.Module):
    """Image (N, channels, size, size) -> one logit per image, shape (N,)."""

    def __init__(self, image_size: int, channels: int, width: dict[int, int], mbstd_group_size: int = 4) -> None:
        super().__init__()
        self.input_shape = (channels, image_size, image_size)
        sizes = resolutions(image_size)[::-1]  # size, ..., 8, 4
        self.from_rgb = EqualizedConv2d(channels, width[image_size], 1, gain=LRELU_GAIN)
        blocks = []
        for size, smaller in zip(sizes, sizes[1:]):
            blocks.append(nn.Sequential(
                EqualizedConv2d(width[size], width[size], 3, gain=LRELU_GAIN), nn.LeakyReLU(0.2),
                EqualizedConv2d(width[size], width[smaller], 3, gain=LRELU_GAIN), nn.LeakyReLU(0.2),
                nn.AvgPool2d(2),
            ))
        self.blocks = nn.Sequential(*blocks)
        self.minibatch_std = MinibatchStdDev(mbstd_group_size)
        self.head = nn.Sequential(
            EqualizedConv2d(width[4] + 1, width[4], 3, gain=LRELU_GAIN), nn.LeakyReLU(0.2), nn.Flatten(),
            EqualizedLinear(width[4] * 16, width[4], gain=LRELU_GAIN), nn.LeakyReLU(0.2),
            EqualizedLinear(width[4], 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        shape = ", ".join(map(str, self.input_shape))
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != self.input_shape:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"expected images of shape (N, {shape}), got {got}")
        x = F.leaky_relu(self.from_rgb(images.to(self.from_rgb.weight)), 0.2)
        return self.head(self.minibatch_std(self.blocks(x))).flatten()


class StyleGAN(GenerativeNetwork):
    """The style-based generator and its discriminator, saved together so training can resume from a release.

    The public methods use the generator only (for releases trained with an EMA, it holds the EMA weights)
    and return images clamped to [-1, 1]:

    * ``sample(n, seed=None, truncation=1.0, noise="random")``
    * ``map(z)`` -> w; ``synthesize(w or per-layer ws, noise="random", seed=None)``
    * ``mix(z_a, z_b, crossover)``; ``mixing_grid(seeds_a, seeds_b, region)`` (the paper's figure 3)
    * ``interpolate_w(z_a, z_b, steps)``: a straight line in w space, with the same noise at every step.

    ``noise`` is ``"random"`` (fresh per-pixel noise, from ``seed`` when one is given), ``"off"`` (no noise
    added) or a list of per-layer tensors (N, 1, R, R) as ``noise_shapes()`` lists them.
    """

    VALUE_RANGE = (-1.0, 1.0)
    TINY_CONFIG = {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2, "max_width": 8, "width_base": 64}

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 128,
        w_dim: int = 128,
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        max_width: int = 128,
        width_base: int = 1024,
    ) -> None:
        super().__init__(
            image_size=image_size, channels=channels, latent_dim=latent_dim, w_dim=w_dim, mapping_layers=mapping_layers,
            mapping_lr_multiplier=mapping_lr_multiplier, max_width=max_width, width_base=width_base,
        )
        self.latent_dim, self.w_dim = latent_dim, w_dim
        width = {size: max(1, min(max_width, width_base // size)) for size in resolutions(image_size)}
        self.generator = StyleGenerator(image_size, channels, latent_dim, w_dim, mapping_layers, mapping_lr_multiplier, width)
        self.discriminator = StyleDiscriminator(image_size, channels, width)

    # ---- structure --------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """How many styles (w's) the synthesis network takes: two per resolution."""
        return self.generator.num_layers

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """The (1, R, R) shape of each layer's noise input, in layer order."""
        return [(1, r, r) for r in self.generator.synthesis.layer_resolutions]

    def style_regions(self) -> dict[str, range]:
        """The layers whose styles the paper calls coarse (4-8 px), middle (16-32 px) and fine (the rest, and
        always the last resolution): what ``mixing_grid`` copies from source B."""
        resolutions_by_layer = self.generator.synthesis.layer_resolutions
        top = resolutions_by_layer[-1]

        def region(test) -> range:
            layers = [i for i, r in enumerate(resolutions_by_layer) if test(r)]
            return range(layers[0], layers[-1] + 1) if layers else range(0)

        return {
            "coarse": region(lambda r: r <= 8 and r != top),
            "middle": region(lambda r: 16 <= r <= 32 and r != top),
            "fine": region(lambda r: r >= 64 or r == top),
        }

    # ---- checks -----------------------------------------------------------------------------
    def _latents(self, z: torch.Tensor, name: str = "z") -> torch.Tensor:
        return check_tensor(z, ("N", self.latent_dim), name, "latents", device=self.device, dtype=self.dtype)

    def _styles(self, w: torch.Tensor) -> torch.Tensor:
        """w (N, w_dim) broadcast to every layer, or per-layer ws (N, num_layers, w_dim) as they are."""
        if isinstance(w, torch.Tensor) and w.dim() == 3:
            return check_tensor(w, ("N", self.num_layers, self.w_dim), "w", "per-layer styles", device=self.device, dtype=self.dtype)
        if isinstance(w, torch.Tensor) and w.dim() == 2:
            return self.generator.broadcast(check_tensor(w, ("N", self.w_dim), "w", "styles", device=self.device, dtype=self.dtype))
        got = f"shape {tuple(w.shape)}" if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(f"w must be styles of shape (N, {self.w_dim}) or per-layer styles (N, {self.num_layers}, {self.w_dim}), got {got}")

    def _noise(self, n: int, noise, generator: torch.Generator | None) -> list[torch.Tensor | None]:
        if isinstance(noise, str):
            if noise not in NOISE_MODES:
                raise ValueError(f"noise must be one of {NOISE_MODES} or a list of per-layer tensors, got {noise!r}")
            if noise == "off":
                return [None] * self.num_layers
            return self.generator.make_noise(n, generator, self.generator.w_avg)
        if not isinstance(noise, (list, tuple)) or len(noise) != self.num_layers:
            raise ValueError(f"noise must be 'random', 'off' or a list of {self.num_layers} tensors shaped {self.noise_shapes()}")
        return [check_tensor(t, ("N", *shape), f"noise[{i}]", "noise", device=self.device, dtype=self.dtype)
                for i, (t, shape) in enumerate(zip(noise, self.noise_shapes()))]

    @staticmethod
    def _generator(seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator().manual_seed(check_seed(seed))

    def _draw_latents(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator).to(self.device, self.dtype)

    def _images(self, ws: torch.Tensor, noise: list[torch.Tensor | None]) -> torch.Tensor:
        return self.generator.synthesis(ws, noise).clamp(*self.VALUE_RANGE)

    # ---- the API ----------------------------------------------------------------------------
    def map(self, z: torch.Tensor) -> torch.Tensor:
        """The intermediate latents w = f(z), (N, w_dim)."""
        with self.inference_mode():
            return self.generator.mapping(self._latents(z))

    def synthesize(self, w: torch.Tensor, noise="random", seed: int | None = None) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] from w (N, w_dim) or per-layer ws (N, num_layers, w_dim)."""
        with self.inference_mode():
            ws = self._styles(w)
            return self._images(ws, self._noise(len(ws), noise, self._generator(seed)))

    def sample(self, n: int, seed: int | None = None, truncation: float = 1.0, noise="random") -> torch.Tensor:
        """``n`` images (n, C, H, W) in [-1, 1]; the same seed gives the same latents and noise on any device.

        ``truncation`` psi in [0, inf): 1 samples the learned distribution, smaller values trade variety for
        typicality (0: every z gives the image of the average w).
        """
        n = check_count(n)
        truncation = check_number(truncation, "truncation", minimum=0.0)
        generator = self._generator(seed)
        with self.inference_mode():
            z = self._draw_latents(n, generator)
            w = self.generator.truncate(self.generator.mapping(z), truncation)
            return self._images(self.generator.broadcast(w), self._noise(n, noise, generator))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images from latents z (N, latent_dim), with fresh noise and no truncation (differentiable, unlike ``sample``)."""
        z = self._latents(z)
        ws = self.generator.broadcast(self.generator.mapping(z))
        return self._images(ws, self._noise(len(z), "random", None))

    def mix(self, z_a: torch.Tensor, z_b: torch.Tensor, crossover: int, truncation: float = 1.0, noise="random",
            seed: int | None = None) -> torch.Tensor:
        """Style mixing: layers ``0 .. crossover - 1`` take their styles from z_a, the rest from z_b.

        ``crossover`` 0 gives z_b's images, ``num_layers`` z_a's (with the same noise for the same ``seed``).
        """
        if isinstance(crossover, bool) or not isinstance(crossover, int) or not 0 <= crossover <= self.num_layers:
            raise ValueError(f"crossover must be an integer layer index in [0, {self.num_layers}], got {crossover!r}")
        truncation = check_number(truncation, "truncation", minimum=0.0)
        with self.inference_mode():
            z_a, z_b = self._latents(z_a, "z_a"), self._latents(z_b, "z_b")
            if z_a.shape != z_b.shape:
                raise ValueError(f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
            mapping, truncate = self.generator.mapping, self.generator.truncate
            ws = self.mixed_styles(truncate(mapping(z_a), truncation), truncate(mapping(z_b), truncation), range(crossover, self.num_layers))
            return self._images(ws, self._noise(len(z_a), noise, self._generator(seed)))

    def mixed_styles(self, w_a: torch.Tensor, w_b: torch.Tensor, layers_from_b: range) -> torch.Tensor:
        """Per-layer styles (N, num_layers, w_dim): w_b in ``layers_from_b``, w_a elsewhere."""
        from_b = torch.zeros(self.num_layers, 1, dtype=torch.bool, device=w_a.device)
        from_b[list(layers_from_b)] = True
        return torch.where(from_b, self.generator.broadcast(w_b), self.generator.broadcast(w_a))

    def mixing_grid(self, seeds_a: list[int], seeds_b: list[int], region: str = "coarse", truncation: float = 1.0,
                    noise_seed: int = 0) -> torch.Tensor:
        """The paper's figure 3 as images ((len(seeds_a) + 1) * (len(seeds_b) + 1), C, H, W) in [-1, 1], row by row.

        The first row holds the B sources (after an empty corner), the first column the A sources; cell (i, j)
        is A_i with the styles of ``region`` ("coarse", "middle" or "fine", see ``style_regions``) copied from
        B_j. Every image uses the same noise (from ``noise_seed``), so only the styles differ.
        """
        regions = self.style_regions()
        if region not in regions or len(regions[region]) == 0:
            available = [name for name, layers in regions.items() if len(layers)]
            raise ValueError(f"region must be one of {available} for this {self.config['image_size']} px network, got {region!r}")
        truncation = check_number(truncation, "truncation", minimum=0.0)
        seeds_a, seeds_b = [check_seed(s, "seeds_a") for s in seeds_a], [check_seed(s, "seeds_b") for s in seeds_b]
        if not seeds_a or not seeds_b:
            raise ValueError("mixing_grid needs at least one seed in seeds_a and in seeds_b")
        with self.inference_mode():
            def styles(seeds: list[int]) -> torch.Tensor:
                z = torch.cat([self._draw_latents(1, self._generator(s)) for s in seeds])
                return self.generator.truncate(self.generator.mapping(z), truncation)

            w_a, w_b = styles(seeds_a), styles(seeds_b)
            rows, cols = len(seeds_a), len(seeds_b)
            mixed = self.mixed_styles(w_a.repeat_interleave(cols, 0), w_b.repeat(rows, 1), regions[region])
            all_ws = torch.cat([self.generator.broadcast(w_b), self.generator.broadcast(w_a), mixed])
            noise = [t.expand(len(all_ws), -1, -1, -1) for t in self._noise(1, "random", self._generator(noise_seed))]
            images = self._images(all_ws, noise)
        sources_b, sources_a, cells = images[:cols], images[cols:cols + rows], images[cols + rows:].view(rows, cols, *images.shape[1:])
        corner = torch.full_like(images[:1], self.VALUE_RANGE[1])  # white
        grid = [torch.cat([corner, sources_b])] + [torch.cat([sources_a[i:i + 1], cells[i]]) for i in range(rows)]
        return torch.cat(grid)

    def interpolate_w(self, z_a: torch.Tensor, z_b: torch.Tensor, steps: int = 8, truncation: float = 1.0,
                      seed: int | None = 0) -> torch.Tensor:
        """Images along the straight line from w(z_a) to w(z_b), both ends included: (N, steps, C, H, W).

        Every step uses the same noise (from ``seed``), so the change along the line comes from w alone.
        """
        steps = check_count(steps, "steps", "interpolation steps (both ends included)", minimum=2)
        truncation = check_number(truncation, "truncation", minimum=0.0)
        with self.inference_mode():
            z_a, z_b = self._latents(z_a, "z_a"), self._latents(z_b, "z_b")
            if z_a.shape != z_b.shape:
                raise ValueError(f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
            w_a = self.generator.truncate(self.generator.mapping(z_a), truncation)
            w_b = self.generator.truncate(self.generator.mapping(z_b), truncation)
            t = torch.linspace(0, 1, steps, device=w_a.device, dtype=w_a.dtype)[None, :, None]
            w = w_a[:, None].lerp(w_b[:, None], t).flatten(0, 1)  # (N * steps, w_dim)
            noise = [x.repeat_interleave(steps, 0) for x in self._noise(len(z_a), "random", self._generator(seed))]
            images = self._images(self.generator.broadcast(w), noise)
        return images.view(len(z_a), steps, *images.shape[1:])

    @classmethod
    def describe(cls, config: dict) -> dict:
        facts = super().describe(config)
        facts["w_dim"] = config.get("w_dim")
        facts["num_styles"] = 2 * len(resolutions(int(config["image_size"])))
        return facts


PAPER = "Karras et al., A Style-Based Generator Architecture for Generative Adversarial Networks, CVPR 2019 (arXiv:1812.04948)"
# No PUBLISHED_RESULTS: the paper's FFHQ / CelebA-HQ FIDs are at 1024 px with 26M-parameter networks and
# Inception features, not comparable with a 64 px CPU model; the cards compare with dcgan-celeba instead.
ARCHITECTURES = (StyleGAN,)
