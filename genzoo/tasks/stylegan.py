"""Training StyleGAN-lite (Karras et al., CVPR 2019): non-saturating loss, lazy R1, style mixing, w average, EMA.

One discriminator and one generator Adam update per batch (lr 0.002, betas (0, 0.99) as in the paper;
the mapping network learns 100x slower through its equalized-LR multiplier). The discriminator's R1
penalty (gamma / 2) E ||grad D(x_real)||^2 is computed every ``r1_every`` batches and multiplied by
``r1_every`` (StyleGAN2's lazy regularization: the same average strength at a fraction of the cost).
With probability ``mixing_probability`` a batch is generated from two latents with a random crossover
layer (style mixing regularization). The generator's running average of w (for the truncation trick)
and an EMA of the whole generator are updated after every generator step; the export holds the EMA.

All randomness of a step (latents, mixing, crossover, noise) comes from ``step_generator()``, so a
resumed run repeats the uninterrupted one exactly and each DDP rank draws its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.models.stylegan import StyleGAN
from genzoo.tasks._base import GenerativeTask, make_ema


class StyleGANTask(GenerativeTask):
    """Args:
    image_shape: (channels, size, size) of the training images; linked from the data module by the CLI.
    latent_dim, w_dim, mapping_layers, mapping_lr_multiplier, max_width, width_base: network size
        (see ``genzoo.models.stylegan.StyleGAN``).
    lr, betas: Adam settings for both networks.
    r1_gamma, r1_every: the R1 penalty's weight and how often (in batches) it is computed (0: never).
    mixing_probability: the share of batches generated with style mixing (the paper: 0.9).
    w_avg_beta: decay of the running average of w (the paper: 0.995).
    ema_decay: keep an EMA of the generator with this decay (None: no EMA).
    name: the registered variant this run trains (its metadata goes into the export).
    init_from: a released checkpoint to fine-tune from.
    """

    family = "stylegan"

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (3, 64, 64),
        latent_dim: int = 128,
        w_dim: int = 128,
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        max_width: int = 128,
        width_base: int = 1024,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        r1_gamma: float = 1.0,
        r1_every: int = 4,
        mixing_probability: float = 0.9,
        w_avg_beta: float = 0.995,
        ema_decay: float | None = 0.998,
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        if not 0.0 <= mixing_probability <= 1.0:
            raise ValueError(f"mixing_probability must be in [0, 1], got {mixing_probability}")
        if r1_gamma < 0 or r1_every < 0:
            raise ValueError(f"r1_gamma and r1_every must be >= 0, got {r1_gamma} and {r1_every}")
        if not 0.0 <= w_avg_beta < 1.0:
            raise ValueError(f"w_avg_beta must be in [0, 1), got {w_avg_beta}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        channels, size, _ = image_shape
        self.net = StyleGAN(image_size=size, channels=channels, latent_dim=latent_dim, w_dim=w_dim,
                            mapping_layers=mapping_layers, mapping_lr_multiplier=mapping_lr_multiplier,
                            max_width=max_width, width_base=width_base)
        self.load_pretrained_weights()
        self.ema = make_ema(self.net.generator, ema_decay)
        # Counts discriminator updates (saved in checkpoints), for the lazy R1 schedule.
        self.register_buffer("discriminator_updates", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self):
        betas = tuple(self.hparams.betas)
        opt_g = torch.optim.Adam(self.net.generator.parameters(), lr=self.hparams.lr, betas=betas)
        opt_d = torch.optim.Adam(self.net.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        return opt_g, opt_d

    def generate(self, n: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n fake images, the w of their first latent), with style mixing in ``mixing_probability`` of calls."""
        g = self.net.generator

        def latents() -> torch.Tensor:
            return torch.randn(n, self.hparams.latent_dim, generator=generator).to(like)

        w = g.mapping(latents())
        ws = g.broadcast(w)
        if float(torch.rand((), generator=generator)) < self.hparams.mixing_probability:
            # Style mixing: layers from a random crossover on take the styles of a second latent.
            crossover = int(torch.randint(1, g.num_layers, (), generator=generator))
            ws = self.net.mixed_styles(w, g.mapping(latents()), range(crossover, g.num_layers))
        return g.synthesis(ws, g.make_noise(n, generator, like)), w

    def training_step(self, batch, batch_idx):
        real, _ = batch
        opt_g, opt_d = self.optimizers()
        generator = self.step_generator()
        n = real.shape[0]

        # Discriminator: softplus(D(fake)) + softplus(-D(real)) (the non-saturating loss's D side).
        with torch.no_grad():
            fake, _ = self.generate(n, generator, real)
        every = self.hparams.r1_every
        r1_now = every > 0 and self.hparams.r1_gamma > 0 and int(self.discriminator_updates) % every == 0
        real = real.detach().requires_grad_(r1_now)
        d_real, d_fake = self.net.discriminator(real), self.net.discriminator(fake)
        d_loss = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        r1 = torch.zeros((), device=real.device)
        if r1_now:
            # R1: the squared gradient norm of D at real images, (gamma / 2) weighted, scaled up for laziness.
            (gradient,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            r1 = gradient.square().sum(dim=(1, 2, 3)).mean()
            d_loss = d_loss + self.hparams.r1_gamma / 2 * r1 * every
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.discriminator_updates += 1

        # Generator: softplus(-D(G(z))) on a fresh batch (the non-saturating loss).
        fake, w = self.generate(n, generator, real)
        g_loss = F.softplus(-self.net.discriminator(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()

        # The running average of w, over every rank's batch so that DDP replicas keep the same one.
        batch_mean_w = self.trainer.strategy.reduce(w.detach().float().mean(0), reduce_op="mean")
        self.net.generator.update_w_avg(batch_mean_w, self.hparams.w_avg_beta)
        self.update_ema()

        self.log_dict(
            {"loss/d": d_loss.detach(), "loss/g": g_loss.detach(), "d/real": torch.sigmoid(d_real).mean().detach(),
             "d/fake": torch.sigmoid(d_fake).mean().detach()},
            prog_bar=True,
        )
        if r1_now:
            self.log("r1", r1.detach())
