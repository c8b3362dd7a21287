"""IAN: the Introspective Adversarial Network.

Brock, Lim, Ritchie and Weston, "Neural Photo Editing with Introspective Adversarial Networks",
ICLR 2017, https://arxiv.org/abs/1609.07093

A VAE/GAN hybrid in which the discriminator doubles as the encoder:

* Generator = VAE decoder: latent -> fully-connected 4x4 (7x7 for 28 px) map -> strided transposed
  convolutions, each doubling the side, with Multiscale Dilated Convolution blocks
  (``genzoo.layers.MDCBlock``) between the upsamplings, more of them in later (larger) layers.
* Output: per pixel, an autoregressive beta distribution over RGB in [0, 1]: R from the last feature
  map, G from the features and R, B from the features, R and G (1x1 convolutions). The image is the
  chain of means, mapped to [-1, 1]; training adds the beta likelihood of the real pixels (teacher
  forcing). With ``beta_output=False`` a 3x3 convolution and tanh give the image directly.
* Discriminator: strided 4x4 convolutions (batch norm, LeakyReLU); its last feature map feeds
  (a) minibatch discrimination and a 3-way (real / generated / reconstructed) classifier, and
  (b) the encoder: a fully-connected layer giving the mean and log-variance of q(z|x), followed by
  inverse autoregressive flow steps whose MADE is randomized once (one shuffle of the input order,
  orthogonal weights) and never trained (its weights are buffers).
* Batch norm throughout; orthogonal initialization of conv kernels; orthogonal regularization,
  the losses and the optimizers live in ``genzoo.losses.ian`` and ``genzoo.tasks.ian``.

Ablation switches (constructor arguments): ``mdc`` (False: plain 3x3 convolutions in the same places),
``iaf`` (False: plain diagonal Gaussian posterior), ``beta_output`` (False: tanh output),
``minibatch_discrimination``; orthogonal regularization is a task argument.

Image editing (the Neural Photo Editor: contextual paintbrush and interpolation mask) lives in
``genzoo.editing``; ``IAN.paint`` is a shortcut to it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genzoo._checks import check_count, check_tensor
from genzoo.layers.mdc import MDCBlock
from genzoo.layers.minibatch import MinibatchDiscrimination
from genzoo.models._base import GenerativeNetwork

SUPPORTED_SIZES = (28, 32, 64)


def layout(image_size: int) -> tuple[int, int]:
    """(side of the first feature map, number of upsamplings) for an IAN of ``image_size`` pixels."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(f"IAN supports image sizes {SUPPORTED_SIZES}, got {image_size}")
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


def default_mdc_blocks(upsamplings: int) -> list[int]:
    """MDC blocks after each upsampling: more in later layers (64 px: [0, 1, 1, 2]; 28 px: [0, 1])."""
    return [(i + 1) // 2 for i in range(upsamplings)]


def orthogonal_init_(module: nn.Module) -> None:
    """Orthogonal conv and linear weights (the paper's initialization), zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.orthogonal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# ---- generator ------------------------------------------------------------------------------
class IANGenerator(nn.Module):
    """Latent (N, latent_dim) -> image (N, channels, size, size) in [-1, 1] (and beta parameters)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        image_size: int,
        width: int,
        mdc: bool,
        mdc_scales: int,
        mdc_blocks: list[int] | None,
        beta_output: bool,
    ) -> None:
        super().__init__()
        self.latent_dim, self.channels, self.beta_output = latent_dim, channels, beta_output
        start, upsamplings = layout(image_size)
        mdc_blocks = default_mdc_blocks(upsamplings) if mdc_blocks is None else list(mdc_blocks)
        if len(mdc_blocks) != upsamplings or any(b < 0 for b in mdc_blocks):
            raise ValueError(f"mdc_blocks needs {upsamplings} non-negative counts for {image_size} px, got {mdc_blocks}")
        features = width * 2 ** (upsamplings - 1)
        self.start, self.first_features = start, features
        self.project = nn.Linear(latent_dim, features * start * start, bias=False)
        self.project_norm = nn.BatchNorm2d(features)
        stages: list[nn.Module] = []
        for i in range(upsamplings):
            out = width * 2 ** (upsamplings - 2) // 2**i if upsamplings >= 2 else width // 2
            out = max(out, 4)
            layers: list[nn.Module] = [
                nn.ConvTranspose2d(features, out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            for _ in range(mdc_blocks[i]):
                block = MDCBlock(out, out, mdc_scales) if mdc else nn.Conv2d(out, out, 3, 1, 1, bias=False)
                layers += [block, nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            stages.append(nn.Sequential(*layers))
            features = out
        self.stages = nn.ModuleList(stages)
        self.head_features = features
        if beta_output:
            # Channel c sees the features and channels 0..c-1 (autoregressive over R, G, B).
            self.heads = nn.ModuleList([nn.Conv2d(features + c, 2, 1) for c in range(channels)])
        else:
            self.heads = nn.ModuleList([nn.Conv2d(features, channels, 3, 1, 1)])

    def features(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"expected a tensor of latents of shape (N, {self.latent_dim}), got {type(z).__name__}")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        z = z.to(self.project.weight)  # the weights' device and dtype (no-op in training)
        h = self.project(z).view(-1, self.first_features, self.start, self.start)
        h = F.relu(self.project_norm(h))
        for stage in self.stages:
            h = stage(h)
        return h

    def beta_parameters(self, h: torch.Tensor, c: int, previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, beta), each (N, 1, H, W) and > 0, of channel ``c`` given ``previous`` channels 0..c-1 in [0, 1]."""
        inputs = torch.cat([h, previous[:, :c]], dim=1) if c else h
        a, b = self.heads[c](inputs).chunk(2, dim=1)
        return F.softplus(a) + 1e-2, F.softplus(b) + 1e-2

    def forward(self, z: torch.Tensor, target: torch.Tensor | None = None):
        """The image (N, C, H, W) in [-1, 1]. With ``target`` (real images in [-1, 1]) and a beta output,
        also the per-channel beta parameters under teacher forcing: ``(image, [(alpha, beta), ...])``."""
        h = self.features(z)
        if not self.beta_output:
            image = torch.tanh(self.heads[0](h))
            return image if target is None else (image, [])
        means = []
        for c in range(self.channels):  # the image: each channel conditioned on the means of the previous ones
            a, b = self.beta_parameters(h, c, torch.cat(means, 1) if means else h[:, :0])
            means.append(a / (a + b))
        image = torch.cat(means, dim=1) * 2 - 1
        if target is None:
            return image
        unit = ((target + 1) / 2).clamp(0, 1)
        params = [self.beta_parameters(h, c, unit) for c in range(self.channels)]  # teacher forcing
        return image, params


# ---- discriminator / encoder -----------------------------------------------------------------
class IANDiscriminator(nn.Module):
    """Image -> (ternary logits (N, 3), list of activations); ``features`` gives the activations only."""

    def __init__(self, channels: int, image_size: int, width: int, minibatch_discrimination: bool, mb_kernels: int) -> None:
        super().__init__()
        self.input_shape = (channels, image_size, image_size)
        start, downsamplings = layout(image_size)
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2))]
        features = width
        for _ in range(downsamplings - 1):
            blocks.append(
                nn.Sequential(nn.Conv2d(features, features * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(features * 2), nn.LeakyReLU(0.2))
            )
            features *= 2
        self.blocks = nn.ModuleList(blocks)
        self.flat_features = features * start * start
        self.minibatch = MinibatchDiscrimination(self.flat_features, mb_kernels) if minibatch_discrimination else None
        self.classifier = nn.Linear(self.minibatch.out_features if self.minibatch else self.flat_features, 3)

    def check(self, images: torch.Tensor) -> None:
        shape = ", ".join(map(str, self.input_shape))
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"expected a tensor of images of shape (N, {shape}), got {type(images).__name__}")
        if images.dim() != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"expected images of shape (N, {shape}), got {tuple(images.shape)}")

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        self.check(images)
        activations, h = [], images.to(self.classifier.weight)  # the weights' device and dtype (no-op in training)
        for block in self.blocks:
            h = block(h)
            activations.append(h)
        return activations

    def classify(self, last: torch.Tensor) -> torch.Tensor:
        h = last.flatten(1)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.classifier(h)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        activations = self.features(images)
        return self.classify(activations[-1]), activations


class MaskedLinear(nn.Module):
    """A fixed (untrained) masked linear map: weights and mask are buffers."""

    def __init__(self, weight: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("mask", mask)
        self.register_buffer("bias", torch.zeros(weight.shape[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class RandomizedMADE(nn.Module):
    """MADE (Germain et al. 2015) with one random order, orthogonal weights, never trained.

    Input degrees are a random permutation of 1..D (one shuffle at construction, saved in the state
    dict), hidden degrees are drawn from 1..D-1; output d (both the shift m_d and the gate s_d) depends
    only on inputs of lower degree, so z -> (m, s) is autoregressive and the IAF Jacobian is triangular.
    """

    def __init__(self, dim: int, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        degrees_in = torch.randperm(dim, generator=generator) + 1
        degrees_hidden = torch.randint(1, max(dim, 2), (hidden,), generator=generator)
        mask_hidden = (degrees_hidden[:, None] >= degrees_in[None, :]).float()
        mask_out = (degrees_in[:, None] > degrees_hidden[None, :]).float().repeat(2, 1)
        w1, w2 = torch.empty(hidden, dim), torch.empty(2 * dim, hidden)
        nn.init.orthogonal_(w1, generator=generator)
        nn.init.orthogonal_(w2, generator=generator)
        self.register_buffer("degrees", degrees_in)
        self.hidden = MaskedLinear(w1, mask_hidden)
        self.out = MaskedLinear(w2, mask_out)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m, s = self.out(F.elu(self.hidden(z))).chunk(2, dim=1)
        return m, s


class IANEncoder(nn.Module):
    """Discriminator's last feature map -> posterior latent.

    ``forward(last, noise)`` returns ``(z, mu, logvar, logdet)``: z0 = mu + exp(logvar / 2) * noise,
    then IAF steps z <- sigma * z + (1 - sigma) * m with sigma = sigmoid(s + 1) (Kingma et al. 2016),
    logdet = sum log sigma. ``noise=None`` encodes deterministically (z0 = mu).
    """

    def __init__(self, in_features: int, latent_dim: int, iaf: bool, iaf_steps: int, iaf_hidden: int, seed: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.head = nn.Linear(in_features, 2 * latent_dim)
        generator = torch.Generator().manual_seed(seed)
        self.flows = nn.ModuleList([RandomizedMADE(latent_dim, iaf_hidden, generator) for _ in range(iaf_steps if iaf else 0)])

    def forward(self, last: torch.Tensor, noise: torch.Tensor | None = None):
        mu, logvar = self.head(last.flatten(1)).chunk(2, dim=1)
        logvar = logvar.clamp(-12.0, 8.0)
        z = mu if noise is None else mu + torch.exp(0.5 * logvar) * noise
        logdet = torch.zeros(z.shape[0], device=z.device, dtype=z.dtype)
        for flow in self.flows:
            m, s = flow(z)
            gate = torch.sigmoid(s + 1.0)  # +1: start close to the identity
            z = gate * z + (1 - gate) * m
            logdet = logdet + torch.log(gate).sum(1)
        return z, mu, logvar, logdet


# ---- the network -----------------------------------------------------------------------------
class IAN(GenerativeNetwork):
    """Generator (= decoder), discriminator and encoder head (on the discriminator), saved together.

    Images are (N, channels, image_size, image_size) in [-1, 1]; latents are (N, latent_dim), prior N(0, I).
    """

    TINY_CONFIG = {"g_width": 4, "d_width": 4, "latent_dim": 8, "iaf_hidden": 16, "mb_kernels": 4}

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 100,
        g_width: int = 32,
        d_width: int = 32,
        mdc: bool = True,
        mdc_scales: int = 2,
        mdc_blocks: list[int] | None = None,
        iaf: bool = True,
        iaf_steps: int = 1,
        iaf_hidden: int = 256,
        iaf_seed: int = 0,
        beta_output: bool = True,
        minibatch_discrimination: bool = True,
        mb_kernels: int = 16,
    ) -> None:
        super().__init__(
            image_size=image_size, channels=channels, latent_dim=latent_dim, g_width=g_width, d_width=d_width,
            mdc=mdc, mdc_scales=mdc_scales, mdc_blocks=mdc_blocks, iaf=iaf, iaf_steps=iaf_steps,
            iaf_hidden=iaf_hidden, iaf_seed=iaf_seed, beta_output=beta_output,
            minibatch_discrimination=minibatch_discrimination, mb_kernels=mb_kernels,
        )
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.generator = IANGenerator(latent_dim, channels, image_size, g_width, mdc, mdc_scales, mdc_blocks, beta_output)
        self.discriminator = IANDiscriminator(channels, image_size, d_width, minibatch_discrimination, mb_kernels)
        self.apply(orthogonal_init_)
        # Built after the initialization above: the MADE draws its own (seeded) orthogonal weights.
        self.encoder = IANEncoder(self.discriminator.flat_features, latent_dim, iaf, iaf_steps, iaf_hidden, iaf_seed)
        nn.init.zeros_(self.encoder.head.bias)
        nn.init.normal_(self.encoder.head.weight, 0.0, 0.01)

    # ---- checks ---------------------------------------------------------------------------
    def _images(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """``x`` checked (shape, finite, in the value range give or take float noise) on the network's device and dtype."""
        shape = ("N", *self.discriminator.input_shape)
        return check_tensor(x, shape, name, "images", self.value_range, 1e-3, device=self.device, dtype=self.dtype)

    def _latents(self, z: torch.Tensor, name: str = "z") -> torch.Tensor:
        return check_tensor(z, ("N", self.latent_dim), name, "latents", device=self.device, dtype=self.dtype)

    # ---- the VAE side -----------------------------------------------------------------------
    def posterior(self, x: torch.Tensor, noise: torch.Tensor | None = None):
        """``(z, mu, logvar, logdet)`` of q(z|x) (see ``IANEncoder``); differentiable, training or not."""
        return self.encoder(self.discriminator.features(x)[-1], noise)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] -> latents (N, latent_dim): the posterior mean pushed through the flow."""
        x = self._images(x)
        with self.inference_mode():
            return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (N, latent_dim) -> images (N, C, H, W) in [-1, 1] (the mean of the beta output)."""
        z = self._latents(z)
        with self.inference_mode():
            return self.generator(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(self._latents(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(encode(x)): (N, C, H, W) -> (N, C, H, W)."""
        return self.decode(self.encode(x))

    def interpolate(self, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Decode ``steps`` evenly spaced latents from encode(x0) to encode(x1) (both ends included).

        x0, x1: (N, C, H, W) (or single images (C, H, W)); returns (N, steps, C, H, W) (or (steps, C, H, W)).
        """
        steps = check_count(steps, "steps", "interpolation steps (both ends included)", minimum=2)
        if torch.is_tensor(x0) and torch.is_tensor(x1) and x0.shape != x1.shape:
            raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
        single = torch.is_tensor(x0) and x0.dim() == 3
        x0, x1 = (x0[None], x1[None] if torch.is_tensor(x1) else x1) if single else (x0, x1)
        x0, x1 = self._images(x0, "x0"), self._images(x1, "x1")
        z0, z1 = self.encode(x0), self.encode(x1)
        t = torch.linspace(0, 1, steps, device=z0.device)[None, :, None]
        z = (1 - t) * z0[:, None] + t * z1[:, None]  # (N, steps, latent)
        images = self.decode(z.flatten(0, 1)).view(z0.shape[0], steps, *x0.shape[1:])
        return images[0] if single else images

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [-1, 1] decoded from the prior; same seed, same images on any device."""
        n = check_count(n)
        return self.decode(self.gaussian_noise(n, self.latent_dim, seed=seed))

    def paint(self, x: torch.Tensor, rgb, mask: torch.Tensor, **kwargs) -> torch.Tensor:
        """The Neural Photo Editor's brush stroke on photos ``x``; see ``genzoo.editing.paint``."""
        from genzoo.editing import paint

        return paint(self, x, rgb, mask, **kwargs).image


PAPER = "Brock et al., Neural Photo Editing with Introspective Adversarial Networks, ICLR 2017 (arXiv:1609.07093)"
TINY = IAN.TINY_CONFIG  # the name the tests import
ARCHITECTURES = (IAN,)
