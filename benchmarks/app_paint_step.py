"""How long the photo editor takes to answer: one contextual-paintbrush step on ian-celeba, on the CPU.

Three timings, each the median of ``--repeats`` runs after one warm-up, at 1 and 2 torch threads:

* ``paint_1_step``: ``genzoo.editing.paint`` with ``steps=1`` on one 64x64 photo (encode, decode, one
  gradient step through the generator, decode, interpolation mask);
* ``paint_default``: the same with the editor's default ``steps=5``;
* ``apply_click``: what the page's "Apply brush" runs with the default settings: the painted canvas layer
  (256x256 RGBA) to a mask and colour, the brush from the session's latent, and the four output images.

    python benchmarks/app_paint_step.py                # writes benchmarks/results/app_paint_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import genzoo
from genzoo import app
from genzoo.editing import paint


def median_seconds(function, repeats: int) -> tuple[float, list[float]]:
    function()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ian-celeba")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "app_paint_step.json"))
    args = parser.parse_args()

    network = genzoo.load(args.model)
    size, scale = network.image_size, app.display_scale(network.image_size)
    photo = network.sample(1, seed=0)
    # A stroke across the forehead, as painted on the page's enlarged canvas with the default yellow.
    layer = np.zeros((size * scale, size * scale, 4), np.uint8)
    layer[11 * scale : 14 * scale, 20 * scale : 44 * scale] = (255, 211, 77, 255)
    mask, rgb = app.stroke_from_layers([layer], size)
    session = app.new_session(network, photo)

    def apply_click():
        stroke_mask, colour = app.stroke_from_layers([layer], size)
        edited = app.apply_stroke(network, session, stroke_mask, colour)
        r = edited.last
        return [app.tensor_to_image(t, network, scale) for t in (r.image, r.reconstruction, r.edited_reconstruction)]

    cases = {
        "paint_1_step": lambda: paint(network, photo, rgb, mask, steps=1, step_size=app.DEFAULT_STEP_SIZE),
        "paint_default": lambda: paint(network, photo, rgb, mask, steps=app.DEFAULT_STEPS, step_size=app.DEFAULT_STEP_SIZE),
        "apply_click": apply_click,
    }
    results = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name, function in cases.items():
            median, times = median_seconds(function, args.repeats)
            results[f"{name}@{threads}_threads"] = {"median_s": median, "times_s": times}
            print(f"{name:14s} {threads} thread(s): median {median * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")

    record = {
        "model": args.model,
        "setup": {"repeats": args.repeats, "steps_default": app.DEFAULT_STEPS, "image_size": size, "batch": 1},
        "hardware": f"{platform.machine()} CPU, {os.cpu_count()} cores (shared with other jobs when measured)",
        "torch": torch.__version__,
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
