"""Super-resolution helpers behind ``genzoo upscale``: upscale image files, and the side-by-side crop figure.

    genzoo upscale vdsr-291 --scale 2 --input photo.png --output big.png
    genzoo upscale vdsr-291 --scale 3 --input ../shared/data/sr/Set5 --hr --output out/ --compare crops.png

With ``--hr`` the inputs are high-resolution images: each is cropped to a multiple of the scale and
downscaled by the protocol's bicubic (as ``genzoo eval`` does) before upscaling, and the original serves as
ground truth in the figure. Images are read as RGB and written as 8-bit PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from tqdm.auto import tqdm

from genzoo.callbacks import save_grid


def image_files(path: str | os.PathLike) -> list[Path]:
    """``path`` itself if it is a file, else the images of the folder (sorted)."""
    from genzoo.data import list_image_files

    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"--input {path} does not exist")
    return list_image_files(path)


def save_png(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Save an RGB image (3, H, W) in [0, 1] as an optimized 8-bit PNG (rounded as save_image does)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = image.detach().float().cpu().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(path, optimize=True)
    return path


def center_box(height: int, width: int, size: int) -> tuple[int, int, int]:
    """(top, left, side) of a centred square crop of at most ``size`` pixels."""
    side = min(size, height, width)
    return (height - side) // 2, (width - side) // 2, side


def upscale_files(network, inputs: list[Path], output: str | os.PathLike, scale: int, from_hr: bool = False,
                  compare: str | os.PathLike | None = None, crop: int = 96, progress: bool = True) -> list[Path]:
    """Upscale each input file by ``scale`` with ``network`` and write PNGs; return the written paths.

    ``output``: a file name for a single input, else a folder (one ``<stem>_x<scale>.png`` per input).
    ``compare``: also write a figure with a row per image: centred ``crop``-pixel crops (of the HR size) of
    bicubic | network | ground truth (with ``from_hr``).
    """
    from genzoo.data import read_image
    from genzoo.data.sr import make_lr

    output = Path(output)
    single = len(inputs) == 1 and output.suffix.lower() == ".png"
    written, tiles = [], []
    for path in tqdm(inputs, desc=f"upscaling x{scale}", disable=not progress):
        image = read_image(path, channels=3, image_size=None).double() / 255.0
        truth = None
        if from_hr:
            truth, image = make_lr(image, scale)
            image = (image.clamp(0, 1) * 255).round() / 255  # as an 8-bit LR file
        result = network.upscale(image.float(), scale).cpu()
        target = output if single else output / f"{Path(path).stem}_x{scale}.png"
        written.append(save_png(result, target))
        if compare is not None:
            top, left, side = center_box(*result.shape[-2:], crop)
            row = [network.bicubic(image.float(), scale).cpu(), result] + ([truth.float()] if truth is not None else [])
            tiles += [t[:, top : top + side, left : left + side] for t in row]
    if compare is not None:
        sides = {t.shape[-1] for t in tiles} | {t.shape[-2] for t in tiles}
        if len(sides) > 1:  # an image smaller than the crop: pad every tile to the same square
            side = max(sides)
            tiles = [torch.nn.functional.pad(t, (0, side - t.shape[-1], 0, side - t.shape[-2]), value=1.0) for t in tiles]
        save_grid(torch.stack(tiles), compare, nrow=3 if from_hr else 2)
    return written
