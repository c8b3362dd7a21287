"""Adaptive instance normalization (Huang and Belongie, ICCV 2017), shared by StyleGAN-lite and style transfer.

    AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)

mu and sigma are per sample and per channel, over the spatial positions. Style transfer takes mu(y) and
sigma(y) from the style image's features; StyleGAN computes them from the intermediate latent w by a
learned affine map (``scale`` and ``bias`` below), so the style decides each feature map's mean and spread.
"""

from __future__ import annotations

import torch


def channel_mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation over H, W: two (N, C, 1, 1) tensors.

    The standard deviation is the biased one (divide by H * W), with ``eps`` added to the variance so a
    constant feature map does not divide by zero.
    """
    if features.dim() != 4:
        raise ValueError(f"expected feature maps (N, C, H, W), got shape {tuple(features.shape)}")
    mean = features.mean(dim=(2, 3), keepdim=True)
    std = (features.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``content`` (N, C, H, W) normalized per channel, then given ``style_std`` and ``style_mean``.

    ``style_mean`` and ``style_std`` broadcast against (N, C, 1, 1): per-channel statistics of a style image
    (``channel_mean_std(style_features)``) or a learned function of a latent (StyleGAN's y_s and y_b).
    """
    # Statistics and normalization in float32: in bfloat16 the normalized values of a low-variance map lose
    # most of their precision (the same reason autocast runs normalization layers in float32).
    x = content.float()
    mean, std = channel_mean_std(x, eps)
    return (style_std.float() * (x - mean) / std + style_mean.float()).to(content.dtype)


def adain_transfer(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN(x, y) of the paper: ``content``'s features with the per-channel mean and std of ``style``'s."""
    style_mean, style_std = channel_mean_std(style, eps)
    return adain(content, style_mean, style_std, eps)
