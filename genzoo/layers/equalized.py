"""Equalized learning rate (Karras et al., ProGAN, ICLR 2018; used throughout StyleGAN).

Weights are stored as N(0, 1) samples and scaled at run time by ``gain / sqrt(fan_in)`` (He's constant),
instead of being initialized with that scale. Adam normalizes each update by the gradient's running
magnitude, so with the scale applied in the forward pass every layer learns at the same speed whatever
its fan-in. ``lr_multiplier`` (StyleGAN's mapping network uses 0.01) divides the stored weights and
multiplies the runtime scale: the effective weights are the same, but updates are that much smaller.

The runtime scale of a layer is ``weight_scale = gain * lr_multiplier / sqrt(fan_in)`` and its bias is
multiplied by ``lr_multiplier``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualizedLinear(nn.Module):
    """y = x (W * weight_scale)^T + b * lr_multiplier, with W ~ N(0, 1 / lr_multiplier^2) stored."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_multiplier: float = 1.0, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_multiplier)) if bias else None
        self.weight_scale = gain * lr_multiplier / math.sqrt(in_features)
        self.lr_multiplier = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_multiplier if self.bias is not None else None
        return F.linear(x, self.weight * self.weight_scale, bias)

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"{in_features}, {out_features}, weight_scale={self.weight_scale:.4g}, lr_multiplier={self.lr_multiplier}"


class EqualizedConv2d(nn.Module):
    """A same-padded k x k convolution with runtime weight scale gain / sqrt(in_channels * k * k)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.weight_scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, k, _ = self.weight.shape
        return f"{in_channels}, {out_channels}, kernel_size={k}, weight_scale={self.weight_scale:.4g}"
