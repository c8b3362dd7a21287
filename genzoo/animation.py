"""Step-by-step generation as pictures: an animated GIF and a grid of canvases over time.

Models that build an image over several steps (DRAW's canvas) return ``steps``, a float tensor
(T, n, C, H, W) with values in [0, 1]: the n images after each of the T steps. ``save_steps_gif``
writes one frame per step, each frame a grid of the n images; ``save_steps_grid`` writes one PNG with
a row per image and a column per (chosen) step.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torchvision.utils import make_grid

from genzoo._checks import check_count, check_number


def check_steps(steps: torch.Tensor) -> torch.Tensor:
    """Validate (T, n, C, H, W) in [0, 1] with C in (1, 3); return it as a float CPU tensor."""
    if not isinstance(steps, torch.Tensor) or steps.is_complex():
        raise TypeError(f"expected steps, a real torch.Tensor of shape (T, n, C, H, W), got {type(steps).__name__}")
    if steps.dim() != 5:
        raise ValueError(f"expected steps of shape (T, n, C, H, W), got {tuple(steps.shape)}")
    if steps.shape[0] < 1 or steps.shape[1] < 1:
        raise ValueError(f"expected at least one step and one image, got shape {tuple(steps.shape)}")
    if steps.shape[2] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {steps.shape[2]} (shape {tuple(steps.shape)})")
    steps = steps.detach().float().cpu()
    if not torch.isfinite(steps).all() or steps.min() < 0.0 or steps.max() > 1.0:
        raise ValueError("expected step images in [0, 1]; map them with model.to_unit_range first")
    return steps


def _to_uint8(image: torch.Tensor):
    # (C, H, W) in [0, 1] -> (H, W) or (H, W, 3) uint8 for PIL
    array = (image * 255.0).round().clamp(0, 255).to(torch.uint8)
    array = array[0] if array.shape[0] == 1 else array.permute(1, 2, 0)
    return array.numpy()


def steps_frames(steps: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> list:
    """One PIL image per step: the n images of that step as a grid (``nrow`` per row), upscaled ``scale`` times."""
    from PIL import Image

    steps = check_steps(steps)
    scale = check_count(scale, "scale", "screen pixels per image pixel")
    padding = check_count(padding, "padding", "pixels", minimum=0)
    nrow = check_count(nrow, "nrow", "images per row") if nrow is not None else max(1, math.ceil(math.sqrt(steps.shape[1])))
    frames = []
    for images in steps:
        grid = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
        frame = Image.fromarray(_to_uint8(grid))
        if scale > 1:
            frame = frame.resize((frame.width * scale, frame.height * scale), Image.NEAREST)
        frames.append(frame)
    return frames


def save_steps_gif(
    steps: torch.Tensor,
    path: str | os.PathLike,
    nrow: int | None = None,
    duration_ms: int = 100,
    final_hold_ms: int = 1500,
    loop: int = 0,
    scale: int = 2,
    levels: int = 256,
) -> Path:
    """Write the step-by-step generation as an animated GIF: frame t shows the n images after step t.

    Args:
        steps: (T, n, C, H, W) float in [0, 1], e.g. ``model.sample(16, seed=0, return_steps=True)``.
        path: the .gif file to write (folders are created).
        nrow: images per row of each frame (default: a square grid).
        duration_ms: how long each step's frame shows; the last one shows ``final_hold_ms``.
        loop: 0 loops forever (GIF convention); n plays n + 1 times.
        scale: nearest-neighbour upscaling factor (28 px digits are small on screen).
        levels: intensity levels per channel, 2 to 256. Grey Bernoulli means compress badly; 32 levels look
            the same on screen and roughly halve the file (the release budget counts every byte of a card).

    Returns the path written.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    duration_ms = check_number(duration_ms, "duration_ms", minimum=0)
    final_hold_ms = check_number(final_hold_ms, "final_hold_ms", minimum=0)
    loop = check_count(loop, "loop", "extra plays (0: forever)", minimum=0)
    levels = check_count(levels, "levels", "intensity levels per channel (8-bit frames)", minimum=2, maximum=256)
    frames = steps_frames(steps, nrow=nrow, scale=scale)
    if levels < 256:
        # Round each 8-bit value to the nearest of `levels` evenly spaced values (0 and 255 included).
        step = 255 / (levels - 1)
        lookup = [round(round(value / step) * step) for value in range(256)]
        frames = [frame.point(lookup * len(frame.getbands())) for frame in frames]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [int(duration_ms)] * (len(frames) - 1) + [int(max(final_hold_ms, duration_ms))]
    frames[0].save(
        path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=loop, optimize=False,
        disposal=1,
    )
    return path


def save_steps_grid(
    steps: torch.Tensor, path: str | os.PathLike, max_columns: int | None = 16, padding: int = 2
) -> Path:
    """Write one PNG with a row per image and a column per step (the paper's Figure 7 layout).

    Args:
        steps: (T, n, C, H, W) float in [0, 1].
        path: the .png file to write.
        max_columns: show at most this many steps, evenly spaced and always including the last
            (None: every step).

    Returns the path written.
    """
    from torchvision.utils import save_image

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    steps = check_steps(steps)
    total = steps.shape[0]
    if max_columns is not None:
        max_columns = check_count(max_columns, "max_columns", "columns (or None for every step)")
    padding = check_count(padding, "padding", "pixels", minimum=0)
    if max_columns is None or total <= max_columns:
        chosen = list(range(total))
    else:
        chosen = sorted({round(i * (total - 1) / (max_columns - 1)) for i in range(max_columns)}) if max_columns > 1 else [total - 1]
    selected = steps[chosen]  # (columns, n, C, H, W)
    rows = selected.transpose(0, 1).reshape(-1, *steps.shape[2:])  # image-major: one row per image
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(rows, path, nrow=len(chosen), padding=padding, pad_value=1.0)
    return path
