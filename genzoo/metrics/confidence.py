"""Classifier confidence: the mean max-softmax probability a classifier gives to images (higher is better).

A frame a digit classifier is sure about looks like a digit; a cross-fade's ghostly overlays of two digits
get low confidence. Used for the naturalness of interpolation frames on MNIST (``genzoo eval`` of
interpolators) with genzoo's bundled MNIST classifier (any extractor with logits works).

Input contract of ``update``: float images (N, C, H, W) in [0, 1], quantized to 8 bits as a saved PNG would
be (through the extractor). State: float64 sum of max-softmax probabilities and the image count.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genzoo.metrics.extractors import FeatureExtractor
from genzoo.metrics.protocol import StampedMetric


class ClassifierConfidence(StampedMetric):
    """Mean over images of max_k softmax(logits)_k of ``extractor``'s logits."""

    metric_type = "confidence"
    label = "Classifier confidence"
    higher_is_better = True

    def __init__(self, extractor: FeatureExtractor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extractor = extractor
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("images", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, images: Tensor) -> None:
        self._note_resolution(images)
        _, logits = self.extractor.extract(images)
        if logits is None:
            raise ValueError(f"{self.extractor.name} has no logits: classifier confidence needs a classifier")
        self.total += logits.double().softmax(dim=1).max(dim=1).values.sum().cpu()
        self.images += len(images)

    def compute(self) -> Tensor:
        if int(self.images) == 0:
            raise ValueError("ClassifierConfidence has seen no images")
        return self.total / self.images

    def counts(self) -> tuple[None, int]:
        return None, int(self.images)

    def protocol_details(self) -> dict[str, Any]:
        return {**self.extractor.protocol(), "reduction": "mean over images of the max softmax probability"}
