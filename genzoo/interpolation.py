"""Start-to-goal interpolation helpers behind ``genzoo interpolate``: the animation and the strip of the seed's figures 4-5.

    genzoo interpolate interp-celeba --start a.png --goal b.png --out path.gif --grid path.png
    genzoo interpolate interp-mnist-stop --start 3.png 5.png --goal 7.png 1.png --out walk.gif --grid strip.png

Each image is read in the network's channels and resized (bicubic) to its training size; pairs are formed
in order (the i-th --start with the i-th --goal). The GIF shows the current states of every pair, one frame per
step; the grid has a row per pair: start, the states after each step (black once the agent has stopped,
as in the seed's figure 4), goal.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from genzoo.animation import save_steps_gif
from genzoo.callbacks import save_grid
from genzoo.translation import read_for


def trajectory_strip(frames: torch.Tensor, stop_step: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """The tiles of a strip, pair after pair: start, steps 1..K (black after the stop), goal.

    ``frames``: (N, K + 1, C, H, W); ``stop_step``: (N,); ``goal``: (N, C, H, W) -> (N * (K + 2), C, H, W).
    """
    length = frames.shape[1]
    steps = torch.arange(1, length, device=frames.device)
    terminated = steps[None, :] > stop_step.to(frames.device)[:, None]  # (N, K): after the final state
    shown = frames[:, 1:].masked_fill(terminated[:, :, None, None, None], 0.0)
    return torch.cat([frames[:, :1], shown, goal[:, None]], dim=1).flatten(0, 1)


def interpolate_files(network, starts: list[Path], goals: list[Path], out: str | os.PathLike,
                      grid: str | os.PathLike | None = None, max_steps: int | None = None, crop: str = "none") -> dict:
    """Interpolate each (start, goal) pair of image files; write the GIF (and the strip); return a summary.

    The files are resized to the network's size; ``crop`` first cuts a square (``"center"``, or ``"celeba"``: the
    aligned-CelebA face box that `interp-celeba` was trained on)."""
    if len(starts) != len(goals):
        raise ValueError(f"give as many --goal images as --start images (pairs are formed in order), got {len(starts)} and {len(goals)}")
    if Path(out).suffix.lower() != ".gif":
        raise ValueError(f"--out must name a .gif file, got {out}")
    start = torch.stack([read_for(network, path, crop) for path in starts])
    goal = torch.stack([read_for(network, path, crop) for path in goals])
    result = network.interpolate(start, goal, max_steps=max_steps)
    frames = result.frames.float().cpu()
    save_steps_gif(frames.transpose(0, 1).contiguous(), out, nrow=len(starts), scale=4 if network.image_size <= 32 else 2)
    if grid is not None:
        save_grid(trajectory_strip(frames, result.stop_step.cpu(), goal.float().cpu()), grid, nrow=frames.shape[1] + 1)
    final_l1 = (result.final.float().cpu() - goal.float().cpu()).abs().flatten(1).mean(1)
    return {"steps": [int(s) for s in result.stop_step], "final_l1": [round(float(d), 4) for d in final_l1]}
