"""The card figures of a StyleGAN-lite checkpoint folder, drawn from the weights as stored.

    python scripts/stylegan_figures.py model_cards/stylegan-lite-celeba [--compare dcgan-celeba]

Writes into the folder (the export already holds samples.png: 64 samples at truncation 1.0, seed 0):

* ``samples-psi0.7.png``: the same 64 latents and noise at truncation 0.7;
* ``mixing-coarse.png``, ``mixing-middle.png``, ``mixing-fine.png``: the paper's figure 3 (first row:
  sources B, first column: sources A, each cell A with B's coarse / middle / fine styles), seeds A 1-5, B 11-16;
* ``noise.png``: the paper's figure 4, same w with different noise: one row per latent (seeds 21-24), six
  noise draws, then the per-pixel standard deviation over 32 draws (x4, white = large);
* ``compare.png`` with ``--compare NAME``: NAME's 32 samples (seed 0) above this model's 32 (seed 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import genzoo
from genzoo.callbacks import save_grid


def noise_figure(network, seeds: list[int], draws: int = 6, std_draws: int = 32) -> torch.Tensor:
    rows = []
    for seed in seeds:
        w = network.map(torch.randn(1, network.latent_dim, generator=torch.Generator().manual_seed(seed)))
        images = torch.cat([network.synthesize(w, seed=1000 + k) for k in range(std_draws)])
        unit = network.to_unit_range(images)
        spread = (unit.std(dim=0, keepdim=True) * 4).clamp(0, 1)
        rows.append(torch.cat([unit[:draws], spread]))
    return torch.cat(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--compare", help="a released generator to set side by side (e.g. dcgan-celeba)")
    args = parser.parse_args()
    network = genzoo.load(args.folder)
    unit = network.to_unit_range

    save_grid(unit(network.sample(64, seed=0, truncation=0.7)), args.folder / "samples-psi0.7.png")
    seeds_a, seeds_b = [1, 2, 3, 4, 5], [11, 12, 13, 14, 15, 16]
    for region, layers in network.style_regions().items():
        if len(layers):
            grid = network.mixing_grid(seeds_a, seeds_b, region=region)
            save_grid(unit(grid), args.folder / f"mixing-{region}.png", nrow=len(seeds_b) + 1)
    save_grid(noise_figure(network, [21, 22, 23, 24]), args.folder / "noise.png", nrow=7)
    if args.compare:
        other = genzoo.load(args.compare)
        both = torch.cat([other.to_unit_range(other.sample(32, seed=0)), unit(network.sample(32, seed=0))])
        save_grid(both, args.folder / "compare.png", nrow=8)
    print(f"figures written to {args.folder}")


if __name__ == "__main__":
    main()
