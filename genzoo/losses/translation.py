"""Losses of image-to-image translation (CycleGAN, pix2pix): small pure functions, each testable by hand.

Discriminator scores are PatchGAN maps (N, 1, H', W'): every loss averages over the patches too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017), discriminator side: 1/2 [E (D(real) - 1)^2 + E D(fake)^2].

    CycleGAN trains with it (section 4) and halves the discriminator's objective, slowing D relative to G.
    """
    return 0.5 * (F.mse_loss(real_scores, torch.ones_like(real_scores)) + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN, generator side: E (D(G(x)) - 1)^2."""
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def cycle_consistency_loss(real_a: torch.Tensor, reconstructed_a: torch.Tensor, real_b: torch.Tensor,
                           reconstructed_b: torch.Tensor) -> torch.Tensor:
    """CycleGAN's L_cyc: E |G_BA(G_AB(a)) - a|_1 + E |G_AB(G_BA(b)) - b|_1 (mean absolute error per pixel)."""
    return (reconstructed_a - real_a).abs().mean() + (reconstructed_b - real_b).abs().mean()


def identity_loss(real_a: torch.Tensor, same_a: torch.Tensor, real_b: torch.Tensor, same_b: torch.Tensor) -> torch.Tensor:
    """CycleGAN's identity loss (section 5.2, from Taigman et al.): E |G_BA(a) - a|_1 + E |G_AB(b) - b|_1.

    A generator given an image of its target domain should leave it unchanged (it keeps colours).
    """
    return (same_a - real_a).abs().mean() + (same_b - real_b).abs().mean()
