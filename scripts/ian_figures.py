"""The card figures of an IAN checkpoint folder trained on CelebA, drawn from the weights as stored.

    python scripts/ian_figures.py model_cards/ian-celeba --data ../shared/data/celeba-10k

Writes into the folder, from the faces the recipe holds out (``ImageFolderDataModule`` with the recipe's
``val_size`` 500 and ``seed`` 0: never trained on):

* ``reconstructions.png``: held-out faces 0-15, odd rows the photos, even rows ``model.reconstruct``;
* ``paint.png``: held-out faces 16-23 under one contextual-paintbrush stroke, top to bottom: photo X,
  reconstruction X_hat, G(z) after the brush steps, the edited photo Y = X_hat + M * Delta + (1 - M) * (X - X_hat).
  The brush paints a band across the forehead and hair (rows 4-17, columns 8-55 of 64) a warm yellow,
  ``steps=5, step_size=1.0, rgb=(0.95, 0.85, 0.3), blur_sigma=2.0``.

Both are saved with a 256-colour adaptive palette (the release budget counts every byte of a card).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import genzoo
from genzoo.callbacks import save_grid
from genzoo.data import ImageFolderDataModule
from genzoo.editing import paint

BRUSH = dict(steps=5, step_size=1.0, rgb=(0.95, 0.85, 0.3), blur_sigma=2.0)


def held_out_faces(data_dir: str, size: int, count: int) -> torch.Tensor:
    data = ImageFolderDataModule(data_dir, image_size=size, crop="celeba", val_size=500, seed=0, in_memory=False)
    data.setup("fit")
    return torch.stack([data.val_set[i][0] for i in range(count)])


def forehead_band(size: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[..., round(size * 4 / 64) : round(size * 18 / 64), round(size * 8 / 64) : round(size * 56 / 64)] = 1.0
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--data", required=True, help="the celeba-10k folder the model was trained on")
    args = parser.parse_args()
    network = genzoo.load(args.folder)
    size = network.image_size
    faces = held_out_faces(args.data, size, 24)
    unit = network.to_unit_range

    photos = faces[:16]
    reconstructed = network.reconstruct(photos)
    rows = [photos[:8], reconstructed[:8], photos[8:], reconstructed[8:]]
    save_grid(unit(torch.cat(rows)), args.folder / "reconstructions.png", nrow=8, palette_colors=256)

    photos = faces[16:24]
    stroke = paint(network, photos, mask=forehead_band(size), **BRUSH)
    rows = [photos, stroke.reconstruction, stroke.edited_reconstruction, stroke.image]
    save_grid(unit(torch.cat(rows)), args.folder / "paint.png", nrow=8, palette_colors=256)
    print(f"figures written to {args.folder}")


if __name__ == "__main__":
    main()
