"""Plot a super-resolution run's Set5 Y-PSNR per validation (the training curve of an SR model card).

    python scripts/plot_sr_curve.py runs/vdsr-291/lightning_logs/version_0/metrics.csv model_cards/vdsr-291/curve.png

Reads the ``val/psnr_x{s}`` and ``val/psnr_bicubic_x{s}`` columns that ``genzoo.tasks.SRTask`` logs after
every epoch and draws them against the optimizer step: a solid line per scale for the network, a dashed
one for bicubic. Drawn with Pillow only (no plotting library needed), saved as an optimized PNG.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = {2: (31, 119, 180), 3: (214, 39, 40), 4: (44, 160, 44)}
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 420, 60, 150, 50, 45


def read_curves(path: Path) -> dict[str, list[tuple[int, float]]]:
    """{column: [(step, value), ...]} for every val/psnr column of a Lightning metrics.csv."""
    curves: dict[str, list[tuple[int, float]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            for key, value in row.items():
                if key.startswith("val/psnr") and value not in ("", None):
                    curves.setdefault(key, []).append((int(row["step"]), float(value)))
    if not curves:
        raise SystemExit(f"{path} has no val/psnr columns: was it written by genzoo.tasks.SRTask with validation?")
    return curves


def plot(curves: dict[str, list[tuple[int, float]]], out: Path, title: str) -> None:
    values = [v for points in curves.values() for _, v in points]
    steps = [s for points in curves.values() for s, _ in points]
    low, high = math.floor(min(values)), math.ceil(max(values))
    last = max(steps) or 1
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    def xy(step: float, value: float) -> tuple[float, float]:
        x = LEFT + (WIDTH - LEFT - RIGHT) * step / last
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value - low) / max(high - low, 1e-9)
        return x, y

    draw.rectangle([LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM], outline="black")
    tick = 1 if high - low <= 8 else 2
    for value in range(low, high + 1, tick):
        _, y = xy(0, value)
        draw.line([LEFT - 4, y, LEFT, y], fill="black")
        draw.line([LEFT, y, WIDTH - RIGHT, y], fill=(230, 230, 230))
        draw.text((LEFT - 30, y - 6), f"{value}", fill="black", font=font)
    for k in range(5):
        step = round(last * k / 4)
        x, _ = xy(step, low)
        draw.line([x, HEIGHT - BOTTOM, x, HEIGHT - BOTTOM + 4], fill="black")
        draw.text((x - 12, HEIGHT - BOTTOM + 8), f"{step}", fill="black", font=font)
    draw.text((LEFT + 120, HEIGHT - 18), "optimizer step", fill="black", font=font)
    draw.text((8, 6), title, fill="black", font=font)
    draw.text((8, 22), "Set5 Y-PSNR (dB)", fill="black", font=font)

    legend_y = TOP + 5
    for key in sorted(curves, key=lambda k: (int(k.rsplit("x", 1)[1]), "bicubic" in k)):
        scale = int(key.rsplit("x", 1)[1])
        colour = COLOURS.get(scale, (0, 0, 0))
        points = [xy(s, v) for s, v in sorted(curves[key])]
        bicubic = "bicubic" in key
        if bicubic:  # dashed: every other segment of a fine subdivision
            (x0, y0), (x1, y1) = points[0], points[-1]
            for i in range(0, 40, 2):
                draw.line([x0 + (x1 - x0) * i / 40, y0 + (y1 - y0) * i / 40,
                           x0 + (x1 - x0) * (i + 1) / 40, y0 + (y1 - y0) * (i + 1) / 40], fill=colour, width=1)
        else:
            draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        label = f"x{scale} " + ("bicubic" if bicubic else "network")
        draw.line([WIDTH - RIGHT + 10, legend_y + 6, WIDTH - RIGHT + 30, legend_y + 6], fill=colour, width=1 if bicubic else 2)
        draw.text((WIDTH - RIGHT + 35, legend_y), label, fill="black", font=font)
        legend_y += 16
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics_csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default="Set5 PSNR during training")
    args = parser.parse_args()
    plot(read_curves(args.metrics_csv), args.out, args.title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
