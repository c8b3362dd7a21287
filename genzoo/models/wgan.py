"""WGAN: Wasserstein GAN with weight clipping, and WGAN-GP with a gradient penalty.

Arjovsky, Chintala and Bottou, "Wasserstein GAN", ICML 2017, https://arxiv.org/abs/1701.07875
Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, https://arxiv.org/abs/1704.00028

Both papers train the DCGAN architecture; what changes is the objective (see ``genzoo.tasks.wgan``):
the discriminator becomes a critic with an unbounded score. With weight clipping the critic keeps
batch norm as in the WGAN paper; with the gradient penalty it must not (the penalty is per sample), so
WGAN-GP checkpoints use ``d_norm="layer"``. The network class is therefore ``DCGAN`` itself, and this
file holds only the family's facts.
"""

from __future__ import annotations

PAPER = (
    "Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017 (arXiv:1704.00028); "
    "Arjovsky et al., Wasserstein GAN, ICML 2017 (arXiv:1701.07875)"
)
ARCHITECTURES = ()  # the DCGAN class (genzoo.models.dcgan)
