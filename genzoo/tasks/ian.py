"""Training IAN (Brock et al., ICLR 2017): a VAE/GAN whose discriminator is also the encoder.

Each batch makes two explicit updates (manual optimization):

1. Discriminator (its conv layers, minibatch discrimination and 3-way classifier), on the ternary
   adversarial loss only: real -> REAL, G(z ~ prior) -> GENERATED, G(E(x)) -> RECONSTRUCTED.
2. Generator + encoder head (the fully-connected latent layer on the discriminator's last conv
   layer): L1 pixel reconstruction, beta negative log-likelihood of the real pixels (beta output),
   feature-wise L2 between discriminator activations of x and of its reconstruction, the ternary
   generator loss (generated and reconstructed images should look real), the KL of the (IAF)
   posterior, and orthogonal regularization of the generator's conv kernels. The encoder head reads
   the discriminator's features detached, so the encoder's losses never train the discriminator.

Adam for both. ``ortho_weight=0`` switches orthogonal regularization off; the other ablation
switches (mdc, iaf, beta_output, minibatch_discrimination) are network arguments.
Validation logs the L1 reconstruction error on the held-out images (``val/recon_l1``, images in [-1, 1]).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.losses.ian import (
    beta_nll,
    conv_kernels,
    feature_l2_loss,
    flow_kl,
    orthogonal_regularization,
    ternary_discriminator_loss,
    ternary_generator_loss,
)
from genzoo.models.ian import IAN
from genzoo.tasks._base import GenerativeTask, make_ema


class IANTask(GenerativeTask):
    """Args:
    image_shape: (channels, size, size) of the training images; linked from the data module by the CLI.
    latent_dim, g_width, d_width, mdc, mdc_scales, mdc_blocks, iaf, iaf_steps, iaf_hidden, beta_output,
        minibatch_discrimination, mb_kernels: the network (see ``genzoo.models.ian.IAN``).
    lr, betas: Adam settings for both updates.
    ema_decay: keep an EMA of the generator with this decay (None: no EMA); the export, sample grids and
        the validation reconstructions use it.
    pixel_weight, beta_weight, feature_weight, adversarial_weight, kl_weight, ortho_weight: weights of
        the generator/encoder loss terms (ortho_weight 0: no orthogonal regularization).
    name: the registered variant this run trains; init_from: a released checkpoint to start from.
    """

    family = "ian"

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (3, 64, 64),
        latent_dim: int = 100,
        g_width: int = 32,
        d_width: int = 32,
        mdc: bool = True,
        mdc_scales: int = 2,
        mdc_blocks: list[int] | None = None,
        iaf: bool = True,
        iaf_steps: int = 1,
        iaf_hidden: int = 256,
        beta_output: bool = True,
        minibatch_discrimination: bool = True,
        mb_kernels: int = 16,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        pixel_weight: float = 1.0,
        beta_weight: float = 0.01,
        feature_weight: float = 1.0,
        adversarial_weight: float = 0.05,
        kl_weight: float = 1e-3,
        ortho_weight: float = 1e-4,
        ema_decay: float | None = None,
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        self.save_hyperparameters()
        self.automatic_optimization = False
        channels, size, _ = image_shape
        self.net = IAN(
            image_size=size, channels=channels, latent_dim=latent_dim, g_width=g_width, d_width=d_width, mdc=mdc,
            mdc_scales=mdc_scales, mdc_blocks=mdc_blocks, iaf=iaf, iaf_steps=iaf_steps, iaf_hidden=iaf_hidden,
            beta_output=beta_output, minibatch_discrimination=minibatch_discrimination, mb_kernels=mb_kernels,
        )
        self.load_pretrained_weights()
        self.ema = make_ema(self.net.generator, ema_decay)

    def configure_optimizers(self):
        betas = tuple(self.hparams.betas)
        net = self.net
        # The encoder head trains with the generator (the VAE side); the MADE weights are buffers, not parameters.
        opt_g = torch.optim.Adam([*net.generator.parameters(), *net.encoder.parameters()], lr=self.hparams.lr, betas=betas)
        opt_d = torch.optim.Adam(net.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        return opt_g, opt_d

    def losses(self, real: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """One training step's updates; returns the logged values. Split out so tests can call it directly."""
        hp, net = self.hparams, self.net
        opt_g, opt_d = self.optimizers()
        n = real.shape[0]
        noise = torch.randn(n, hp.latent_dim, generator=generator).to(real)
        prior = torch.randn(n, hp.latent_dim, generator=generator).to(real)

        # Encode from the discriminator's last conv layer, detached: the encoder loss must not train D.
        with torch.no_grad():
            last = net.discriminator.features(real)[-1]
        z, _, logvar, logdet = net.encoder(last, noise)
        reconstructed, beta_params = net.generator(z, target=real)
        generated = net.generator(prior)

        # 1. Discriminator: ternary loss only (both kinds of fake detached: G and E are not updated here).
        d_real, _ = net.discriminator(real)
        d_generated, _ = net.discriminator(generated.detach())
        d_reconstructed, _ = net.discriminator(reconstructed.detach())
        d_loss = ternary_discriminator_loss(d_real, d_generated, d_reconstructed)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()

        # 2. Generator + encoder head, against the just-updated discriminator.
        with torch.no_grad():
            real_features = net.discriminator.features(real)
        rec_logits, rec_features = net.discriminator(reconstructed)
        gen_logits, _ = net.discriminator(generated)
        pixel = F.l1_loss(reconstructed, real)
        feature = feature_l2_loss(rec_features, real_features)
        adversarial = ternary_generator_loss(gen_logits, rec_logits)
        kl = flow_kl(z, noise, logvar, logdet)
        unit = ((real + 1) / 2).clamp(0, 1)
        nll = (
            torch.stack([beta_nll(unit[:, c : c + 1], a, b) for c, (a, b) in enumerate(beta_params)]).mean()
            if beta_params
            else real.new_zeros(())
        )
        ortho = orthogonal_regularization(conv_kernels(net.generator)) if hp.ortho_weight > 0 else real.new_zeros(())
        g_loss = (
            hp.pixel_weight * pixel
            + hp.beta_weight * nll
            + hp.feature_weight * feature
            + hp.adversarial_weight * adversarial
            + hp.kl_weight * kl
            + hp.ortho_weight * ortho
        )
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.update_ema()

        probs = torch.softmax(d_real.detach(), 1)[:, 0].mean()
        return {
            "loss/d": d_loss.detach(), "loss/g": g_loss.detach(), "loss/pixel_l1": pixel.detach(),
            "loss/feature_l2": feature.detach(), "loss/adversarial_g": adversarial.detach(), "loss/kl": kl.detach(),
            "loss/beta_nll": nll.detach(), "loss/ortho": ortho.detach(), "d/p_real_on_real": probs,
        }

    def training_step(self, batch, batch_idx):
        real, _ = batch
        self.log_dict(self.losses(real, self.step_generator()), prog_bar=False)

    def validation_step(self, batch, batch_idx):
        real, _ = batch
        with torch.no_grad():
            generator = self.ema.module if self.ema is not None else self.net.generator
            reconstruction = generator(self.net.posterior(real)[0])
        self.log("val/recon_l1", F.l1_loss(reconstruction, real), prog_bar=True)
