"""Image-to-image translation helpers behind ``genzoo translate``: translate image files, and the input | output grid.

    genzoo translate cyclegan-horse2zebra --input horse.jpg --output out/
    genzoo translate cyclegan-horse2zebra --input ../shared/data/horse2zebra-128/testB --direction b2a --output out/ --grid grid.png
    genzoo translate pix2pix-celeba-edges --input edges/ --output faces/ --grid grid.png

Each image is read in the network's channels and resized (bicubic) to the network's training size
(``image_size`` x ``image_size``), as its test images were; the result is written as an 8-bit PNG
``<stem>_<direction>.png`` (or to ``--output`` itself when it names a .png file and there is one input).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from tqdm.auto import tqdm

from genzoo.callbacks import save_grid


def read_for(network, path: str | os.PathLike, crop: str = "none") -> torch.Tensor:
    """An image file as the network's input: (C, S, S) in its value range, S its training size; ``crop`` as
    genzoo.data.read_image (``"celeba"``: the aligned-CelebA face box the CelebA checkpoints were trained on)."""
    from genzoo.data import read_image

    image = read_image(path, network.channels, network.image_size, crop=crop).float() / 255.0
    low, high = network.value_range
    return low + (high - low) * image


def save_image(image_unit: torch.Tensor, path: str | os.PathLike) -> Path:
    """Save one image (C, H, W) in [0, 1] as an optimized 8-bit PNG (grayscale for one channel)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = image_unit.detach().float().cpu().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(path, optimize=True)
    return path


def translate_files(network, inputs: list[Path], output: str | os.PathLike, direction: str = "a2b",
                    grid: str | os.PathLike | None = None, batch_size: int = 8, progress: bool = True) -> list[Path]:
    """Translate each input file with ``network.translate`` in ``direction`` and write PNGs; return the written paths.

    ``output``: a .png file name for a single input, else a folder. ``grid``: also write a figure with a row per
    image: input | output (the inputs as the network saw them, resized to its training size).
    """
    directions = tuple(getattr(network, "generators", ()))
    if direction not in directions:  # before reading any file
        raise ValueError(f"--direction must be one of {', '.join(directions)} for {type(network).__name__}, got {direction!r}")
    output = Path(output)
    single = len(inputs) == 1 and output.suffix.lower() == ".png"
    written, tiles = [], []
    batches = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
    with tqdm(total=len(inputs), desc=f"translating {direction}", disable=not progress) as bar:
        for files in batches:
            images = torch.stack([read_for(network, path) for path in files])
            results = network.translate(images, direction)
            for path, image, result in zip(files, images, results):
                target = output if single else output / f"{Path(path).stem}_{direction}.png"
                written.append(save_image(network.to_unit_range(result), target))
                if grid is not None:
                    shown = network.to_unit_range(image).to(result.device)
                    result_unit = network.to_unit_range(result)
                    tiles += [shown.expand_as(result_unit) if shown.shape[0] == 1 else shown, result_unit]
            bar.update(len(files))
    if grid is not None:
        save_grid(torch.stack(tiles).float().cpu(), grid, nrow=2)
    return written
