"""Reconstruction error of models that encode and decode (IAN, VAEs): mean absolute pixel error.

Input contract of ``update``: two float tensors (N, C, H, W) of the same shape, the images and their
reconstructions, in the model's own value range (the unit is that range's: an L1 of 0.1 on images in
[-1, 1] is 0.05 on [0, 1]). State: float64 sum of absolute errors and element count (summed across
DDP ranks).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genzoo.metrics.protocol import StampedMetric


class ReconstructionL1(StampedMetric):
    """Mean |x - reconstruct(x)| over all pixels of the images seen (lower is better).

    Args:
        value_range: the (low, high) range of the images, recorded in the stamp.
    """

    metric_type = "recon_l1"
    label = "Reconstruction L1"
    higher_is_better = False

    def __init__(self, value_range: tuple[float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("elements", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("images", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, images: Tensor, reconstructions: Tensor) -> None:
        if not isinstance(images, Tensor) or not isinstance(reconstructions, Tensor) or images.dim() != 4:
            raise ValueError("ReconstructionL1.update takes two float tensors (N, C, H, W): images and reconstructions")
        if images.shape != reconstructions.shape:
            raise ValueError(f"images {tuple(images.shape)} and reconstructions {tuple(reconstructions.shape)} differ in shape")
        self._note_resolution(images)
        self.total += (images.double() - reconstructions.double()).abs().sum().cpu()
        self.elements += images.numel()
        self.images += len(images)

    def compute(self) -> Tensor:
        if int(self.elements) == 0:
            raise ValueError("ReconstructionL1 has seen no images")
        return self.total / self.elements

    def counts(self) -> tuple[int, None]:
        return int(self.images), None

    def protocol_details(self) -> dict[str, Any]:
        return {"value_range": list(self.value_range), "reduction": "mean over pixels and channels"}
