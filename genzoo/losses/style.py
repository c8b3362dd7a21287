"""Losses of texture synthesis and style transfer, on feature maps (N, C, H, W) of one layer.

Callers sum them over layers (and weigh them); each function here is one layer's term.

* Gram-matrix style loss (Gatys, Ecker and Bethge, "Texture Synthesis Using Convolutional Neural Networks",
  NIPS 2015; "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016): a texture is the
  correlations between a layer's feature maps, G_ij = sum_k F_ik F_jk over positions k. Here G is divided by
  the number of positions H * W (the mean outer product of the feature vectors), so images of different sizes
  have comparable Grams, and the loss is the mean of (G - A)^2 over the C x C entries: Gatys's
  E_l = 1 / (4 C^2 (HW)^2) sum (G - A)^2 of unnormalized Grams, times 4.
  This is also exactly Johnson et al.'s style reconstruction loss ||G/(CHW) - A/(CHW)||_F^2.
* Content (feature reconstruction) loss: mean squared difference of the features (Johnson, Alahi and Fei-Fei,
  "Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016: ||F(y) - F(y0)||^2 / CHW).
* Both optionally ``relative``: divided by the target's mean square, so layers of very different magnitudes
  weigh alike in a sum (see :func:`style_loss`).
* Total variation: mean absolute difference of neighbouring pixels (anisotropic), the smoothness prior the
  optimization methods add against high-frequency artifacts.
* AdaIN's style loss (Huang and Belongie, ICCV 2017): match the per-channel mean and standard deviation of the
  features, ||mu(f) - mu(s)||^2 + ||sigma(f) - sigma(s)||^2 as mean squared differences (the paper's code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.layers.adain import channel_mean_std


def _check_features(features: torch.Tensor, name: str = "features") -> None:
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"{name} must be feature maps (N, C, H, W), got {got}")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): G[n, i, j] = sum over positions of F[n, i] * F[n, j], divided by H * W.

    Computed in float32 at least (under autocast the products of large activations overflow float16).
    """
    _check_features(features)
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    if flat.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


def _relative(loss: torch.Tensor, target: torch.Tensor, relative: bool) -> torch.Tensor:
    # Divided by the target's mean square (a constant: no gradient): 1 for an all-zero prediction, whatever the
    # layer's magnitude.
    return loss / target.detach().float().pow(2).mean().clamp_min(1e-12) if relative else loss


def style_loss(features: torch.Tensor, target_gram: torch.Tensor, relative: bool = False) -> torch.Tensor:
    """Mean over samples and C x C entries of (gram_matrix(features) - target_gram)^2.

    ``target_gram`` is (C, C), (1, C, C) (one style for the whole batch) or (N, C, C) (one per sample).
    ``relative``: divide by the mean square of ``target_gram``, so that every layer's term has the same scale. Layers
    of a VGG differ by orders of magnitude (with random weights, relu5_1's Gram loss is ~20x the others' and the
    optimization serves it alone; with ImageNet weights the deep layers' Grams are the largest): the per-layer
    normalization He, Wang and Hopcroft (2016) found random-weight networks need.
    """
    gram = gram_matrix(features)
    if target_gram.shape[-2:] != gram.shape[-2:]:
        raise ValueError(f"target Gram matrix {tuple(target_gram.shape)} does not fit features with {gram.shape[-1]} channels")
    return _relative(F.mse_loss(gram, target_gram.to(gram.dtype).expand_as(gram)), target_gram, relative)


def content_loss(features: torch.Tensor, target: torch.Tensor, relative: bool = False) -> torch.Tensor:
    """Mean squared difference of two feature maps of the same shape (the target broadcasts over the batch).

    ``relative``: divide by the mean square of ``target`` (see :func:`style_loss`).
    """
    _check_features(features)
    if target.shape[1:] != features.shape[1:]:
        raise ValueError(f"content target {tuple(target.shape)} does not match features {tuple(features.shape)}")
    return _relative(F.mse_loss(features, target.to(features.dtype).expand_as(features)), target, relative)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """mean |x[.., i, j+1] - x[.., i, j]| + mean |x[.., i+1, j] - x[.., i, j]| of images (N, C, H, W), H, W >= 2."""
    _check_features(images, "images")
    if min(images.shape[-2:]) < 2:
        raise ValueError(f"total variation needs images of at least 2x2 pixels, got {tuple(images.shape[-2:])}")
    horizontal = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    vertical = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return horizontal + vertical


def adain_style_loss(features: torch.Tensor, style_features: torch.Tensor) -> torch.Tensor:
    """MSE between the per-channel means plus MSE between the per-channel standard deviations (over H, W).

    ``style_features`` may have another spatial size; its batch must be ``features``'s or 1.
    """
    _check_features(features)
    _check_features(style_features, "style_features")
    mean, std = channel_mean_std(features)
    style_mean, style_std = channel_mean_std(style_features)
    return F.mse_loss(mean, style_mean.expand_as(mean)) + F.mse_loss(std, style_std.expand_as(std))
