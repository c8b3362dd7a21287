"""Plot logged training curves of several runs on one chart (e.g. the interpolator's return per training procedure).

    python scripts/plot_curves.py bptt=runs/procedures/bptt/lightning_logs/version_0/metrics.csv \
        pg=runs/procedures/pg/lightning_logs/version_0/metrics.csv --out model_cards/interp-mnist/returns.png \
        --x train/batches --y train/return --smooth 10 --title "MNIST: return per training procedure"

Each LABEL=CSV is a Lightning metrics.csv; rows with both columns are drawn, ``--smooth`` points averaged
(a trailing moving average; the raw points are drawn faintly behind). Pillow only, no plotting library.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 700, 420, 70, 170, 50, 45


def read_curve(path: Path, x_column: str, y_column: str) -> list[tuple[float, float]]:
    points = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(x_column) not in ("", None) and row.get(y_column) not in ("", None):
                points.append((float(row[x_column]), float(row[y_column])))
    if not points:
        raise SystemExit(f"{path} has no rows with both {x_column} and {y_column}")
    return sorted(points)


def moving_average(values: list[float], window: int) -> list[float]:
    return [sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def plot(curves: dict[str, list[tuple[float, float]]], out: Path, title: str, x_label: str, y_label: str, smooth: int) -> None:
    xs = [x for points in curves.values() for x, _ in points]
    ys = [y for points in curves.values() for _, y in points]
    low, high, last = min(ys), max(ys), max(xs) or 1.0
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    def xy(x: float, y: float) -> tuple[float, float]:
        return (LEFT + (WIDTH - LEFT - RIGHT) * x / last,
                HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (y - low) / max(high - low, 1e-9))

    draw.rectangle([LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM], outline="black")
    for k in range(5):
        value = low + (high - low) * k / 4
        _, y = xy(0, value)
        draw.line([LEFT, y, WIDTH - RIGHT, y], fill=(230, 230, 230))
        draw.text((8, y - 6), f"{value:.3g}", fill="black", font=font)
        x, _ = xy(last * k / 4, low)
        draw.text((x - 12, HEIGHT - BOTTOM + 8), f"{last * k / 4:.0f}", fill="black", font=font)
    draw.text((LEFT + 150, HEIGHT - 18), x_label, fill="black", font=font)
    draw.text((8, 6), title, fill="black", font=font)
    draw.text((8, 22), y_label + (f" ({smooth}-point moving average; raw points faint)" if smooth > 1 else ""), fill="black", font=font)
    legend_y = TOP + 5
    for index, (label, points) in enumerate(curves.items()):
        colour = COLOURS[index % len(COLOURS)]
        faint = tuple(int(c + (255 - c) * 0.75) for c in colour)
        for x, y in points:
            px, py = xy(x, y)
            draw.point((px, py), fill=faint)
        smoothed = moving_average([y for _, y in points], smooth)
        draw.line([xy(x, y) for (x, _), y in zip(points, smoothed)], fill=colour, width=2)
        draw.line([WIDTH - RIGHT + 10, legend_y + 6, WIDTH - RIGHT + 30, legend_y + 6], fill=colour, width=2)
        draw.text((WIDTH - RIGHT + 35, legend_y), label, fill="black", font=font)
        legend_y += 16
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=CSV")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--x", default="train/batches")
    parser.add_argument("--y", default="train/return")
    parser.add_argument("--smooth", type=int, default=10)
    parser.add_argument("--title", default="training curves")
    parser.add_argument("--x-label", default="batches of episodes")
    parser.add_argument("--y-label", default="batch-averaged return")
    args = parser.parse_args()
    curves = {}
    for run in args.runs:
        label, _, path = run.partition("=")
        if not path:
            raise SystemExit(f"give each run as LABEL=CSV, got {run!r}")
        curves[label] = read_curve(Path(path), args.x, args.y)
    plot(curves, args.out, args.title, args.x_label, args.y_label, args.smooth)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
