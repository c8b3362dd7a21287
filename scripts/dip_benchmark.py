"""Deep Image Prior measured: x4 super-resolution on Set5 against bicubic, and inpainting against a simple fill.

    python scripts/dip_benchmark.py --set5 ../shared/data/sr/Set5 --out docs/dip [--crop 128] [--width 32]

Both tasks run ``genzoo.prior.restore`` (the paper's hourglass, input noise and Adam; ``--width`` channels instead
of the paper's 128 and centre ``--crop`` squares of the HR images instead of whole images, so that it fits a CPU:
each image is its own optimization of ``--steps`` steps).

* x4 SR: the HR crop is downscaled by the MATLAB-style bicubic (``genzoo.imresize``), as the SR models' protocol;
  Y-channel PSNR with a 4-pixel border against the HR crop, for DIP and for bicubic upscaling of the same LR crop.
* Inpainting: a seeded mask of 8x8 holes over ~25% of the crop; RGB PSNR over the hole pixels, for DIP and for a
  normalized-convolution fill (blur(image * mask) / blur(mask), Gaussian sigma 4: what a "smooth fill" gives).

Writes ``<out>.json`` (every number with the settings and wall time) and ``<out>.png`` (rows per image: bicubic |
DIP | truth for SR; masked input | fill | DIP | truth for inpainting), and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur
from torchvision.utils import save_image

from genzoo.data import list_image_files
from genzoo.imresize import imresize
from genzoo.prior import psnr, restore
from genzoo.style import load_image

SCALE = 4


def centre_crop(image: torch.Tensor, side: int) -> torch.Tensor:
    height, width = image.shape[-2:]
    side = min(side, height, width) // SCALE * SCALE
    top, left = (height - side) // 2, (width - side) // 2
    return image[:, top : top + side, left : left + side]


def hole_mask(side: int, seed: int, hole: int = 8, fraction: float = 0.25) -> torch.Tensor:
    """(side, side) with 1 = known, 0 = hole: a seeded choice of ``fraction`` of the hole x hole cells."""
    cells = side // hole
    generator = torch.Generator().manual_seed(seed)
    known = (torch.rand(cells, cells, generator=generator) >= fraction).float()
    mask = known.repeat_interleave(hole, 0).repeat_interleave(hole, 1)
    return F.pad(mask, (0, side - mask.shape[1], 0, side - mask.shape[0]), value=1.0)


def hole_psnr(image: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> float:
    holes = mask == 0
    error = ((image.clamp(0, 1) * 255).round() - (truth * 255).round())[:, holes].pow(2).mean()
    return float(10 * torch.log10(255.0**2 / error))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set5", required=True, help="the folder of Set5's HR images")
    parser.add_argument("--out", default="docs/dip", help="writes OUT.json and OUT.png")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--sr-steps", type=int, default=2000, help="the paper's for x4")
    parser.add_argument("--inpaint-steps", type=int, default=3000)
    parser.add_argument("--inpaint-images", type=int, default=2, help="the first N images of the folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    files = list_image_files(args.set5)
    rows, tiles = [], []
    started = time.perf_counter()
    for path in files:
        truth = centre_crop(load_image(path), args.crop)
        low = imresize(truth, 1.0 / SCALE).clamp(0, 1)
        low = (low * 255).round() / 255  # as an 8-bit LR file holds it
        bicubic = imresize(low, float(SCALE)).clamp(0, 1)
        tick = time.perf_counter()
        dip = restore(low, "sr", scale=SCALE, steps=args.sr_steps, width=args.width, seed=args.seed)
        seconds = time.perf_counter() - tick
        rows.append({"task": "sr x4", "image": path.name, "crop": list(truth.shape[-2:]), "steps": args.sr_steps,
                     "psnr_dip": psnr(dip, truth, crop_border=SCALE), "psnr_bicubic": psnr(bicubic, truth, crop_border=SCALE),
                     "seconds": seconds})
        tiles += [bicubic, dip, truth]
        print(rows[-1], flush=True)
    sr_tiles = len(tiles)
    for index, path in enumerate(files[: args.inpaint_images]):
        truth = centre_crop(load_image(path), args.crop)
        mask = hole_mask(truth.shape[-1], args.seed + index)
        known = mask.bool()
        fill = gaussian_blur((truth * mask)[None], 25, 4.0)[0] / gaussian_blur(mask[None, None], 25, 4.0)[0].clamp_min(1e-3)
        fill = torch.where(known, truth, fill.clamp(0, 1))
        tick = time.perf_counter()
        dip = restore(truth, "inpaint", mask, steps=args.inpaint_steps, width=args.width, seed=args.seed)
        seconds = time.perf_counter() - tick
        rows.append({"task": "inpaint", "image": path.name, "crop": list(truth.shape[-2:]), "steps": args.inpaint_steps,
                     "holes": f"8x8 cells, {float(1 - mask.mean()):.3f} of the pixels",
                     "psnr_dip": hole_psnr(dip, truth, mask), "psnr_fill": hole_psnr(fill, truth, mask), "seconds": seconds})
        tiles += [truth * mask, fill, dip, truth]
        print(rows[-1], flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sr_grid = torch.stack(tiles[:sr_tiles])
    save_image(sr_grid, out.with_name(out.name + "-sr.png"), nrow=3, padding=2, pad_value=1.0)
    if len(tiles) > sr_tiles:
        save_image(torch.stack(tiles[sr_tiles:]), out.with_name(out.name + "-inpaint.png"), nrow=4, padding=2, pad_value=1.0)
    settings = {"crop": args.crop, "width": args.width, "seed": args.seed, "hardware": f"{platform.machine()} CPU, "
                f"torch threads {torch.get_num_threads()}", "wall_time_s": time.perf_counter() - started,
                "command": "python scripts/dip_benchmark.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())}
    out.with_suffix(".json").write_text(json.dumps({"settings": settings, "results": rows}, indent=2) + "\n")
    print("| task | image | DIP (dB) | baseline (dB) | DIP seconds |\n|---|---|---|---|---|")
    for row in rows:
        baseline = row.get("psnr_bicubic", row.get("psnr_fill"))
        print(f"| {row['task']} | {row['image']} | {row['psnr_dip']:.2f} | {baseline:.2f} | {row['seconds']:.0f} |")
    for task, key in (("sr x4", "psnr_bicubic"), ("inpaint", "psnr_fill")):
        mine = [r for r in rows if r["task"] == task]
        if mine:
            print(f"mean {task}: DIP {sum(r['psnr_dip'] for r in mine) / len(mine):.2f} dB, "
                  f"baseline {sum(r[key] for r in mine) / len(mine):.2f} dB")


if __name__ == "__main__":
    main()
