"""The base class of every network genzoo saves, loads and publishes.

A ``GenerativeNetwork`` is a plain ``nn.Module`` (no Lightning) whose constructor takes only JSON-able
keyword arguments. Those arguments are kept in ``self.config`` and written to ``config.json``, so a
checkpoint folder rebuilds the exact network without unpickling anything.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar, Iterator

import torch
from torch import nn

from genzoo._checks import check_seed


class GenerativeNetwork(nn.Module):
    """Base of the Hub-saveable networks.

    Subclasses call ``super().__init__(**their_arguments)`` and implement :meth:`sample`.

    What the architecture defines is derived, never stored twice: image size, channels and latent size
    come from ``config`` (:meth:`describe`), the value range from the class. ``info`` carries the facts of
    one trained checkpoint (name, family, dataset, licence, training record, metrics), filled by
    :func:`genzoo.load` or by the training export.
    """

    #: The (low, high) range of the images the architecture produces (its output layer fixes it).
    VALUE_RANGE: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    #: Arguments that shrink a released configuration to a seconds-sized copy (tests, smoke runs).
    TINY_CONFIG: ClassVar[dict[str, Any]] = {}
    #: What the network does, as a Hugging Face pipeline tag: generators sample from noise
    #: ("unconditional-image-generation"); "image-to-image" networks (super-resolution) transform an input.
    PIPELINE_TAG: ClassVar[str] = "unconditional-image-generation"

    def __init__(self, **config: Any) -> None:
        super().__init__()
        try:
            json.dumps(config)
        except TypeError as err:
            raise TypeError(
                f"{type(self).__name__} takes only JSON-able arguments (numbers, strings, lists, dicts) so that "
                f"config.json can rebuild it; got {config!r}"
            ) from err
        self.config: dict[str, Any] = dict(config)
        self.info: dict[str, Any] = {}

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The facts a configuration of this architecture defines: what it does (its pipeline tag), image size,
        channels, latent size, value range."""
        return {
            "architecture": cls.__name__,
            "pipeline_tag": cls.PIPELINE_TAG,
            "image_size": config.get("image_size"),
            "channels": config.get("channels"),
            "latent_dim": config.get("latent_dim"),
            "value_range": [float(v) for v in cls.VALUE_RANGE],
        }

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point type the network computes in (float32 unless loaded with another ``dtype``)."""
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    @property
    def value_range(self) -> tuple[float, float]:
        """The (low, high) range of the images this network produces."""
        low, high = self.VALUE_RANGE
        return float(low), float(high)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Draw ``n`` images, a float tensor (n, C, H, W) in ``self.value_range``."""
        raise NotImplementedError

    def to_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        """Map images from this network's value range to [0, 1] (for saving or metrics)."""
        low, high = self.value_range
        return ((images - low) / (high - low)).clamp(0.0, 1.0)

    def gaussian_noise(self, *shape: int, seed: int | None = None) -> torch.Tensor:
        """Standard normal noise on this network's device.

        With a seed the noise is drawn from a private CPU generator, so the same seed gives the same
        images on every device and leaves the global random state untouched. The noise is drawn in
        float32 and then cast to the network's dtype, so a half-precision copy sees the same noise.
        """
        if seed is None:
            return torch.randn(*shape, device=self.device).to(self.dtype)
        generator = torch.Generator().manual_seed(check_seed(seed))
        return torch.randn(*shape, generator=generator).to(self.device, self.dtype)

    @contextlib.contextmanager
    def inference_mode(self) -> Iterator[None]:
        """Eval mode and no autograd for the duration, restoring the previous mode afterwards."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())
