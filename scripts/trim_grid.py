"""Keep the first rows of sample grids (as ``save_grid`` lays them out: 2 px padding) with a 256-colour palette.

    python scripts/trim_grid.py model_cards/ian-celeba/samples.png model_cards/ian-celeba/samples-before.png --rows 4

A card's before / after grids show the same seeds, so both keep the same rows. The release budget counts
every byte of a card; four rows of 64 px faces are enough to compare.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

PADDING = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grids", nargs="+", type=Path)
    parser.add_argument("--rows", type=int, required=True, help="rows of images to keep")
    parser.add_argument("--tile", type=int, default=64, help="side of one image in the grid, in pixels")
    args = parser.parse_args()
    if args.rows < 1 or args.tile < 1:
        parser.error("--rows and --tile must be positive")
    height = args.rows * (args.tile + PADDING) + PADDING
    for path in args.grids:
        with Image.open(path) as image:
            image.load()
        if (image.width - PADDING) % (args.tile + PADDING) or image.height < height:
            parser.error(f"{path} ({image.width}x{image.height}) is not a grid of {args.tile} px images with {args.rows} rows")
        trimmed = image.crop((0, 0, image.width, height))
        if trimmed.mode == "RGB":
            trimmed = trimmed.quantize(256)
        trimmed.save(path, optimize=True)
        print(f"{path}: kept {args.rows} rows ({trimmed.width}x{trimmed.height}, {path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
