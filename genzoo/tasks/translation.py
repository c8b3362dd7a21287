"""Training CycleGAN (Zhu et al., ICCV 2017) and pix2pix (Isola et al., CVPR 2017).

Both as the papers (and their code) train them: Adam with lr 2e-4 and betas (0.5, 0.999) for generators and
discriminators; the learning rate constant for ``lr_constant_steps`` batches, then decaying linearly to zero
over ``lr_decay_steps`` (the papers: 100 epochs constant, 100 decaying; counted here in batches, so a CPU
budget can be planned in batches, and decayed smoothly rather than once per epoch). The schedulers are
stepped once per batch, after both updates, and restored on resume with the optimizers.

* CycleGAN: least-squares GAN loss, cycle loss weight ``lambda_cycle`` 10, identity loss weight
  ``lambda_identity`` x ``lambda_cycle`` = 0.5 x 10 (as the code's ``lambda_identity``), the discriminators'
  objective halved, and each discriminator shown generated images from a 50-image history
  (``ImagePool``, Shrivastava et al. 2017) rather than only the latest ones. Generators first, then the
  discriminators, as in the code.
* pix2pix: the conditional GAN loss (the paper's cross-entropy, ``gan_loss: vanilla``; ``lsgan`` also works)
  plus ``lambda_l1`` 100 x L1 to the true output; the discriminator judges (input, output) pairs
  concatenated on channels, its objective halved. Discriminator first, then the generator.

Manual optimization keeps each update explicit. Every random draw of a step (the pools' choices) comes from
``step_generator()`` and the pools are buffers of the task, so checkpoints hold them and a resumed run
repeats the uninterrupted one exactly. (pix2pix's dropout, like the data's crops and flips, draws from the
global random state, which the checkpoints also hold.)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genzoo.losses import (
    cycle_consistency_loss,
    discriminator_bce_loss,
    generator_bce_loss,
    identity_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from genzoo.models.translation import CycleGAN, Pix2Pix, TranslationNetwork
from genzoo.tasks._base import GenerativeTask

GAN_LOSSES = ("lsgan", "vanilla")


class ImagePool(nn.Module):
    """A history of generated images for the discriminator (Shrivastava et al. 2017; CycleGAN section 4).

    ``query(images)`` returns a batch of the same size. While the pool holds fewer than ``size`` images, each
    new image is stored and returned. Once full, each new image is, with probability 1/2, swapped for a random
    stored one (which is returned; the new image takes its place), else returned as it is. ``size`` 0 returns
    the images unchanged. The pool is a buffer, so checkpoints save and restore it.
    """

    def __init__(self, size: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"pool_size must be >= 0, got {size}")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # images stored so far (<= size)

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return images.detach()
        if tuple(images.shape[1:]) != tuple(self.images.shape[1:]):
            raise ValueError(f"the pool holds images {tuple(self.images.shape[1:])}, got a batch {tuple(images.shape)}")
        returned = []
        for image in images.detach():
            if int(self.count) < self.size:  # filling: keep it, and show it
                self.images[int(self.count)] = image
                self.count += 1
                returned.append(image)
            elif float(torch.rand((), generator=generator)) < 0.5:  # show an older image, keep the new one instead
                index = int(torch.randint(self.size, (), generator=generator))
                returned.append(self.images[index].clone())
                self.images[index] = image
            else:
                returned.append(image)
        return torch.stack(returned)


class LinearDecay:
    """The papers' schedule as a LambdaLR factor: 1 for ``constant_steps`` steps, then linearly down to 0 over
    ``decay_steps`` (0 and beyond; ``decay_steps`` 0: constant forever)."""

    def __init__(self, constant_steps: int, decay_steps: int) -> None:
        if constant_steps < 0 or decay_steps < 0:
            raise ValueError(f"lr_constant_steps and lr_decay_steps must be >= 0, got {constant_steps}, {decay_steps}")
        self.constant_steps, self.decay_steps = constant_steps, decay_steps

    def __call__(self, step: int) -> float:
        if self.decay_steps == 0 or step < self.constant_steps:
            return 1.0
        return max(0.0, 1.0 - (step - self.constant_steps) / self.decay_steps)


class TranslationTask(GenerativeTask):
    """What CycleGAN and pix2pix training share: optimizers and schedules, the GAN loss, previews."""

    family = "translation"
    net: TranslationNetwork
    #: Images per row of a preview (input and what the network makes of it).
    preview_columns: int = 2

    def check_common(self, gan_loss: str, lr_constant_steps: int, lr_decay_steps: int) -> None:
        if gan_loss not in GAN_LOSSES:
            raise ValueError(f"gan_loss must be one of {GAN_LOSSES}, got {gan_loss!r}")
        LinearDecay(lr_constant_steps, lr_decay_steps)  # checks the steps

    def generator_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def discriminator_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def configure_optimizers(self):
        hp = self.hparams
        betas = tuple(hp.betas)
        opt_g = torch.optim.Adam(self.generator_parameters(), lr=hp.lr, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator_parameters(), lr=hp.lr, betas=betas)
        schedules = [torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(hp.lr_constant_steps, hp.lr_decay_steps))
                     for opt in (opt_g, opt_d)]
        return [opt_g, opt_d], schedules

    def step_schedules(self) -> None:
        for schedule in self.lr_schedulers():
            schedule.step()

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        """The discriminator's objective, halved as in both papers (D learns slower than G)."""
        if self.hparams.gan_loss == "lsgan":
            return lsgan_discriminator_loss(real_scores, fake_scores)  # already 1/2 (...)
        return 0.5 * discriminator_bce_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        if self.hparams.gan_loss == "lsgan":
            return lsgan_generator_loss(fake_scores)
        return generator_bce_loss(fake_scores)  # the non-saturating -log D(x, G(x)), as the pix2pix code

    # ---- previews ---------------------------------------------------------------------------
    def translation_figure(self, network: TranslationNetwork, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Rows of ``preview_columns`` images in [0, 1] for test inputs a (and their true or other-domain b)."""
        raise NotImplementedError

    @torch.no_grad()
    def preview(self, num: int, seed: int = 0) -> torch.Tensor:
        """Fixed test inputs and their translations, ``preview_columns`` images per row, about ``num`` images."""
        rows = max(1, num // self.preview_columns)
        a, b = self.trainer.datamodule.preview_inputs(rows)
        return self.translation_figure(self.net, a, b).cpu()


class CycleGANTask(TranslationTask):
    """Args:
    image_shape: (channels, size, size) of the training crops; linked from the data module by the CLI.
    ngf, ndf, n_blocks, d_layers, norm: network size (see ``genzoo.models.translation.CycleGAN``).
    domain_a, domain_b: the domains' names (e.g. horse, zebra), written into the network's config.
    lambda_cycle: weight of the cycle loss (10). lambda_identity: the identity loss's weight relative to
        lambda_cycle (0.5; 0 turns it off).
    pool_size: generated images each discriminator's history holds (50).
    gan_loss: "lsgan" (the paper) or "vanilla".
    lr, betas, lr_constant_steps, lr_decay_steps: Adam and its schedule (see the module docstring).
    name, init_from: see ``GenerativeTask``.
    """

    preview_columns = 6  # a, G_AB(a), G_BA(G_AB(a)) | b, G_BA(b), G_AB(G_BA(b))

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (3, 128, 128),
        ngf: int = 64,
        ndf: int = 64,
        n_blocks: int = 6,
        d_layers: int = 3,
        norm: str = "instance",
        domain_a: str = "A",
        domain_b: str = "B",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        gan_loss: str = "lsgan",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_constant_steps: int = 133_400,  # horse2zebra in the paper: 100 epochs of 1,334 batches of 1 ...
        lr_decay_steps: int = 133_400,  # ... then 100 decaying
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        self.check_common(gan_loss, lr_constant_steps, lr_decay_steps)
        if lambda_cycle < 0 or lambda_identity < 0:
            raise ValueError(f"lambda_cycle and lambda_identity must be >= 0, got {lambda_cycle}, {lambda_identity}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        channels, size, _ = image_shape
        self.net = CycleGAN(image_size=size, channels=channels, ngf=ngf, ndf=ndf, n_blocks=n_blocks, d_layers=d_layers,
                            norm=norm, domain_a=domain_a, domain_b=domain_b)
        self.load_pretrained_weights()
        self.pool_a = ImagePool(pool_size, tuple(image_shape))  # generated A images (G_BA(b)), for D_A
        self.pool_b = ImagePool(pool_size, tuple(image_shape))  # generated B images (G_AB(a)), for D_B

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.net.g_ab.parameters(), *self.net.g_ba.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [*self.net.d_a.parameters(), *self.net.d_b.parameters()]

    def training_step(self, batch, batch_idx):
        real_a, real_b = batch
        net, hp = self.net, self.hparams
        opt_g, opt_d = self.optimizers()
        generator = self.step_generator()

        # Generators: fool D_B with G_AB(a) and D_A with G_BA(b); come back through the other generator (cycle);
        # leave images already in the target domain unchanged (identity). D's weights get no gradient here.
        self.toggle_optimizer(opt_g)
        fake_b, fake_a = net.g_ab(real_a), net.g_ba(real_b)
        adversarial = self.generator_loss(net.d_b(fake_b)) + self.generator_loss(net.d_a(fake_a))
        cycle = cycle_consistency_loss(real_a, net.g_ba(fake_b), real_b, net.g_ab(fake_a))
        g_loss = adversarial + hp.lambda_cycle * cycle
        identity = torch.zeros((), device=real_a.device)
        if hp.lambda_identity > 0:
            identity = identity_loss(real_a, net.g_ba(real_a), real_b, net.g_ab(real_b))
            g_loss = g_loss + hp.lambda_identity * hp.lambda_cycle * identity
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        # Discriminators: real images -> 1, generated ones -> 0, the generated ones drawn through the history pools.
        shown_b = self.pool_b.query(fake_b, generator)
        shown_a = self.pool_a.query(fake_a, generator)
        d_loss_b = self.discriminator_loss(net.d_b(real_b), net.d_b(shown_b))
        d_loss_a = self.discriminator_loss(net.d_a(real_a), net.d_a(shown_a))
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss_a + d_loss_b)
        opt_d.step()

        self.step_schedules()
        self.log_dict(
            {"loss/g_adversarial": adversarial.detach(), "loss/cycle": cycle.detach(), "loss/identity": identity.detach(),
             "loss/d_a": d_loss_a.detach(), "loss/d_b": d_loss_b.detach(), "lr": opt_g.param_groups[0]["lr"]},
            prog_bar=True,
        )

    def translation_figure(self, network: TranslationNetwork, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fake_b = network.translate(a.to(network.device, network.dtype), "a2b")
        fake_a = network.translate(b.to(network.device, network.dtype), "b2a")
        columns = [a.to(fake_b), fake_b, network.translate(fake_b, "b2a"), b.to(fake_a), fake_a, network.translate(fake_a, "a2b")]
        rows = min(len(a), len(b))
        return network.to_unit_range(torch.stack([c[:rows] for c in columns], dim=1).flatten(0, 1)).float()


class Pix2PixTask(TranslationTask):
    """Args:
    image_shape: (channels, size, size) of the training outputs; linked from the data module by the CLI.
    in_channels: the inputs' channels (3: edge maps are stored as RGB images, as in the paper's datasets).
    ngf, ndf, depth, d_layers, norm, dropout: network size (see ``genzoo.models.translation.Pix2Pix``).
    domain_a, domain_b: names of the inputs and outputs (e.g. edges, face), written into the network's config.
    lambda_l1: weight of the L1 loss to the true output (100).
    gan_loss: "vanilla" (the paper's cross-entropy) or "lsgan".
    pool_size: a history of generated pairs for the discriminator (0, as the paper).
    lr, betas, lr_constant_steps, lr_decay_steps: Adam and its schedule (see the module docstring).
    name, init_from: see ``GenerativeTask``.
    """

    preview_columns = 3  # input, output, true output

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (3, 256, 256),
        in_channels: int = 3,
        ngf: int = 64,
        ndf: int = 64,
        depth: int | None = None,
        d_layers: int = 3,
        norm: str = "batch",
        dropout: float = 0.5,
        domain_a: str = "input",
        domain_b: str = "output",
        lambda_l1: float = 100.0,
        gan_loss: str = "vanilla",
        pool_size: int = 0,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_constant_steps: int = 100_000,
        lr_decay_steps: int = 100_000,
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        self.check_common(gan_loss, lr_constant_steps, lr_decay_steps)
        if lambda_l1 < 0:
            raise ValueError(f"lambda_l1 must be >= 0, got {lambda_l1}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        channels, size, _ = image_shape
        self.net = Pix2Pix(image_size=size, in_channels=in_channels, channels=channels, ngf=ngf, ndf=ndf, depth=depth,
                           d_layers=d_layers, norm=norm, dropout=dropout, domain_a=domain_a, domain_b=domain_b)
        self.load_pretrained_weights()
        self.pool = ImagePool(pool_size, (in_channels + channels, size, size))  # (input, generated output) pairs

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.net.generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.net.discriminator.parameters())

    def training_step(self, batch, batch_idx):
        real_a, real_b = batch
        net, hp = self.net, self.hparams
        opt_g, opt_d = self.optimizers()
        fake_b = net.generator(real_a)

        # Discriminator: (input, true output) -> real, (input, generated output) -> fake; G is not updated here.
        shown = self.pool.query(torch.cat([real_a, fake_b.detach()], dim=1), self.step_generator())
        d_loss = self.discriminator_loss(net.discriminator(torch.cat([real_a, real_b], dim=1)), net.discriminator(shown))
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()

        # Generator: make the (just updated) discriminator call the pair real, and stay near the truth in L1.
        self.toggle_optimizer(opt_g)
        adversarial = self.generator_loss(net.discriminator(torch.cat([real_a, fake_b], dim=1)))
        l1 = (fake_b - real_b).abs().mean()
        g_loss = adversarial + hp.lambda_l1 * l1
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.step_schedules()
        self.log_dict(
            {"loss/g_adversarial": adversarial.detach(), "loss/l1": l1.detach(), "loss/d": d_loss.detach(),
             "lr": opt_g.param_groups[0]["lr"]},
            prog_bar=True,
        )

    def translation_figure(self, network: TranslationNetwork, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fake_b = network.translate(a.to(network.device, network.dtype))
        rows = min(len(a), len(b))
        columns = [network.to_unit_range(c[:rows].to(fake_b)) for c in (a, fake_b, b)]
        columns[0] = columns[0].expand_as(columns[1])  # a one-channel input shown as gray beside RGB
        return torch.stack(columns, dim=1).flatten(0, 1).float()
