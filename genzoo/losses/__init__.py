"""Losses and regularizers as small pure functions."""

from genzoo.losses.adversarial import (
    clip_weights_,
    critic_wasserstein_loss,
    discriminator_bce_loss,
    generator_bce_loss,
    generator_wasserstein_loss,
    gradient_penalty,
)
from genzoo.losses.translation import (
    cycle_consistency_loss,
    identity_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)

__all__ = [
    "discriminator_bce_loss",
    "generator_bce_loss",
    "critic_wasserstein_loss",
    "generator_wasserstein_loss",
    "gradient_penalty",
    "clip_weights_",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "cycle_consistency_loss",
    "identity_loss",
]
from genzoo.losses import ian  # noqa: F401  (IAN: ternary loss, feature L2, orthogonal reg, beta NLL)
