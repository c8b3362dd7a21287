"""The protocol stamp: what produced a number, carried with the number.

An FID is meaningless without its feature extractor (and the hash of its weights), the resolution
and resize method, the reference data and split, and how many real and generated images went in.
Every genzoo metric returns, besides its plain ``compute()`` tensor, a :class:`MetricResult` from
``result(...)``: the value with that stamp, printable, JSON-able, and in the format of a checkpoint's
``metrics.json`` (``genzoo eval --json``) and the model card's model-index::

    {"type": "fid", "name": "FID (genzoo-mnist-classifier-v1)", "value": 12.3,
     "protocol": {"metric": "fid", "extractor": "genzoo-mnist-classifier-v1", "extractor_sha256": "...",
                  "input_resolution": "28x28", "resize": "none", "reference": "mnist", "reference_split": "test",
                  "num_real": 10000, "num_generated": 10000, "seed": 0, "genzoo_version": "0.1.0", ...}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torchmetrics import Metric

STAMP_FIELDS = (
    "metric",
    "extractor",
    "extractor_sha256",
    "input_resolution",
    "resize",
    "reference",
    "reference_split",
    "num_real",
    "num_generated",
    "seed",
    "genzoo_version",
)


def protocol_stamp(metric: str, **fields: Any) -> dict[str, Any]:
    """The stamp of one result: the standard fields (``None`` where they do not apply) then metric details.

    ``fields`` may set any of :data:`STAMP_FIELDS` and add metric-specific details (``kid_subsets``,
    ``pixels``, ...), which follow the standard fields in the order given.
    """
    from genzoo import __version__

    stamp = {key: None for key in STAMP_FIELDS}
    stamp.update(metric=metric, genzoo_version=__version__)
    stamp.update(fields)
    return stamp


@dataclass
class MetricResult:
    """One measured number with its protocol. ``extra`` holds companions such as a std or per-level values."""

    type: str
    name: str
    value: float
    protocol: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The registry / model-card format: ``{"type", "name", "value", "protocol", **extra}``."""
        return {
            "type": self.type,
            "name": self.name,
            "value": self.value,
            "protocol": dict(self.protocol),
            **self.extra,
        }

    def __str__(self) -> str:
        p = self.protocol
        value = f"{self.value:.6g}" + (f" ± {self.extra['std']:.3g}" if "std" in self.extra else "")
        parts = [f"{self.name}: {value}"]
        reference = "/".join(str(x) for x in (p.get("reference"), p.get("reference_split")) if x is not None)
        if p.get("num_real") is not None and p.get("num_generated") is not None:
            parts.append(f"{reference} {p['num_real']} real vs {p['num_generated']} generated".strip())
        else:
            count = p.get("num_real") if p.get("num_generated") is None else p.get("num_generated")
            parts.append(f"{reference} {count} images".strip())
        if p.get("input_resolution"):
            parts.append(f"{p['input_resolution']}, resize {p.get('resize') or 'none'}")
        if p.get("extractor_sha256"):
            parts.append(f"weights sha256 {p['extractor_sha256'][:12]}")
        parts.append(f"seed {p.get('seed')}, genzoo {p.get('genzoo_version')}")
        if "per_level" in self.extra:
            parts.append("levels " + ", ".join(f"{k}: {v:.4g}" for k, v in self.extra["per_level"].items()))
        return " | ".join(parts)


class StampedMetric(Metric):
    """A torchmetrics ``Metric`` whose ``result()`` returns its value with the protocol stamp.

    Subclasses set ``metric_type`` and ``label`` and implement :meth:`counts` (real, generated) and,
    when they have more to say, :meth:`protocol_details`.
    """

    metric_type: str = ""
    label: str = ""
    is_differentiable = False
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_resolution: str | None = None

    def _note_resolution(self, images: torch.Tensor) -> None:
        resolution = f"{images.shape[-2]}x{images.shape[-1]}"
        if self.input_resolution not in (None, resolution):
            raise ValueError(
                f"{type(self).__name__} got {resolution} images after {self.input_resolution} ones: one resolution per measurement"
            )
        self.input_resolution = resolution

    def counts(self) -> tuple[int | None, int | None]:
        """(number of real images, number of generated images) that went into the value."""
        raise NotImplementedError

    def protocol_details(self) -> dict[str, Any]:
        """Metric-specific protocol fields (extractor, resize, estimator settings)."""
        return {}

    def display_name(self) -> str:
        extractor = self.protocol_details().get("extractor")
        return f"{self.label} ({extractor})" if extractor else self.label

    def result_from_value(
        self, value: torch.Tensor | float, extra: dict[str, Any] | None = None, **context: Any
    ) -> MetricResult:
        # compute() reduces the states across DDP ranks and restores the local ones afterwards; the
        # counts in the stamp must be the global ones too.
        with self.sync_context(dist_sync_fn=self.dist_sync_fn, process_group=self.process_group):
            num_real, num_generated = self.counts()
            details = self.protocol_details()
        stamp = protocol_stamp(
            self.metric_type,
            input_resolution=self.input_resolution,
            num_real=num_real,
            num_generated=num_generated,
            **{**details, **{k: v for k, v in context.items() if v is not None}},
        )
        return MetricResult(self.metric_type, self.display_name(), float(value), stamp, extra or {})

    def result(
        self,
        *,
        reference: str | None = None,
        reference_split: str | None = None,
        seed: int | None = None,
        **context: Any,
    ) -> MetricResult:
        """``compute()`` with its protocol: pass what the metric cannot know (reference data, split, seed)."""
        return self.result_from_value(
            self.compute(), reference=reference, reference_split=reference_split, seed=seed, **context
        )
