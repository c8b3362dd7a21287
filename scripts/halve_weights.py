"""Convert checkpoint folders' model.safetensors to half precision (float16; bfloat16 where the range needs it).

    python scripts/halve_weights.py model_cards/dcgan-mnist [more folders ...]

Released weights are stored in half precision to halve their size; networks still compute in float32
(``genzoo.load(..., dtype=...)`` chooses). For each folder this rewrites model.safetensors, prints the
new sha256 (pin it in ``genzoo/_registry.py``'s RELEASES) and how far the conversion moved the weights
and a batch of samples. Re-run the folder's recorded evaluation afterwards (README: "Add a checkpoint").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from genzoo.callbacks import save_grid
from genzoo.hub import WEIGHTS_NAME, half_precision, load_folder, sha256_of


def halve(folder: Path) -> None:
    path = folder / WEIGHTS_NAME
    before = load_folder(folder)  # strict load: refuses anything that is not a genzoo checkpoint
    state = load_file(path)
    kinds = {str(t.dtype) for t in state.values() if t.is_floating_point()}
    if kinds <= {"torch.float16", "torch.bfloat16"}:
        print(f"{folder}: already half precision ({', '.join(sorted(kinds))}), sha256 {sha256_of(path)}")
        return
    halved = half_precision(state)
    save_file(halved, path, metadata={"format": "pt", "architecture": type(before).__name__})
    path.chmod(0o644)
    after = load_folder(folder)
    worst = max(
        ((state[k].float() - halved[k].float()).abs().max() / state[k].abs().max().clamp_min(1e-12)).item()
        for k in state if state[k].is_floating_point() and state[k].numel()
    )
    with torch.no_grad():
        moved = (before.sample(8, seed=0) - after.sample(8, seed=0)).abs().max().item()
    if (folder / "samples.png").is_file():  # the card's samples come from the weights as stored (as the export's)
        save_grid(after.to_unit_range(after.sample(64, seed=0)), folder / "samples.png")
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in halved.values() if t.is_floating_point()})
    print(
        f"{folder}: {', '.join(dtypes)}, {path.stat().st_size:,} bytes, sha256 {sha256_of(path)}; "
        f"largest relative weight change {worst:.2e}, largest sample change {moved:.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    for folder in parser.parse_args().folders:
        halve(folder)


if __name__ == "__main__":
    main()
