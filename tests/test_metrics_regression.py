"""Regression bands: every released checkpoint reproduces the metrics recorded in its metrics.json.

Each recorded number carries its protocol stamp, so the test replays exactly that protocol (metric,
extractor, reference split, sample counts, seed, estimator settings) with ``genzoo eval`` and requires
the same number within a narrow band. The band absorbs floating-point differences between machines
(BLAS, CPU vs GPU); a changed network, sampler, preprocessing or extractor moves the numbers by more
(and a changed extractor is caught by its weights' sha256 first).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import pytest

from genzoo._registry import list_models
from genzoo.evaluate import add_eval_arguments, run_eval
from genzoo.hub import CONFIG_NAME, WEIGHTS_NAME, model_cards_dir, read_config, read_metrics

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BAND = 0.005  # relative
METRIC_ARGUMENT = {
    "fid": "fid",
    "kid": "kid",
    "inception_score": "is",
    "swd": "swd",
    "ms_ssim": "msssim",
    "lpips_diversity": "lpips",
    "nll": "nll",
    "recon_l1": "recon",
    "psnr": "psnr",
    "ssim": "ssim",
    "steps": "steps",  # interpolators: steps taken, classifier confidence of the frames
    "confidence": "confidence",
    "style_loss": "style",  # the texture and style family (genzoo.evaluate_style)
    "content_loss": "content",
    "gram_distance": "gram",
    "seconds_per_image": "speed",
}
SR_DATA = "sr"  # super-resolution test sets (Set5) live in <data>/sr/<reference>
STYLE_DATA = "style"  # style networks' photos: <data>/style/<reference>; their styles: <data>/style/<style_images>
TEXTURE_DATA = "textures"  # texture networks' examples: <data>/textures/<reference>
NOT_REPLAYED = ("seconds_per_image",)  # timings depend on the machine and its load
# Protocol fields that must agree for metrics to be replayed in one run (the samples, the extractor, the bound).
RUN_FIELDS = ("num_generated", "seed", "extractor", "nll_bound", "scale")


def run_key(protocol: dict) -> tuple:
    """Metrics with equal keys were (and are replayed) in one `genzoo eval` run. Metrics of test images rather
    than samples (NLL, reconstruction) also need the same split and count."""
    if "max_steps" in protocol:  # an interpolator's metrics: all recorded by one `genzoo eval` run on the same pairs
        return ("interpolation", protocol["pairs"], protocol.get("reference"), protocol.get("reference_split"))
    if "gatys_steps" in protocol:  # a style or texture network's metrics: one run against Gatys
        return ("style", protocol.get("reference"), protocol.get("reference_split"), protocol["gatys_steps"])
    key = tuple(protocol.get(field) for field in RUN_FIELDS)
    if protocol.get("num_generated") is None:
        key += (protocol.get("reference_split"), protocol.get("num_real"))
    return key


def recorded_runs():
    """One pytest parameter per (released model, group of metrics recorded with one protocol)."""
    params = []
    for name in list_models():
        groups = defaultdict(list)
        for metric in read_metrics(model_cards_dir() / name):
            protocol = metric.get("protocol", {})
            # Every recorded number was stamped by `genzoo eval` (tests/test_release.py checks that).
            assert "metric" in protocol and metric["type"] in METRIC_ARGUMENT, (name, metric["name"])
            groups[run_key(protocol)].append(metric)
        for index, metrics in enumerate(groups.values()):
            types = "-".join(m["type"] for m in metrics)
            params.append(pytest.param(name, metrics, id=f"{name}-{index}-{types}"))
    if not params:
        params.append(
            pytest.param(
                None,
                [],
                id="no-recorded-metrics",
                marks=pytest.mark.skip(reason="no registered model has recorded metrics yet"),
            )
        )
    return params


def family(name: str | Path) -> str | None:
    """The family a released name or a checkpoint folder records in its config.json."""
    folder = Path(name) if Path(name).is_dir() else model_cards_dir() / str(name)
    return read_config(folder).get("info", {}).get("family") if (folder / CONFIG_NAME).is_file() else None


def replay_arguments(name: str, metrics: list[dict], data_root: Path = SHARED_DATA) -> argparse.Namespace:
    """``genzoo eval`` arguments that replay the protocol of ``metrics`` (recorded together) on ``name``."""
    protocol = metrics[0]["protocol"]
    if "max_steps" in protocol:
        return interpolation_replay_arguments(name, metrics, data_root)
    if "gatys_steps" in protocol:
        return style_replay_arguments(name, metrics, data_root)
    # By family, not by stamp fields alone: IAN's reconstruction L1 also records how it reconstructed.
    if family(name) == "translation":
        return translation_replay_arguments(name, metrics, data_root)
    with_reference = next((m["protocol"] for m in metrics if m["protocol"].get("reference") is not None), None)
    argv = [
        str(name),
        "--metrics",
        ",".join(METRIC_ARGUMENT[m["type"]] for m in metrics),
        "--no-progress",
        "--no-cache",
        "--offline",
    ]
    if with_reference is not None:
        reference = with_reference["reference"]
        if "scale" in with_reference:  # super-resolution: HR images of one scale, no splits or samples
            argv += ["--data", str(data_root / SR_DATA / reference), "--scale", str(with_reference["scale"])]
            parser = argparse.ArgumentParser()
            add_eval_arguments(parser)
            return parser.parse_args(argv)
        argv += ["--data", str(data_root if reference == "mnist" else data_root / reference)]
        argv += ["--split", str(with_reference["reference_split"]), "--num-real", str(with_reference["num_real"])]
        if "split_seed" in with_reference:
            argv += ["--split-seed", str(with_reference["split_seed"])]
    if protocol.get("num_generated") is not None:
        argv += ["--num-samples", str(protocol["num_generated"])]
    argv += ["--seed", str(protocol.get("seed") or 0)]
    for m in metrics:
        p = m["protocol"]
        if p.get("extractor") and m["type"] in ("fid", "kid", "inception_score") and "--extractor" not in argv:
            argv += ["--extractor", p["extractor"]]
        if "kid_subsets" in p:
            argv += ["--kid-subsets", str(p["kid_subsets"]), "--kid-subset-size", str(p["kid_subset_size"])]
        if "is_splits" in p:
            argv += ["--is-splits", str(p["is_splits"])]
        if p.get("nll_bound", "elbo").startswith("iwae-"):
            argv += ["--nll-importance-samples", p["nll_bound"].split("-", 1)[1]]
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args(argv)


def translation_replay_arguments(name: str, metrics: list[dict], data_root: Path) -> argparse.Namespace:
    """CycleGAN (swd, cycle on testA / testB) and pix2pix (l1, psnr, ssim, msssim on a held-out split)."""
    protocol = metrics[0]["protocol"]
    pix2pix = "inputs" in protocol
    arguments = []
    for m in metrics:
        if m["type"] == "recon_l1":
            argument = "l1" if pix2pix else "cycle"
        else:
            argument = METRIC_ARGUMENT[m["type"]]
        if argument not in arguments:
            arguments.append(argument)
    argv = [str(name), "--metrics", ",".join(arguments), "--no-progress", "--no-cache", "--offline",
            "--data", str(data_root / protocol["reference"]), "--seed", str(protocol.get("seed") or 0)]
    if pix2pix:
        argv += ["--split", protocol["reference_split"]]
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args(argv)


def interpolation_replay_arguments(name: str, metrics: list[dict], data_root: Path) -> argparse.Namespace:
    """Interpolators: every path metric on the recorded pairs (their count: the final-frame L1's num_real), with the
    latent baseline the names record."""
    protocol = metrics[0]["protocol"]
    arguments = []
    for m in metrics:
        argument = "l1" if m["type"] == "recon_l1" else METRIC_ARGUMENT[m["type"]]
        if argument not in arguments:
            arguments.append(argument)
    pairs = next((m["protocol"]["num_real"] for m in metrics if m["type"] == "recon_l1"), None)
    latent = next((m["name"].split("(latent ", 1)[1].rstrip(")") for m in metrics if "(latent " in m["name"]), "none")
    reference = protocol["reference"]
    argv = [str(name), "--metrics", ",".join(arguments), "--no-progress", "--no-cache", "--offline",
            "--data", str(data_root if reference == "mnist" else data_root / reference),
            "--split", str(protocol["reference_split"]), "--latent-baseline", latent, "--seed", str(protocol.get("seed") or 0)]
    if pairs is not None:
        argv += ["--pairs", str(pairs)]
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args(argv)


def style_replay_arguments(name: str, metrics: list[dict], data_root: Path) -> argparse.Namespace:
    """Style networks (style, content, speed on the first N photos) and texture networks (gram, speed)."""
    protocol = metrics[0]["protocol"]
    arguments = list(dict.fromkeys(METRIC_ARGUMENT[m["type"]] for m in metrics))
    argv = [str(name), "--metrics", ",".join(arguments), "--no-progress", "--offline", "--seed", str(protocol.get("seed") or 0),
            "--gatys-steps", str(protocol["gatys_steps"])]
    if "style_images" in protocol:
        argv += ["--data", str(data_root / STYLE_DATA / protocol["reference"]), "--style",
                 str(data_root / STYLE_DATA / protocol["style_images"]), "--pairs", str(protocol["num_real"]),
                 "--size", str(protocol["input_resolution"])]
    else:
        argv += ["--data", str(data_root / TEXTURE_DATA / protocol["reference"]), "--num-samples", str(protocol["num_generated"])]
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.slow
@pytest.mark.parametrize("name, metrics", recorded_runs())
def test_shipped_checkpoint_reproduces_its_recorded_metrics(name, metrics):
    from genzoo.metrics import WeightsUnavailableError

    if not (model_cards_dir() / name / WEIGHTS_NAME).is_file():
        pytest.skip(f"{name}: no local checkpoint in {model_cards_dir() / name}")
    if any(m["protocol"].get("reference") is not None for m in metrics) and not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    try:
        summary = run_eval(replay_arguments(name, metrics))
    except WeightsUnavailableError as err:
        pytest.skip(f"backbone weights unavailable offline: {err}")
    measured = {m["type"]: m for m in summary["metrics"]}
    by_name = {m["name"]: m for m in summary["metrics"]}  # SR records a network and a bicubic PSNR per scale
    for recorded in metrics:
        if recorded["type"] in NOT_REPLAYED:
            continue
        now = by_name.get(recorded["name"]) or measured[recorded["type"]]
        sha = recorded["protocol"].get("extractor_sha256")
        assert now["protocol"].get("extractor_sha256") == sha, f"{recorded['name']}: the extractor's weights changed"
        assert now["protocol"]["num_generated"] == recorded["protocol"]["num_generated"]
        assert now["value"] == pytest.approx(recorded["value"], rel=BAND), recorded["name"]


def test_a_recorded_protocol_replays_to_the_same_numbers(tmp_path, fake_mnist):
    # The replay machinery itself, on a tiny checkpoint and synthetic MNIST: record, then replay.
    import torch

    from genzoo.hub import save_folder
    from genzoo.models.dcgan import DCGAN

    torch.manual_seed(1)
    network = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    network.info = {"name": "tiny", "dataset_id": "mnist"}
    save_folder(network, tmp_path / "tiny")
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    recorded = run_eval(
        parser.parse_args(
            [
                str(tmp_path / "tiny"),
                "--metrics",
                "fid,kid,is,swd,msssim",
                "--data",
                str(fake_mnist),
                "--split",
                "train",
                "--num-samples",
                "50",
                "--kid-subsets",
                "4",
                "--kid-subset-size",
                "25",
                "--is-splits",
                "5",
                "--seed",
                "3",
                "--no-progress",
                "--no-cache",
            ]
        )
    )["metrics"]
    groups = defaultdict(list)
    for metric in recorded:
        groups[run_key(metric["protocol"])].append(metric)
    assert len(groups) == 2  # the classifier's metrics (fid, kid, is); the pixel metrics (swd, msssim)
    for metrics in groups.values():
        replayed = {
            m["type"]: m["value"] for m in run_eval(replay_arguments(tmp_path / "tiny", metrics, fake_mnist))["metrics"]
        }
        assert replayed == {m["type"]: m["value"] for m in metrics}


def test_a_recorded_style_protocol_replays_to_the_same_numbers(tmp_path):
    # Style and texture networks: recorded against the data layout of ../shared/data (style/content, style/style,
    # textures/), then replayed from the stamps alone; timings are recorded but not compared.
    import numpy as np
    import torch
    from PIL import Image

    from genzoo.hub import save_folder
    from genzoo.models.style import TextureNet, TransformNet

    rng = np.random.default_rng(0)
    for folder, count in (("style/content", 3), ("style/style", 1), ("textures", 1)):
        (tmp_path / folder).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)).save(tmp_path / folder / f"{i}.png")
    (tmp_path / "textures" / "0.png").rename(tmp_path / "textures" / "stripes.png")
    torch.manual_seed(0)
    save_folder(TransformNet(image_size=32, **TransformNet.TINY_CONFIG), tmp_path / "net")
    save_folder(TextureNet(image_size=32, texture="stripes", **TextureNet.TINY_CONFIG), tmp_path / "tex")
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    runs = [
        [str(tmp_path / "net"), "--metrics", "style,content,speed", "--data", str(tmp_path / "style/content"), "--style",
         str(tmp_path / "style/style/0.png"), "--pairs", "2", "--gatys-steps", "2", "--no-progress"],
        [str(tmp_path / "tex"), "--metrics", "gram,speed", "--data", str(tmp_path / "textures"), "--num-samples", "2",
         "--gatys-steps", "2", "--no-progress"],
    ]
    for argv in runs:
        recorded = run_eval(parser.parse_args(argv))["metrics"]
        assert len({run_key(m["protocol"]) for m in recorded}) == 1  # one `genzoo eval` run
        replayed = run_eval(replay_arguments(argv[0], recorded, tmp_path))["metrics"]
        compared = [m for m in recorded if m["type"] not in NOT_REPLAYED]
        assert compared and {m["name"]: m["value"] for m in compared} == {
            m["name"]: m["value"] for m in replayed if m["type"] not in NOT_REPLAYED
        }
