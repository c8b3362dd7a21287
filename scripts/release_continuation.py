"""Replace a released checkpoint by its continuation or a retraining (issue 16's campaign), keeping the record.

A continuation is a run of the release's recipe started from the released weights
(``--model.init_args.init_from NAME``); a retraining (``--fresh``) is a new run of the (possibly revised)
recipe from scratch. This script, run after that training ended:

1. keeps what is being replaced: the old samples become ``samples-before.png`` (the same seeds), and the
   old training record and measured metrics go into ``training.previous_release`` with the old weights' sha256;
2. copies the run's export (weights, samples, config) into ``model_cards/NAME``; for a continuation the
   training record counts both segments (wall time, epochs, batches, images) and keeps this one as
   ``training.this_segment``; a retraining's record is its own run's;
3. measures the new weights with the same ``genzoo eval`` arguments as before (``--eval``, once per
   measurement; the later ones append), writing ``model_cards/NAME/metrics.json``;
4. plots the continuation's training curve (``training-loss.png``) from the run's metrics.csv;
   a continuation in several runs (``--earlier-run``, e.g. a final phase at a lower learning rate started
   from the first run's export) is recorded and plotted as one: records summed, commands chained, steps offset;
5. prints the metrics before and after.

The card text (description, limitations) and the registry pin are the releaser's next steps:
``genzoo card model_cards/NAME --description ...`` and the sha256 in ``genzoo/_registry.py``.

    python scripts/release_continuation.py dcgan-celeba runs/dcgan-celeba-long \\
        --command "genzoo fit --config recipes/dcgan/celeba.yaml ... --model.init_args.init_from dcgan-celeba" \\
        --eval="--metrics swd,msssim --data ../shared/data/celeba-10k --offline" --curve loss/g
    python scripts/release_continuation.py vdsr-291 runs/vdsr-291 --fresh --command "genzoo fit ..." \\
        --eval="--metrics psnr,ssim --data ../shared/data/sr/Set5 --scale 2" --eval="... --scale 3" ...
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMED = ("wall_time_s", "epochs", "batches", "images_seen", "global_step")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metric_values(folder: Path) -> dict[str, float]:
    path = folder / "metrics.json"
    if not path.is_file():
        return {}
    return {m["name"]: m["value"] for m in json.loads(path.read_text())["metrics"]}


def previous_release(old: dict, old_metrics: dict, old_sha: str) -> dict:
    """What the replaced release was: its weights' hash, how it was trained and what it measured."""
    return {
        "sha256": old_sha,
        "command": old["command"],
        "wall_time_s": old.get("wall_time_s"),
        "epochs": old.get("epochs"),
        "batches": old.get("batches"),
        "images_seen": old.get("images_seen"),
        "finished": old.get("finished"),
        "precision": old.get("precision"),
        "metrics": old_metrics,
    }


def merged_training(old: dict, new: dict, name: str, command: str, old_metrics: dict, old_sha: str) -> dict:
    """The card's training record: all segments summed; the replaced release's record and this segment kept.

    ``old`` may itself be a continuation: its sums already count the segments before it.
    """
    segment = {key: new[key] for key in SUMMED if key in new}
    segment["command"] = command
    segment["precision"] = new.get("precision")
    merged = dict(new)
    for key in SUMMED:
        if key in new and key in old:
            merged[key] = round(old[key] + new[key], 2) if isinstance(new[key], float) else old[key] + new[key]
    merged["command"] = f"{old['command']}  # then, continuing from that release: {command}"
    if old.get("precision") != new.get("precision"):
        merged["precision"] = f"{old.get('precision')}, then {new.get('precision')} (continuation)"
    if old.get("hardware") != new.get("hardware"):
        merged["hardware"] = f"{old.get('hardware')}; continuation: {new.get('hardware')}"
    merged["resumed_from"] = f"{name} as released {old.get('finished')} (weights only: init_from)"
    merged["previous_release"] = previous_release(old, old_metrics, old_sha)
    merged["this_segment"] = segment
    return merged


def chained_runs(earlier: list[Path], command: str, training: dict) -> tuple[dict, str]:
    """One record and one command for a continuation made of several runs, each started from the one before."""
    records = [json.loads((path / "export" / "config.json").read_text())["info"]["training"] for path in earlier]
    combined = dict(training)
    for key in SUMMED:
        if key in training:
            total = sum(record[key] for record in records) + training[key]
            combined[key] = round(total, 2) if isinstance(total, float) else total
    combined["runs"] = [{key: record.get(key) for key in (*SUMMED, "command", "finished")} for record in records]
    combined["runs"].append({key: training.get(key) for key in (*SUMMED, "finished")} | {"command": command})
    chained = "  # then, from that run's export: ".join([*(record["command"] for record in records), command])
    return combined, chained


def joined_curve(runs: list[Path], column: str, out: Path) -> Path:
    """The runs' metrics.csv rows of ``column`` as one csv, each run's steps offset by the runs before it."""
    rows, offset = [], 0.0
    for run in runs:
        path = sorted(run.glob("lightning_logs/version_*/metrics.csv"))[-1]
        with open(path, newline="") as handle:
            points = [(float(r["step"]), float(r[column])) for r in csv.DictReader(handle) if r.get(column) not in ("", None)]
        rows += [(offset + step, value) for step, value in points]
        offset += max(step for step, _ in points) + 1
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", column])
        writer.writerows(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the released name, model_cards/NAME")
    parser.add_argument("run", type=Path, help="the continuation's default_root_dir (holding export/ and lightning_logs/)")
    parser.add_argument("--command", required=True, help="the run's genzoo fit command, for the record")
    parser.add_argument("--fresh", action="store_true", help="a retraining from scratch, not a continuation: nothing is summed")
    parser.add_argument("--eval", required=True, action="append",
                        help="genzoo eval arguments after the model, as the old card was measured (repeatable)")
    parser.add_argument("--curve", default=None, help="metrics.csv column to plot as training-loss.png (e.g. loss/g)")
    parser.add_argument("--curve-label", default=None, help="y label of the curve (default: the column)")
    parser.add_argument("--earlier-run", type=Path, action="append", default=[],
                        help="an earlier run of this continuation (its default_root_dir), in order; RUN started from its export")
    args = parser.parse_args()

    card = ROOT / "model_cards" / args.name
    export = args.run / "export"
    for required in (card / "config.json", export / "config.json", export / "model.safetensors"):
        if not required.is_file():
            sys.exit(f"missing {required}")

    old_config = json.loads((card / "config.json").read_text())
    new_config = json.loads((export / "config.json").read_text())
    if old_config["architecture"] != new_config["architecture"] or old_config["config"] != new_config["config"]:
        sys.exit("the run's network differs from the release's (architecture or config): not a new version of this release")
    old_metrics = metric_values(card)
    old_training, new_training = old_config["info"]["training"], new_config["info"]["training"]
    old_sha = sha256(card / "model.safetensors")
    command = args.command
    if args.earlier_run:
        new_training, command = chained_runs(args.earlier_run, args.command, new_training)
    if args.fresh:
        new_config["info"]["training"] = {**new_training, "command": command,
                                          "previous_release": previous_release(old_training, old_metrics, old_sha)}
    else:
        new_config["info"]["training"] = merged_training(old_training, new_training, args.name, command, old_metrics, old_sha)

    if (card / "samples.png").is_file():
        shutil.copyfile(card / "samples.png", card / "samples-before.png")
    shutil.copyfile(export / "model.safetensors", card / "model.safetensors")
    if (export / "samples.png").is_file():
        shutil.copyfile(export / "samples.png", card / "samples.png")
    (card / "config.json").write_text(json.dumps(new_config, indent=2) + "\n")

    for index, arguments in enumerate(args.eval):
        evaluation = ["genzoo", "eval", str(card.relative_to(ROOT)), *shlex.split(arguments), "--no-progress",
                      "--json", str((card / "metrics.json").relative_to(ROOT))] + (["--append"] if index else [])
        print("+", shlex.join(evaluation), flush=True)
        subprocess.run(evaluation, check=True, cwd=ROOT)

    if args.curve:
        curve = joined_curve([*args.earlier_run, args.run], args.curve, args.run / "continuation-curve.csv")
        plot = [sys.executable, "scripts/plot_curves.py", f"continuation={curve}", "--x", "step", "--y", args.curve,
                "--smooth", "50", "--out", str(card / "training-loss.png"),
                "--title", f"{args.name}: the continuation's training curve", "--y-label", args.curve_label or args.curve]
        subprocess.run(plot, check=True, cwd=ROOT)

    new_metrics = metric_values(card)
    print(f"\n{args.name}: sha256 {sha256(card / 'model.safetensors')}")
    for key in sorted(set(old_metrics) | set(new_metrics)):
        print(f"  {key:40s} before {old_metrics.get(key, '-')!s:>22}  after {new_metrics.get(key, '-')!s:>22}")


if __name__ == "__main__":
    main()
