"""The figures of an interpolator's card, from held-out pairs (the pairs `genzoo eval` measures).

    python scripts/interp_figures.py model_cards/interp-mnist --data ../shared/data
    python scripts/interp_figures.py model_cards/interp-celeba --data ../shared/data/celeba-10k --split heldout:500 \
        --rows 6 --compare-rows 3 --palette

Writes into the folder: ``interpolations.png`` (a row per pair: start, the steps, goal; black after a stop, the
seed's figures 4-5), ``walk.gif`` (the same pairs step by step) and ``compare.png`` (per pair three rows:
the transformation path, the pixel cross-fade, the latent path of the encoder-decoder baseline; the goal at
the end of each row). Pair i is image i with image P + i of the split, P = ``--pairs`` (the eval default: 500,
at most half the split), so the figures show the first ``--rows`` of the evaluated pairs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

import genzoo
from genzoo.animation import save_steps_gif
from genzoo.callbacks import save_grid
from genzoo.evaluate import INTERPOLATION_LATENT_BASELINES, _default_dataset, load_reference
from genzoo.interpolation import trajectory_strip
from genzoo.models.interpolator import crossfade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default=None, help="as genzoo eval: mnist test (default), image folders heldout:500")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--rows", type=int, default=8, help="pairs in interpolations.png and walk.gif")
    parser.add_argument("--compare-rows", type=int, default=4, help="pairs in compare.png")
    parser.add_argument("--latent-baseline", default=None)
    parser.add_argument("--palette", action="store_true",
                        help="re-save the PNGs with an adaptive 256-colour palette (colour faces: ~3x smaller files)")
    args = parser.parse_args()

    network = genzoo.load(str(args.folder))
    dataset = _default_dataset(network.info)
    split = args.split or ("test" if dataset == "mnist" else "heldout:500")
    size, channels, steps = network.image_size, network.channels, int(network.config["max_steps"])
    images, _ = load_reference(dataset, args.data, split, (channels, size, size), None, progress=False)
    images = images.float() / 255.0
    pairs = args.pairs or min(500, len(images) // 2)
    start, goal = images[: args.rows], images[pairs : pairs + args.rows]

    result = network.interpolate(start, goal)
    save_grid(trajectory_strip(result.frames, result.stop_step, goal), args.folder / "interpolations.png", nrow=steps + 2)
    save_steps_gif(result.frames.transpose(0, 1).contiguous(), args.folder / "walk.gif", nrow=args.rows // 2 or 1,
                   scale=2 if size <= 32 else 1)

    k = args.compare_rows
    latent_name = args.latent_baseline or INTERPOLATION_LATENT_BASELINES.get(dataset)
    latent = genzoo.load(latent_name)
    low, high = latent.value_range
    latent_frames = latent.to_unit_range(latent.interpolate(low + (high - low) * start[:k], low + (high - low) * goal[:k], steps=steps + 1))
    rows = []
    for i in range(k):
        for frames in (result.frames[i], crossfade(start[i], goal[i], steps), latent_frames[i]):
            rows.append(torch.cat([frames, goal[i][None]]))
    save_grid(torch.cat(rows), args.folder / "compare.png", nrow=steps + 2)
    if args.palette:
        for name in ("interpolations.png", "compare.png"):
            path = args.folder / name
            Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote interpolations.png, walk.gif and compare.png (rows: transformations, cross-fade, latent {latent_name}) "
          f"to {args.folder}; steps taken: {result.stop_step.tolist()}")


if __name__ == "__main__":
    main()
