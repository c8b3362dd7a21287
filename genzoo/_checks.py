"""Argument checks shared by the public API: wrong input gets a message that says what is expected.

Torch's own errors for these cases ("randn(): argument 'size' must be tuple of ints", "manual_seed
expected a long") name its internals, not the argument the user passed; these name the argument.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit integer


def check_seed(seed: Any, name: str = "seed") -> int:
    """Return ``seed`` if it is an integer in [0, 2**63 - 1]; raise a clear error otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer (or None for fresh randomness), got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be in [0, 2**63 - 1], got {seed}")
    return int(seed)


def check_count(n: Any, name: str = "n", what: str = "images", minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``n`` if it is an integer >= ``minimum`` (and at most ``maximum``, a number of ``what``); raise a
    clear error otherwise."""
    expected = f"a positive integer number of {what}" if minimum == 1 else f"an integer number of {what} >= {minimum}"
    if maximum is not None:
        expected += f" and at most {maximum}"
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be {expected}, got {n!r} ({type(n).__name__})")
    if n < minimum or (maximum is not None and n > maximum):
        raise ValueError(f"{name} must be {expected}, got {n}")
    return int(n)


def check_number(x: Any, name: str, minimum: float | None = None) -> float:
    """Return ``x`` as a float if it is a finite real number (>= ``minimum``); raise a clear error otherwise."""
    expected = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {x!r} ({type(x).__name__})")
    if not math.isfinite(x) or (minimum is not None and x < minimum):
        raise ValueError(f"{name} must be {expected}, got {x}")
    return float(x)


def check_tensor(
    x: Any,
    shape: tuple[int | str, ...],
    name: str,
    what: str = "images",
    value_range: tuple[float, float] | None = None,
    tolerance: float = 0.0,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Return ``x`` moved to ``device`` and cast to ``dtype`` if it is a non-empty real tensor of ``shape`` with
    finite values (within ``value_range``, give or take ``tolerance``); raise a TypeError / ValueError naming
    ``name`` and the expected shape otherwise. ``shape`` mixes sizes and letters: ("N", 1, 28, 28) takes any N.
    Values are checked before the cast, so a cast that rounds or overflows cannot hide a wrong input."""
    expected = "(" + ", ".join(map(str, shape)) + ")"
    if not isinstance(x, torch.Tensor) or x.is_complex():
        got = f"a complex tensor {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a real torch.Tensor of {what} of shape {expected}, got {got}")
    if x.dim() != len(shape) or any(isinstance(want, int) and want != size for want, size in zip(shape, x.shape)):
        raise ValueError(f"{name} must be {what} of shape {expected}, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): expected {what} of shape {expected}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if value_range is not None:
        low, high = x.min().item(), x.max().item()
        if low < value_range[0] - tolerance or high > value_range[1] + tolerance:
            raise ValueError(
                f"{name} must have values in [{value_range[0]:g}, {value_range[1]:g}], "
                f"got values in [{low:.3g}, {high:.3g}]"
            )
    return x.to(device=device, dtype=dtype)


def rgb_batch(images: Any, name: str = "images", min_size: int = 1) -> tuple[torch.Tensor, bool]:
    """(N, 3, H, W) float in [0, 1] and whether a batch dimension was added to a (3, H, W) image; clear errors
    for a non-tensor, another shape, grayscale, a too small image or values outside [0, 1]."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = f"a {images.dtype} tensor" if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"{name} must be a float RGB tensor (3, H, W) or (N, 3, H, W) in [0, 1], got {got}")
    single = images.dim() == 3
    batch = images[None] if single else images
    if batch.dim() != 4 or batch.shape[1] != 3:
        gray = batch.dim() == 4 and batch.shape[1] == 1
        hint = " (a grayscale image: repeat it to RGB with image.expand(3, -1, -1) or .expand(-1, 3, -1, -1))" if gray else ""
        raise ValueError(f"{name} must be RGB, shape (3, H, W) or (N, 3, H, W); got shape {tuple(images.shape)}{hint}")
    if batch.numel() == 0 or min(batch.shape[-2:]) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got {tuple(batch.shape[-2:])}")
    if not torch.isfinite(batch).all() or batch.min() < -1e-3 or batch.max() > 1 + 1e-3:
        raise ValueError(f"{name} must have finite values in [0, 1] (got [{batch.min().item():.3g}, {batch.max().item():.3g}])")
    return batch, single
