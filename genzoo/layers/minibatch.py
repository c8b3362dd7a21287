"""Minibatch discrimination (Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016).

Each sample's features f_i (A values) are projected by a learned tensor T to B rows of C values,
M_i = f_i T (B x C). For each row b, c_b(i, j) = exp(-||M_i,b - M_j,b||_1) measures how close
samples i and j are, and o_i,b = sum_{j != i} c_b(i, j). The output is [f_i, o_i] (A + B values), so
the discriminator can see a batch whose samples are all alike (mode collapse).
"""

from __future__ import annotations

import torch
from torch import nn


class MinibatchDiscrimination(nn.Module):
    """(N, in_features) -> (N, in_features + kernels). The statistics depend on the whole batch."""

    def __init__(self, in_features: int, kernels: int = 16, kernel_dim: int = 8) -> None:
        super().__init__()
        self.in_features, self.kernels, self.kernel_dim = in_features, kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.05)

    @property
    def out_features(self) -> int:
        return self.in_features + self.kernels

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"expected (N, {self.in_features}), got {tuple(features.shape)}")
        m = (features @ self.T).view(-1, self.kernels, self.kernel_dim)  # (N, B, C)
        distances = (m[:, None] - m[None, :]).abs().sum(-1)  # (N, N, B), L1 over C
        closeness = torch.exp(-distances).sum(1) - 1.0  # drop j == i, whose closeness is exp(0) = 1
        return torch.cat([features, closeness], dim=1)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al., ProGAN, ICLR 2018), as StyleGAN's discriminator uses it.

    The batch is split into groups of ``group_size`` samples; within each group the standard deviation of
    every feature at every position is computed, averaged over features and positions to one number per
    group, and appended to each sample of the group as a constant extra channel. A generator whose samples
    are all alike gives a small value the discriminator can see. (N, C, H, W) -> (N, C + 1, H, W).
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        if n % group:  # the last batch of an epoch may be odd-sized: fall back to one group of all samples
            group = n
        grouped = x.reshape(group, -1, c, h, w)  # (G, N / G, C, H, W): sample i belongs to group i % (N / G)
        std = (grouped.var(dim=0, unbiased=False) + self.eps).sqrt()  # (N / G, C, H, W)
        statistic = std.mean(dim=(1, 2, 3))  # (N / G,)
        extra = statistic.repeat(group).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, extra.to(x.dtype)], dim=1)
