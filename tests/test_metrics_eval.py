"""``genzoo eval`` (genzoo.evaluate) on a tiny checkpoint and synthetic MNIST files."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

import genzoo
from genzoo.data import MNISTDataModule
from genzoo.evaluate import SAMPLE_CHUNK, add_eval_arguments, chunk_seed, run_eval
from genzoo.hub import save_folder
from genzoo.metrics import FID, STAMP_FIELDS, MNISTClassifierExtractor
from genzoo.models.dcgan import DCGAN


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    network = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    network.info = {
        "name": "tiny-dcgan-mnist",
        "image_size": 28,
        "channels": 1,
        "value_range": [-1, 1],
        "dataset_id": "mnist",
    }
    folder = tmp_path_factory.mktemp("tiny-dcgan")
    save_folder(network, folder)
    return folder


def eval_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args([*argv, "--no-progress"])


def small_run(model, data, cache, *extra):
    return eval_args(
        str(model),
        "--data",
        str(data),
        "--split",
        "train",
        "--num-samples",
        "40",
        "--num-real",
        "40",
        "--kid-subsets",
        "5",
        "--kid-subset-size",
        "20",
        "--is-splits",
        "2",
        "--cache-dir",
        str(cache),
        "--device",
        "cpu",
        *extra,
    )


def values(summary):
    return {m["type"]: m["value"] for m in summary["metrics"]}


def test_eval_prints_returns_and_writes_stamped_results(tiny_model, fake_mnist, tmp_path, capsys):
    out = tmp_path / "eval.json"
    summary = run_eval(
        small_run(tiny_model, fake_mnist, tmp_path / "cache", "--metrics", "fid,kid,is,swd,msssim", "--json", str(out))
    )
    assert [m["type"] for m in summary["metrics"]] == ["fid", "kid", "inception_score", "swd", "ms_ssim"]
    assert json.loads(out.read_text()) == json.loads(json.dumps(summary))
    printed = capsys.readouterr().out
    for metric in summary["metrics"]:
        assert set(STAMP_FIELDS) <= set(metric["protocol"])
        assert metric["protocol"]["num_generated"] == 40 and metric["protocol"]["seed"] == 0
        assert metric["name"] in printed
    fid = summary["metrics"][0]
    assert fid["name"] == "FID (genzoo-mnist-classifier-v1)"
    assert fid["protocol"]["reference"] == "mnist" and fid["protocol"]["reference_split"] == "train"
    assert (
        fid["protocol"]["num_real"] == 40
        and fid["protocol"]["extractor_sha256"] == MNISTClassifierExtractor().weights_sha256
    )
    assert summary["metrics"][1]["protocol"]["kid_subset_size"] == 20 and "std" in summary["metrics"][1]


def test_eval_fid_equals_a_fid_computed_by_hand_from_the_same_images(tiny_model, fake_mnist, tmp_path):
    import genzoo

    summary = run_eval(small_run(tiny_model, fake_mnist, tmp_path / "cache", "--metrics", "fid"))
    network = genzoo.load(str(tiny_model))
    data = MNISTDataModule(str(fake_mnist), val_size=0, value_range=(0.0, 1.0), download=False)
    data.setup()
    fid = FID(MNISTClassifierExtractor())
    fid.update(data.train_set.images[:40].float() / 255, real=True)
    fid.update(network.to_unit_range(network.sample(40, seed=chunk_seed(0, 0))), real=False)  # one chunk of <= 100
    assert SAMPLE_CHUNK >= 40
    assert values(summary)["fid"] == pytest.approx(fid.compute().item(), rel=1e-9)


def test_cached_and_uncached_runs_agree(tiny_model, fake_mnist, tmp_path, capsys):
    cache = tmp_path / "cache"
    first = run_eval(small_run(tiny_model, fake_mnist, cache, "--metrics", "fid,kid"))
    assert "(cached)" not in capsys.readouterr().out
    assert len(list(cache.glob("mnist-train-genzoo-mnist-classifier-v1-n40-*.safetensors"))) == 1
    second = run_eval(small_run(tiny_model, fake_mnist, cache, "--metrics", "fid,kid"))
    assert "(cached)" in capsys.readouterr().out
    uncached = run_eval(small_run(tiny_model, fake_mnist, cache, "--metrics", "fid,kid", "--no-cache"))
    assert values(first) == values(second) == values(uncached)
    # A different reference (the test split) is a different cache entry, not a stale hit.
    run_eval(small_run(tiny_model, fake_mnist, cache, "--metrics", "fid", "--split", "test", "--num-real", "16"))
    assert "(cached)" not in capsys.readouterr().out


def test_the_seed_fixes_the_numbers(tiny_model, fake_mnist, tmp_path):
    a = run_eval(small_run(tiny_model, fake_mnist, tmp_path, "--metrics", "fid,swd"))
    b = run_eval(small_run(tiny_model, fake_mnist, tmp_path, "--metrics", "fid,swd"))
    c = run_eval(small_run(tiny_model, fake_mnist, tmp_path, "--metrics", "fid,swd", "--seed", "1"))
    assert values(a) == values(b)
    assert values(a)["fid"] != values(c)["fid"] and c["metrics"][0]["protocol"]["seed"] == 1


def test_the_results_fill_a_model_card(tiny_model, fake_mnist, tmp_path):
    from genzoo.cards import render_card

    summary = run_eval(small_run(tiny_model, fake_mnist, tmp_path, "--metrics", "fid,msssim"))
    card = render_card(
        {
            "name": "tiny-dcgan-mnist",
            "family": "dcgan",
            "dataset": "MNIST",
            "dataset_id": "mnist",
            "metrics": summary["metrics"],
        }
    )
    assert "model-index" in card and "FID (genzoo-mnist-classifier-v1)" in card and "MS-SSIM diversity" in card
    assert (
        "genzoo-mnist-classifier-v1" in card.split("---")[1]
    )  # the extractor is the metric's config in the Hub metadata


@pytest.mark.parametrize(
    "argv, match",
    [
        (("--metrics", "fid,bogus"), "unknown metric 'bogus'"),
        (("--metrics", "nll"), "not a likelihood model"),
        (("--metrics", "fid", "--num-real", "1000"), "more than the 64 images"),
        (("--metrics", "fid", "--split", "validation"), "splits are 'test', 'train' and 'heldout:N'"),
        (("--metrics", "kid", "--num-samples", "10"), "subset_size 20 needs at least that many"),
    ],
)
def test_eval_errors_are_clear(tiny_model, fake_mnist, tmp_path, argv, match):
    args = small_run(tiny_model, fake_mnist, tmp_path)
    overrides = eval_args(str(tiny_model), *argv)
    for key in ("metrics", "num_real", "split", "num_samples"):
        if f"--{key.replace('_', '-')}" in argv:
            setattr(args, key, getattr(overrides, key))
    with pytest.raises(ValueError, match=match):
        run_eval(args)


def test_eval_needs_data_for_reference_metrics(tiny_model):
    with pytest.raises(ValueError, match="--data is needed for fid"):
        run_eval(eval_args(str(tiny_model), "--metrics", "fid,msssim", "--num-samples", "4"))
    # Metrics of the samples alone need no data.
    summary = run_eval(eval_args(str(tiny_model), "--metrics", "msssim", "--num-samples", "4", "--device", "cpu"))
    assert summary["metrics"][0]["protocol"]["reference"] is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_numbers_of_one(tiny_model, tmp_path):
    from conftest import write_fake_mnist

    data = write_fake_mnist(tmp_path / "mnist", train_count=300, test_count=16)
    # Sums (FID, MS-SSIM) reduce across ranks; KID with whole-set subsets and IS with one split do not
    # depend on the order in which ranks' samples are gathered, so all must match the single process.
    common = [
        str(tiny_model),
        "--data",
        str(data),
        "--split",
        "train",
        "--num-samples",
        "300",
        "--num-real",
        "300",
        "--metrics",
        "fid,kid,is,msssim",
        "--kid-subsets",
        "1",
        "--kid-subset-size",
        "300",
        "--is-splits",
        "1",
        "--no-cache",
        "--device",
        "cpu",
        "--no-progress",
    ]
    single = run_eval(eval_args(*common[:-1]))
    out = tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        "-m",
        "genzoo.evaluate",
        *common,
        "--json",
        str(out),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    distributed = json.loads(out.read_text())
    assert distributed["world_size"] == 2
    for one, two in zip(single["metrics"], distributed["metrics"], strict=True):
        assert one["type"] == two["type"]
        assert two["value"] == pytest.approx(one["value"], rel=1e-9), one["type"]
        assert two["protocol"]["num_generated"] == 300


def test_eval_on_an_image_folder_with_pixel_metrics_lpips_and_a_clear_inception_error(
    tmp_path, image_folder, monkeypatch
):
    import torchvision
    from safetensors.torch import save_file

    from genzoo.metrics import WeightsUnavailableError

    torch.manual_seed(0)
    network = DCGAN(image_size=32, channels=3, latent_dim=8, g_width=4, d_width=4)
    network.info = {
        "name": "tiny-dcgan-faces",
        "image_size": 32,
        "channels": 3,
        "value_range": [-1, 1],
        "dataset_id": "celeba",
    }
    save_folder(network, tmp_path / "model")
    alexnet = tmp_path / "alexnet.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision.models.alexnet(weights=None).state_dict().items()}, alexnet)
    summary = run_eval(
        eval_args(
            str(tmp_path / "model"),
            "--data",
            str(image_folder),
            "--metrics",
            "swd,msssim,lpips",
            "--num-samples",
            "20",
            "--lpips-backbone-weights",
            str(alexnet),
            "--device",
            "cpu",
        )
    )
    swd, msssim, lpips = summary["metrics"]
    assert swd["protocol"]["reference"] == image_folder.name and swd["protocol"]["reference_split"] == "all"
    assert swd["protocol"]["reference_transform"] == "celeba crop, bicubic to 32x32"
    assert swd["protocol"]["num_real"] == swd["protocol"]["num_generated"] == 20 and list(swd["per_level"]) == [
        "32",
        "16",
    ]
    assert lpips["type"] == "lpips_diversity" and lpips["protocol"]["num_generated"] == 20
    # RGB models default to the Inception protocol, whose weights cannot be fetched offline here.
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("GENZOO_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(WeightsUnavailableError, match="--inception-weights"):
        run_eval(
            eval_args(
                str(tmp_path / "model"),
                "--data",
                str(image_folder),
                "--metrics",
                "fid",
                "--num-samples",
                "20",
                "--offline",
            )
        )


def test_reconstruction_on_the_held_out_split_and_append(tmp_path, fake_mnist):
    """recon on heldout:N uses exactly the images a data module with val_size N holds out; --append merges."""
    from genzoo.metrics import ReconstructionL1
    from genzoo.models.ian import IAN, TINY

    torch.manual_seed(0)
    network = IAN(image_size=28, channels=1, **TINY)
    network.info = {"name": "tiny-ian", "dataset_id": "mnist"}
    save_folder(network, tmp_path / "ian")
    out = tmp_path / "metrics.json"
    common = ("--data", str(fake_mnist), "--no-cache", "--json", str(out))
    run_eval(eval_args(str(tmp_path / "ian"), "--metrics", "swd", "--split", "train", "--num-samples", "20", *common))
    summary = run_eval(eval_args(str(tmp_path / "ian"), "--metrics", "recon", "--split", "heldout:16", *common, "--append"))
    recon = summary["metrics"][0]
    assert recon["protocol"]["reference_split"] == "heldout:16" and recon["protocol"]["num_real"] == 16
    written = json.loads(out.read_text())["metrics"]
    assert [m["type"] for m in written] == ["swd", "recon_l1"] and all(m["command"] and m["hardware"] for m in written)

    module = MNISTDataModule(str(fake_mnist), val_size=16, seed=0, value_range=(-1.0, 1.0), download=False)
    module.setup()
    held = torch.stack([module.val_set[i][0] for i in range(16)])
    loaded = genzoo.load(tmp_path / "ian")
    metric = ReconstructionL1((-1.0, 1.0))
    with torch.no_grad():
        metric.update(held, loaded.reconstruct(held))
    assert recon["value"] == pytest.approx(float(metric.compute()), rel=1e-6)

    with pytest.raises(ValueError, match="heldout:N"):
        run_eval(eval_args(str(tmp_path / "ian"), "--metrics", "recon", "--split", "heldout:x", "--data", str(fake_mnist)))
    with pytest.raises(ValueError, match="no encoder"):
        run_eval(eval_args(str(save_dcgan(tmp_path)), "--metrics", "recon", "--data", str(fake_mnist)))


def save_dcgan(tmp_path):
    network = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    save_folder(network, tmp_path / "dcgan")
    return tmp_path / "dcgan"
