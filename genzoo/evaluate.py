"""``genzoo eval``: measure a checkpoint with stamped metrics, in one command.

    genzoo eval dcgan-mnist --metrics fid,kid,is,swd,msssim --data ../shared/data --num-samples 10000
    genzoo eval dcgan-celeba --metrics swd,msssim --data ../shared/data/celeba-10k --json out.json
    genzoo eval draw-mnist --metrics nll --data ../shared/data
    genzoo eval ian-mnist --metrics recon --split heldout:5000 --data ../shared/data
    genzoo eval cyclegan-horse2zebra --metrics swd,cycle --data ../shared/data/horse2zebra-128
    genzoo eval pix2pix-celeba-edges --metrics l1,psnr,ssim,msssim --data ../shared/data/celeba-10k
    genzoo eval transformnet-la-muse --metrics style,content,speed --data ../shared/data/style/content \
        --style ../shared/data/style/style/la_muse.jpg --pairs 4    (style and texture networks: genzoo.evaluate_style)
    torchrun --nproc_per_node 4 -m genzoo.cli eval ...     (metric states reduce across ranks)

What is compared with what:

* Generated images: ``--num-samples`` images drawn in chunks of 100 (chunk k with seed
  ``seed * 1,000,000 + k``), so the same seed gives the same images on any device, batch size or number
  of processes (chunk k runs on rank k mod world size).
* Reference images: the first ``--num-real`` images (default: as many as generated, at most all) of
  ``--split`` of the dataset: MNIST from ``--data`` (the folder holding MNIST/raw; split test or
  train), or an image folder (``--data`` is the folder; ``--dataset celeba`` uses the face crop), at
  the model's resolution.
* Metrics: fid, kid, is (features of ``--extractor``: ``auto`` is genzoo's MNIST classifier for
  grayscale MNIST models, which works offline, and InceptionV3 otherwise), swd, msssim (diversity of
  sample pairs), lpips (diversity of sample pairs; needs the AlexNet weights), nll (likelihood models
  that have ``network.nll(images, num_importance_samples=, seed=)``; on the binarized split), recon
  (mean |x - reconstruct(x)| of encoder-decoder models, in the model's value range).
* Splits: MNIST ``test`` or ``train``; image folders ``all``; and for both ``heldout:N``, the N images a
  genzoo data module with ``val_size: N`` and ``seed: --split-seed`` holds out of its training data (so
  a held-out error is measured on exactly the images training never saw).

``--json PATH`` writes ``{"model", "metrics": [...]}`` with every metric stamped with its protocol and
the command, hardware and date that measured it (the model card's ``metrics.json`` format);
``--append`` merges into an existing file, replacing metrics of the same name.

Reference features are cached in ``--cache-dir`` (default ``~/.cache/genzoo/eval``), one file per
dataset, split, image content hash and extractor protocol; a cached and an uncached run give the same
numbers. Every number is printed and returned with its protocol stamp, and ``--json`` writes them in
the registry / model-card format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

METRIC_NAMES = {
    "fid": "fid",
    "kid": "kid",
    "is": "is",
    "inception_score": "is",
    "swd": "swd",
    "msssim": "msssim",
    "ms-ssim": "msssim",
    "ms_ssim": "msssim",
    "lpips": "lpips",
    "lpips_diversity": "lpips",
    "nll": "nll",
    "recon": "recon",
    "recon_l1": "recon",
    "psnr": "psnr",
    "ssim": "ssim",
    "cycle": "cycle",
    "cycle_l1": "cycle",
    "l1": "l1",
    "steps": "steps",
    "confidence": "confidence",
    "style": "style",
    "content": "content",
    "gram": "gram",
    "speed": "speed",
}
SR_METRICS = ("psnr", "ssim")  # super-resolution networks (those with ``upscale``): measured against HR images
# Translation networks (those with ``translate``): CycleGAN against the other domain's test images, pix2pix
# against the true outputs of held-out inputs.
CYCLEGAN_METRICS = ("swd", "cycle")
PIX2PIX_METRICS = ("l1", "psnr", "ssim", "msssim")
# Start-to-goal interpolators: the final frame against the goal (l1, ssim), steps taken, and how natural the
# intermediate frames are (MNIST: classifier confidence and FID; CelebA: SWD), beside two baselines.
INTERPOLATION_METRICS = ("l1", "ssim", "steps", "confidence", "fid", "swd")
INTERPOLATION_LATENT_BASELINES = {"mnist": "ian-mnist", "celeba": "ian-celeba"}
TRANSLATION_CHUNK = 100  # images translated per forward pass (the results do not depend on it)
FEATURE_METRICS = ("fid", "kid", "is")
DATASETS = ("mnist", "celeba", "folder")
CACHE_FORMAT = 1
SAMPLE_CHUNK = 100  # generated images per seed; part of the protocol (the images depend on it)
MAX_SEED = 4293  # chunk seeds must fit in 32 bits: torch's CPU generator (mt19937) ignores higher bits
SEEDING = f"chunks of {SAMPLE_CHUNK}, chunk k seeded seed * 1000000 + k"


def chunk_seed(seed: int, k: int) -> int:
    """The seed of chunk ``k`` (distinct for every seed <= MAX_SEED and k < 1,000,000; below 2**32)."""
    if not 0 <= k < 1_000_000:
        raise ValueError(f"at most 1,000,000 chunks of {SAMPLE_CHUNK} images, got chunk {k}")
    return seed * 1_000_000 + k


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``genzoo eval``'s arguments to ``parser``."""
    parser.add_argument("model", help="a registered name, hf-hub:org/repo or a checkpoint folder")
    parser.add_argument(
        "--metrics",
        default="fid,kid,is,swd,msssim",
        help="comma-separated: fid, kid, is, swd, msssim, lpips, nll, recon; super-resolution: psnr, ssim; "
        "CycleGAN: swd, cycle; pix2pix: l1, psnr, ssim, msssim; interpolators: l1, ssim, steps, confidence, fid, swd; "
        "style networks: style, content, speed; texture networks: gram, speed",
    )
    parser.add_argument(
        "--scale", type=int, default=None, help="psnr, ssim: the upscaling factor (super-resolution networks)"
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("GENZOO_DATA_DIR"),
        help="reference data: the folder holding MNIST/raw, or an image folder (default: $GENZOO_DATA_DIR)",
    )
    parser.add_argument(
        "--dataset", choices=DATASETS, default=None, help="reference kind (default: from the model's dataset)"
    )
    parser.add_argument(
        "--split", default=None, help="mnist: test (default) or train; image folders: all; both: heldout:N; "
        "CycleGAN: test (default) or train; pix2pix: last:N (default last:500) or all"
    )
    parser.add_argument("--split-seed", type=int, default=0, help="the data module seed of a heldout:N split")
    parser.add_argument(
        "--num-samples", type=int, default=None, help="generated images (default 10000; texture networks: 16)"
    )
    parser.add_argument(
        "--num-real", type=int, default=None, help="reference images (default: as many as generated, at most all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the samples, KID subsets, IS splits, SWD patches")
    parser.add_argument("--batch-size", type=int, default=100, help="images per extractor forward pass")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    parser.add_argument("--extractor", default="auto", help="auto, inception-v3-compat, genzoo-mnist-classifier-v1")
    parser.add_argument("--inception-weights", default=None, help="local InceptionV3 weights file (offline use)")
    parser.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex")
    parser.add_argument("--lpips-backbone-weights", default=None, help="local torchvision AlexNet/VGG16 weights file")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--is-splits", type=int, default=10)
    parser.add_argument(
        "--binarize",
        choices=("stochastic", "threshold"),
        default=None,
        help="nll: binarization of the data (default: the model's, else stochastic)",
    )
    parser.add_argument(
        "--nll-importance-samples",
        type=int,
        default=1,
        help="nll: 1 = negative ELBO; K > 1 = importance-weighted bound",
    )
    parser.add_argument("--pairs", type=int, default=None, help="interpolators: held-out (start, goal) pairs (default: 500, at most half the split)")
    parser.add_argument(
        "--latent-baseline", default=None,
        help="interpolators: the encoder-decoder model whose latent interpolation is the baseline (default: ian-mnist "
        "or ian-celeba by dataset; none: skip)",
    )
    parser.add_argument(
        "--style", default=None, help="style networks: the style image (a transform net's own) or a folder of them (AdaIN)"
    )
    parser.add_argument(
        "--size", type=int, default=None, help="style networks: the photos' side (default: the network's training size)"
    )
    parser.add_argument(
        "--gatys-steps", type=int, default=300, help="style and texture networks: L-BFGS steps of the Gatys comparison"
    )
    parser.add_argument(
        "--figure", default=None, metavar="PATH", help="style and texture networks: also save the compared images"
    )
    parser.add_argument("--cache-dir", default=None, help="reference feature cache (default: ~/.cache/genzoo/eval)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cached reference features")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the stamped results as JSON")
    parser.add_argument("--append", action="store_true", help="merge into an existing --json file")
    parser.add_argument("--offline", action="store_true", help="download nothing (as GENZOO_OFFLINE=1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


# ---------------------------------------------------------------------------------------------
# processes and devices
# ---------------------------------------------------------------------------------------------


def _distributed(device_arg: str | None) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and torch.distributed.is_available() and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() and device_arg != "cpu" else "gloo")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    else:
        rank, world = 0, 1
    if device_arg is None:
        device_arg = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_arg)
    if device.type == "cuda" and device.index is None and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    return rank, world, device


def _my_chunks(total: int, chunk: int, rank: int, world: int) -> Iterator[tuple[int, int, int]]:
    """(chunk index, start, stop) of the chunks of range(total) that this rank handles (round robin)."""
    for k, start in enumerate(range(0, total, chunk)):
        if k % world == rank:
            yield k, start, min(start + chunk, total)


# ---------------------------------------------------------------------------------------------
# reference data
# ---------------------------------------------------------------------------------------------


def _default_dataset(info: dict[str, Any]) -> str:
    dataset_id = str(info.get("dataset_id") or info.get("dataset") or "").lower()
    if "mnist" in dataset_id:
        return "mnist"
    if "celeba" in dataset_id:
        return "celeba"
    return "folder"


def load_reference(
    dataset: str,
    data_dir: str,
    split: str,
    image_shape: tuple[int, int, int],
    num: int | None,
    binarize: str | None = None,
    exact: bool = True,
    split_seed: int = 0,
    progress: bool = True,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The first ``num`` (all when None) reference images as uint8 (N, C, S, S), and their stamp fields.

    With ``exact`` a split smaller than ``num`` is an error; otherwise the whole split is returned.
    ``split`` ``heldout:N`` is what a data module with ``val_size=N, seed=split_seed`` holds out.
    """
    from genzoo.data import MNISTDataModule, list_image_files, read_image
    from genzoo.data._common import split_indices

    channels, size, _ = image_shape
    heldout = _heldout_size(split)
    if dataset == "mnist":
        if channels != 1:
            raise ValueError(f"MNIST is grayscale, but the model makes {channels}-channel images")
        if split not in ("test", "train") and heldout is None:
            raise ValueError(f"MNIST splits are 'test', 'train' and 'heldout:N', got {split!r}")
        module = MNISTDataModule(
            data_dir, val_size=heldout or 0, seed=split_seed, image_size=size, value_range=(0.0, 1.0),
            binarize=binarize, download=False,
        )
        module.setup()
        if heldout is None:
            images = (module.test_set if split == "test" else module.train_set).images
        else:  # a Subset of the training file
            images = module.val_set.dataset.images[torch.as_tensor(module.val_set.indices)]
        fields = {"reference": "mnist", "reference_split": split}
        if heldout is not None:
            fields["split_seed"] = split_seed
        if size != 28:
            fields["reference_transform"] = f"bilinear-antialias 28->{size}"
        if binarize:
            fields["reference_transform"] = f"binarized ({binarize}, MNISTDataModule seed 0)"
    else:
        if split != "all" and heldout is None:
            raise ValueError(f"image folders are used whole (split 'all') or by 'heldout:N', got split {split!r}")
        files = list_image_files(data_dir)
        if heldout is not None:
            files = [files[i] for i in split_indices(len(files), heldout, split_seed)[1]]
        files = files[:num] if num is not None else files
        crop = "celeba" if dataset == "celeba" else "center"
        iterator = tqdm(files, desc=f"reading {Path(data_dir).name}", leave=False, disable=len(files) < 500 or not progress)
        images = torch.stack([read_image(f, channels, size, crop) for f in iterator])
        fields = {
            "reference": Path(data_dir).resolve().name,
            "reference_split": split,
            "reference_transform": f"{crop} crop, bicubic to {size}x{size}",
        }
        if heldout is not None:
            fields["split_seed"] = split_seed
    if num is not None:
        if exact and num > len(images):
            raise ValueError(f"--num-real {num} is more than the {len(images)} images of {fields['reference']}/{split}")
        images = images[:num]
    return images, fields


def _heldout_size(split: str) -> int | None:
    """N of a ``heldout:N`` split, None for other splits."""
    if not split.startswith("heldout:"):
        return None
    text = split.split(":", 1)[1]
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"a held-out split is 'heldout:N' with N a positive integer (the data module's val_size), got {split!r}")
    return int(text)


def describe_machine(device: torch.device, world: int) -> str:
    """Where a measurement ran, for the record: the accelerator or the CPU, and how many processes."""
    if device.type == "cuda":
        return f"{world} x {torch.cuda.get_device_name(device)}"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores ({world} process(es), torch threads {torch.get_num_threads()})"


def merge_results(path: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """``summary``'s metrics added to the metrics.json at ``path``; a metric of the same name is replaced."""
    existing = json.loads(path.read_text())
    if existing.get("model") not in (None, summary["model"]):
        raise ValueError(f"{path} holds metrics of {existing.get('model')!r}, not of {summary['model']!r}")
    new_names = {m["name"] for m in summary["metrics"]}
    kept = [m for m in existing.get("metrics", []) if m["name"] not in new_names]
    return {**summary, "metrics": kept + summary["metrics"]}


def _to_unit(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float() / 255.0


# ---------------------------------------------------------------------------------------------
# cached reference features
# ---------------------------------------------------------------------------------------------


def _cache_dir(arg: str | None) -> Path:
    from genzoo.metrics.downloads import cache_root

    return Path(arg).expanduser() if arg else cache_root() / "eval"


def reference_features(
    extractor,
    images: torch.Tensor,
    reference: dict[str, Any],
    batch_size: int,
    cache_dir: Path | None,
    progress: bool,
    rank: int = 0,
    world: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(features of this rank's reference chunks, their indices, cache hit) for ``images`` (uint8).

    The cache key covers the image content (sha256 of the uint8 tensor), the dataset and split, and
    everything of the extractor's protocol (name, weights sha256, input size, resize, quantization).
    Only a single process writes the cache; every process reads it.
    """
    from safetensors.torch import load_file, save_file

    indices = torch.cat(
        [torch.arange(a, b) for _, a, b in _my_chunks(len(images), batch_size, rank, world)]
        or [torch.zeros(0, dtype=torch.long)]
    )
    key_fields = {
        "format": CACHE_FORMAT,
        **{k: reference.get(k) for k in ("reference", "reference_split", "reference_transform")},
        "num_real": len(images),
        "image_shape": list(images.shape[1:]),
        "content_sha256": hashlib.sha256(images.contiguous().numpy().tobytes()).hexdigest(),
        "extractor": extractor.name,
        "extractor_sha256": extractor.weights_sha256,
        "extractor_input_size": extractor.input_size,
        "resize": extractor.resize_description(images.shape[-1]),
        "pixels": "uint8",
    }
    key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:24]
    path = None
    if cache_dir is not None:
        slug = f"{reference.get('reference')}-{reference.get('reference_split')}-{extractor.name}-n{len(images)}"
        path = cache_dir / f"{slug}-{key}.safetensors"
        if path.is_file():
            features = load_file(path)["features"]
            if len(features) == len(images) and features.shape[1] == extractor.num_features:
                return features[indices], indices, True
    chunks = []
    for start in tqdm(range(0, len(indices), batch_size), desc="reference features", disable=not progress, leave=False):
        batch = images[indices[start : start + batch_size]]
        chunks.append(extractor.extract(_to_unit(batch))[0].cpu())
    features = torch.cat(chunks) if chunks else torch.zeros(0, extractor.num_features)
    if path is not None and world == 1:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        save_file(
            {"features": features.contiguous()}, partial, metadata={"key": json.dumps(key_fields, sort_keys=True)}
        )
        partial.replace(path)
    return features, indices, False


# ---------------------------------------------------------------------------------------------
# the evaluation
# ---------------------------------------------------------------------------------------------


def _parse_metrics(text: str) -> list[str]:
    names = []
    for raw in (t.strip().lower() for t in text.split(",") if t.strip()):
        if raw not in METRIC_NAMES:
            raise ValueError(f"unknown metric {raw!r}; choose from fid, kid, is, swd, msssim, lpips, nll, recon, psnr, ssim, "
                             "cycle, l1, steps, confidence, style, content, gram, speed")
        if METRIC_NAMES[raw] not in names:
            names.append(METRIC_NAMES[raw])
    if not names:
        raise ValueError("--metrics names no metric")
    return names


def _build_extractor(name: str, dataset: str, channels: int, args: argparse.Namespace, offline: bool | None):
    from genzoo.metrics.downloads import INCEPTION_V3
    from genzoo.metrics.extractors import InceptionV3Extractor, get_extractor
    from genzoo.metrics.mnist_classifier import CLASSIFIER_NAME

    if name == "auto":
        name = CLASSIFIER_NAME if (channels == 1 and dataset == "mnist") else INCEPTION_V3.name
    if name == INCEPTION_V3.name:
        return InceptionV3Extractor(weights=args.inception_weights, offline=offline)
    return get_extractor(name)


def run_eval(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate ``args.model``; print the stamped results (rank 0), write ``--json``, return them.

    Returns ``{"model", "weights_sha256", "world_size", "device", "metrics": [registry-format dicts]}``; each
    metric carries the command, hardware and date that measured it.
    """
    import genzoo
    from genzoo.metrics import FID, KID, NLL, SWD, InceptionScore, LPIPSDiversity, MSSSIMDiversity, ReconstructionL1

    names = _parse_metrics(args.metrics)
    if args.num_samples is not None and args.num_samples < 1:
        raise ValueError(f"--num-samples must be positive, got {args.num_samples}")
    if args.gatys_steps < 1 or (args.size is not None and args.size < 16):
        raise ValueError(f"--gatys-steps must be positive and --size at least 16, got {args.gatys_steps} and {args.size}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(
            f"--seed must be in [0, {MAX_SEED}] (seeds of sample chunks must fit in 32 bits), got {args.seed}"
        )
    rank, world, device = _distributed(args.device)
    progress = rank == 0 and not args.no_progress
    offline = True if args.offline else None

    network = genzoo.load(args.model, device=device, offline=offline)
    info = network.info
    if type(network).__name__ == "TransformationInterpolator":
        results = evaluate_interpolation(network, names, args, progress, offline)
        return report_results(args, info, device, world, rank, results)
    from genzoo.models.style import StyleNetwork

    # The texture and style family by class: StyleGAN also has noise inputs (noise_shapes) and is a sampler.
    if isinstance(network, StyleNetwork):
        from genzoo.evaluate_style import evaluate_stylizer, evaluate_texture

        evaluate = evaluate_stylizer if hasattr(network, "stylize") else evaluate_texture
        return report_results(args, info, device, world, rank, evaluate(network, names, args, progress))
    args.num_samples = args.num_samples or 10_000
    if hasattr(network, "translate"):
        results = evaluate_translation(network, names, args, progress)
        return report_results(args, info, device, world, rank, results)
    if hasattr(network, "upscale") or any(n in SR_METRICS for n in names):
        results = evaluate_super_resolution(network, names, args, progress)
        return report_results(args, info, device, world, rank, results)
    channels, size = (
        int(info.get("channels") or network.config.get("channels")),
        int(info.get("image_size") or network.config.get("image_size")),
    )
    image_shape = (channels, size, size)
    dataset = args.dataset or _default_dataset(info)
    split = args.split or ("test" if dataset == "mnist" else "all")
    needs_reference = [n for n in names if n in ("fid", "kid", "swd", "nll", "recon")]
    if needs_reference and not args.data:
        raise ValueError(
            f"--data is needed for {', '.join(needs_reference)}: the folder holding MNIST/raw (mnist) or the image folder "
            "(celeba, folder); or set GENZOO_DATA_DIR to it"
        )
    if "nll" in names and not hasattr(network, "nll"):
        raise ValueError(
            f"{args.model} is not a likelihood model (its network has no nll method); drop nll from --metrics"
        )
    if "recon" in names and not hasattr(network, "reconstruct"):
        raise ValueError(f"{args.model} has no encoder (its network has no reconstruct method); drop recon from --metrics")

    # -- metrics ---------------------------------------------------------------------------
    metrics: dict[str, Any] = {}
    extractor = None
    if any(n in FEATURE_METRICS for n in names):
        extractor = _build_extractor(args.extractor, dataset, channels, args, offline).to(device)
    if "fid" in names:
        metrics["fid"] = FID(extractor)
    if "kid" in names:
        metrics["kid"] = KID(extractor, subsets=args.kid_subsets, subset_size=args.kid_subset_size, seed=args.seed)
    if "is" in names:
        metrics["is"] = InceptionScore(extractor, splits=args.is_splits, seed=args.seed)
    if "swd" in names:
        metrics["swd"] = SWD(size, channels, seed=args.seed)
    if "msssim" in names:
        metrics["msssim"] = MSSSIMDiversity()
    if "lpips" in names:
        metrics["lpips"] = LPIPSDiversity(args.lpips_net, args.lpips_backbone_weights, offline=offline)
    for metric in metrics.values():
        metric.to(device)

    # -- reference side ----------------------------------------------------------------------
    reference_fields: dict[str, Any] = {}
    num_real = None
    if any(n in metrics for n in ("fid", "kid", "swd")):
        # Default: as many reference images as generated ones, at most the whole split.
        exact = args.num_real is not None
        real, reference_fields = load_reference(
            dataset, args.data, split, image_shape, args.num_real or args.num_samples, exact=exact,
            split_seed=args.split_seed, progress=progress,
        )
        num_real = len(real)
        cache_dir = None if args.no_cache else _cache_dir(args.cache_dir)
        if "fid" in metrics or "kid" in metrics:
            features, _, hit = reference_features(
                extractor, real, reference_fields, args.batch_size, cache_dir, progress, rank, world
            )
            if rank == 0:
                print(
                    f"reference features: {len(real)} images of {reference_fields['reference']}/{split}"
                    + (" (cached)" if hit else "")
                )
            for key in ("fid", "kid"):
                if key in metrics:
                    metrics[key].update(features=features.to(device), real=True)
        if "swd" in metrics:
            for _, start, stop in _my_chunks(min(num_real, args.num_samples), SAMPLE_CHUNK, rank, world):
                metrics["swd"].update(_to_unit(real[start:stop]), real=True)

    # -- generated side ----------------------------------------------------------------------
    swd_count = min(num_real or 0, args.num_samples)  # ProGAN's SWD compares equally large sets
    chunks = list(_my_chunks(args.num_samples, SAMPLE_CHUNK, rank, world)) if metrics else []  # all above use samples
    for k, start, stop in tqdm(chunks, desc=f"sampling {info.get('name', args.model)}", disable=not progress):
        images = network.to_unit_range(network.sample(stop - start, seed=chunk_seed(args.seed, k))).to(device)
        if extractor is not None:
            outputs = [extractor.extract(sub) for sub in images.split(args.batch_size)]
            features = torch.cat([f for f, _ in outputs])
            for key in ("fid", "kid"):
                if key in metrics:
                    metrics[key].update(features=features, real=False)
            if "is" in metrics:
                metrics["is"].update(logits=torch.cat([logits for _, logits in outputs]))
        if "swd" in metrics and start < swd_count:
            metrics["swd"].update(images[: swd_count - start], real=False)
        if "msssim" in metrics:
            metrics["msssim"].update(images)
        if "lpips" in metrics:
            metrics["lpips"].update(images)
    for key in FEATURE_METRICS:
        if key in metrics:
            metrics[key].note_input(image_shape)

    # -- likelihood ------------------------------------------------------------------------------
    nll_fields: dict[str, Any] = {}
    if "nll" in names:
        binarize = args.binarize or info.get("binarize") or "stochastic"
        test, nll_fields = load_reference(
            dataset, args.data, split, image_shape, args.num_real, binarize=binarize, split_seed=args.split_seed,
            progress=progress,
        )
        k = args.nll_importance_samples
        metrics["nll"] = NLL(channels * size * size, bound="elbo" if k == 1 else f"iwae-{k}").to(device)
        for c, start, stop in tqdm(
            list(_my_chunks(len(test), SAMPLE_CHUNK, rank, world)), desc="nll", disable=not progress
        ):
            values = network.nll(
                _to_unit(test[start:stop]).to(device), num_importance_samples=k, seed=chunk_seed(args.seed, c)
            )
            metrics["nll"].update(values.detach())
        nll_fields["nll_noise"] = SEEDING.replace("chunks of", "test images in chunks of")

    # -- reconstruction ---------------------------------------------------------------------------
    recon_fields: dict[str, Any] = {}
    if "recon" in names:
        held, recon_fields = load_reference(
            dataset, args.data, split, image_shape, args.num_real, split_seed=args.split_seed, progress=progress
        )
        low, high = network.value_range
        metrics["recon"] = ReconstructionL1((low, high)).to(device)
        for _, start, stop in tqdm(
            list(_my_chunks(len(held), SAMPLE_CHUNK, rank, world)), desc="reconstruct", disable=not progress
        ):
            images = (_to_unit(held[start:stop]) * (high - low) + low).to(device)
            with torch.no_grad():
                metrics["recon"].update(images.float(), network.reconstruct(images).float())
        recon_fields["reconstruction"] = "reconstruct(x) = decode(encode(x)), the posterior mean"

    # -- results -------------------------------------------------------------------------------
    results = []
    for key, metric in metrics.items():
        context: dict[str, Any] = {"seed": args.seed}
        if key in ("fid", "kid", "swd"):
            context.update(reference_fields)
        if key == "nll":
            context.update(nll_fields)
        elif key == "recon":
            context.update(recon_fields)
        else:
            context["sampling"] = SEEDING
        results.append(metric.result(**context))

    return report_results(args, info, device, world, rank, results)


def report_results(args: argparse.Namespace, info: dict[str, Any], device: torch.device, world: int, rank: int, results: list) -> dict[str, Any]:
    """Stamp ``results`` with their provenance; print them and write ``--json`` on rank 0; return the summary."""
    # Provenance travels with every number, so metrics merged from several runs keep their own.
    provenance = {
        "command": getattr(args, "command_line", None) or f"genzoo eval {args.model} (called from Python)",
        "hardware": describe_machine(device, world),
        "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    summary = {
        "model": info.get("name", str(args.model)),
        "weights_sha256": info.get("weights_sha256"),
        "world_size": world,
        "device": str(device),
        "metrics": [{**r.to_dict(), **provenance} for r in results],
    }
    if rank == 0:
        print(f"genzoo eval {summary['model']} ({world} process{'es' if world > 1 else ''}, {device}):")
        for r in results:
            print(f"  {r}")
        if args.json:
            path = Path(args.json)
            path.parent.mkdir(parents=True, exist_ok=True)
            written = merge_results(path, summary) if args.append and path.is_file() else summary
            path.write_text(json.dumps(written, indent=2) + "\n")
            print(f"wrote {args.json}")
    return summary


# ---------------------------------------------------------------------------------------------
# super-resolution
# ---------------------------------------------------------------------------------------------


def evaluate_super_resolution(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    """PSNR / SSIM of ``network.upscale`` and of bicubic on the HR images of ``args.data``, SR protocol.

    Each HR image is cropped to a multiple of the scale; its LR image is the MATLAB-style bicubic
    downscaling (``genzoo.data.sr.make_lr``), clamped and rounded to 8 bits as a saved LR file would be.
    The network's output and the bicubic upscaling of the same LR image are measured by the same metric
    objects' code: Y channel (BT.601) of the 8-bit RGB result, ``scale`` pixels cropped at each border,
    mean over images. The bicubic numbers are recorded beside the network's ("PSNR bicubic x2").
    """
    from genzoo.data import list_image_files, read_image
    from genzoo.data.sr import make_lr
    from genzoo.metrics import PSNR, SSIM

    wrong = [n for n in names if n not in SR_METRICS]
    if wrong or not hasattr(network, "upscale"):
        raise ValueError(
            "psnr and ssim measure super-resolution networks (those with an upscale method), and those take only "
            f"psnr and ssim; got metrics {names} for a {type(network).__name__}"
        )
    scales = tuple(network.scales)
    if args.scale is None:
        raise ValueError(f"--scale is needed for psnr / ssim: one of {scales} (use --append to add another scale)")
    if args.scale not in scales:
        raise ValueError(f"--scale {args.scale}: this network upscales by {scales}")
    if not args.data:
        raise ValueError("--data is needed for psnr / ssim: a folder of high-resolution images (e.g. ../shared/data/sr/Set5)")
    scale = args.scale
    kinds = {"psnr": PSNR, "ssim": SSIM}
    measured = {(n, who): kinds[n](mode="y", crop_border=scale, any_size=True) for n in names for who in ("net", "bicubic")}
    files = list_image_files(args.data)
    for path in tqdm(files, desc=f"x{scale} on {Path(args.data).name}", disable=not progress):
        hr = read_image(path, channels=3, image_size=None).double() / 255.0
        hr, lr = make_lr(hr, scale)
        lr = (lr.clamp(0, 1) * 255).round() / 255  # the LR image as an 8-bit file holds it
        outputs = {"net": network.upscale(lr.float(), scale), "bicubic": network.bicubic(lr.float(), scale)}
        for (_, who), metric in measured.items():
            metric.update(outputs[who][None].float().cpu(), hr[None].float())
    results = []
    for (name, who), metric in measured.items():
        result = metric.result(
            reference=Path(args.data).resolve().name, reference_split="all", scale=scale,
            low_resolution="MATLAB-style bicubic (genzoo.imresize) of the HR image cropped to a multiple of the scale, 8-bit",
            upscaling="network.upscale" if who == "net" else "MATLAB-style bicubic (genzoo.imresize)",
        )
        result.name = f"{metric.label} x{scale}" if who == "net" else f"{metric.label} bicubic x{scale}"
        results.append(result)
    return results


# ---------------------------------------------------------------------------------------------
# image-to-image translation
# ---------------------------------------------------------------------------------------------


def _translate_all(network, images_unit: torch.Tensor, direction: str) -> torch.Tensor:
    """``network.translate`` of images in [0, 1] (N, C, H, W), chunk by chunk -> [0, 1], on the CPU."""
    low, high = network.value_range
    outputs = []
    for chunk in images_unit.split(TRANSLATION_CHUNK):
        outputs.append(network.to_unit_range(network.translate(low + (high - low) * chunk, direction)).float().cpu())
    return torch.cat(outputs)


def evaluate_translation(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    """CycleGAN: SWD of translated test images against the other domain's test images (and of the untranslated
    inputs, the baseline a translation must beat), and cycle-reconstruction L1; pix2pix: L1, PSNR, SSIM and
    MS-SSIM of its outputs against the true outputs of held-out inputs. Images are resized (bicubic) to the
    network's training size, as its test images were."""
    if not args.data:
        raise ValueError("--data is needed for a translation model: the two-domain folder holding testA/ and testB/ "
                         "(CycleGAN), or the folder of photos the held-out pairs are made from (pix2pix)")
    bidirectional = len(network.generators) == 2
    allowed = CYCLEGAN_METRICS if bidirectional else PIX2PIX_METRICS
    wrong = [n for n in names if n not in allowed]
    if wrong:
        raise ValueError(f"{type(network).__name__} is measured with {', '.join(allowed)}; got {', '.join(wrong)}")
    if bidirectional:
        return _evaluate_cyclegan(network, names, args, progress)
    return _evaluate_pix2pix(network, names, args, progress)


def _evaluate_cyclegan(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    from genzoo.data.translation import domain_files, read_images
    from genzoo.metrics import SWD, ReconstructionL1

    split = args.split or "test"
    if split not in ("test", "train"):
        raise ValueError(f"a two-domain folder's splits are 'test' (testA, testB) and 'train', got {split!r}")
    size, channels = network.image_size, network.channels
    domains = network.info.get("domains") or network.describe(network.config)["domains"]
    folders = {"a": f"{split}A", "b": f"{split}B"}
    images = {}
    for key, folder in folders.items():
        files = domain_files(args.data, folder)
        images[key] = read_images(files, channels, size).float() / 255.0
    count = min(len(images["a"]), len(images["b"]), args.num_real or len(images["a"]) + len(images["b"]))
    reference = Path(args.data).resolve().name
    transform = f"bicubic resize to {size}x{size}, first {count} images of each folder (sorted names)"
    results = []
    for direction, source, target in (("a2b", "a", "b"), ("b2a", "b", "a")):
        inputs = images[source][:count]
        translated = _translate_all(network, inputs, direction)
        what = f"{domains[source]} -> {domains[target]}"
        context = dict(reference=reference, reference_split=folders[target], seed=args.seed, reference_transform=transform)
        if "swd" in names:
            for label, generated in ((f"SWD {direction} ({what})", translated),
                                     (f"SWD {direction} untranslated ({domains[source]} vs {domains[target]})", inputs)):
                swd = SWD(size, channels, seed=args.seed)
                swd.update(images[target][:count], real=True)
                swd.update(generated, real=False)
                how = f"network.translate {direction} of {folders[source]}" if generated is translated else f"{folders[source]} as it is (baseline)"
                result = swd.result(**context, compared=how)
                result.name = label
                results.append(result)
        if "cycle" in names:
            back = "b2a" if direction == "a2b" else "a2b"
            cycle = ReconstructionL1((0.0, 1.0))
            cycle.update(inputs, _translate_all(network, translated, back))
            result = cycle.result(reference=reference, reference_split=folders[source], seed=args.seed,
                                  reference_transform=transform, reconstruction=f"translate {back} of translate {direction}")
            result.name = f"Cycle L1 {direction[0]}->{direction[-1]}->{direction[0]} ({domains[source]})"
            results.append(result)
    if progress:
        print(f"translated {count} test images each way ({split}A, {split}B of {reference})")
    return results


def _evaluate_pix2pix(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    from genzoo.data import list_image_files
    from genzoo.data.translation import EDGE_THRESHOLD, edge_image, read_images
    from genzoo.metrics import MSSSIM, PSNR, SSIM, ReconstructionL1

    files = list_image_files(args.data)
    split = args.split or ("last:500" if len(files) > 500 else "all")
    if split != "all":
        count = _last_size(split)
        if count >= len(files):
            raise ValueError(f"--split {split}: {args.data} holds only {len(files)} images")
        files = files[-count:]
    dataset = args.dataset or _default_dataset(network.info)
    crop = "celeba" if dataset == "celeba" else "center"
    size = network.image_size
    truth = read_images(files, network.config.get("channels", 3), size, crop)
    inputs = edge_image(truth).float() / 255.0
    outputs = _translate_all(network, inputs, "a2b")
    truth = truth.float() / 255.0
    domains = network.info.get("domains") or network.describe(network.config)["domains"]
    kinds = {"l1": lambda: ReconstructionL1((0.0, 1.0)), "psnr": lambda: PSNR(mode="rgb"), "ssim": lambda: SSIM(mode="rgb"),
             "msssim": MSSSIM}
    context = dict(
        reference=Path(args.data).resolve().name, reference_split=split, seed=args.seed,
        reference_transform=f"{crop} crop, bicubic to {size}x{size}",
        inputs=f"genzoo.data.translation.edge_image of each reference image (threshold {EDGE_THRESHOLD})",
    )
    results = []
    for name in names:
        metric = kinds[name]()
        metric.update(outputs, truth)
        result = metric.result(**context)
        result.name = f"{metric.label} ({domains['a']} -> {domains['b']})" if name != "l1" else f"L1 ({domains['a']} -> {domains['b']})"
        results.append(result)
    if progress:
        print(f"translated {len(files)} held-out inputs ({split} of {Path(args.data).name})")
    return results


def _last_size(split: str) -> int:
    """N of a ``last:N`` split (the last N files in sorted order, as EdgesToFacesDataModule holds out)."""
    text = split.split(":", 1)[1] if split.startswith("last:") else ""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"pix2pix splits are 'all' and 'last:N' (the data module's held-out test_size), got {split!r}")
    return int(text)


# ---------------------------------------------------------------------------------------------
# start-to-goal interpolation
# ---------------------------------------------------------------------------------------------


def evaluate_interpolation(network, names: list[str], args: argparse.Namespace, progress: bool, offline: bool | None) -> list:
    """An interpolator against two baselines on the same held-out pairs (the i-th image of the split with the
    (P + i)-th, P = ``--pairs``): a pixel cross-fade and latent interpolation by an encoder-decoder (encode both
    ends, lerp, decode; ``--latent-baseline``). Every path has the interpolator's step budget K, so K + 1 frames;
    its *intermediate* frames are frames 1 .. K - 1 (a stopped agent's frames repeat its final state).

    l1, ssim: the final frame (the agent's last state; the latent path's decoded goal) against the goal, and the
    start itself against the goal (no step taken: the scale).
    steps: the mean number of steps the agent took. confidence (MNIST): the bundled classifier's mean max-softmax
    on intermediate frames (and on the real goals, for reference). fid (MNIST): classifier FID of intermediate
    frames against the whole split. swd: SWD of intermediate frames against the split's images, as many of
    each (a seeded choice of frames).
    """
    import genzoo
    from genzoo.metrics import FID, SSIM, SWD, ClassifierConfidence, ReconstructionL1
    from genzoo.metrics.extractors import MNISTClassifierExtractor
    from genzoo.metrics.protocol import MetricResult, protocol_stamp
    from genzoo.models.interpolator import crossfade

    wrong = [n for n in names if n not in INTERPOLATION_METRICS]
    if wrong:
        raise ValueError(f"interpolators are measured with {', '.join(INTERPOLATION_METRICS)}; got {', '.join(wrong)}")
    if not args.data:
        raise ValueError("--data is needed for an interpolator: the folder holding MNIST/raw, or the image folder the pairs come from")
    if args.pairs is not None and args.pairs < 2:
        raise ValueError(f"--pairs must be at least 2, got {args.pairs}")
    dataset = args.dataset or _default_dataset(network.info)
    if dataset != "mnist" and any(n in ("confidence", "fid") for n in names):
        raise ValueError("confidence and fid use the MNIST classifier: measure CelebA interpolators with l1, ssim, steps, swd")
    split = args.split or ("test" if dataset == "mnist" else "heldout:500")  # heldout:500: what ian-celeba held out too
    channels, size, steps = network.channels, network.image_size, int(network.config["max_steps"])
    reference, fields = load_reference(dataset, args.data, split, (channels, size, size), None, split_seed=args.split_seed, progress=progress)
    reference = reference.float() / 255.0
    pairs = args.pairs or min(500, len(reference) // 2)
    if 2 * pairs > len(reference):
        raise ValueError(f"--pairs {pairs} needs {2 * pairs} images; {fields['reference']}/{split} holds {len(reference)}")
    start, goal = reference[:pairs], reference[pairs : 2 * pairs]

    # The paths, each (P, K + 1, C, H, W) in [0, 1] on the CPU, and their final frames.
    device = network.device
    ours = [network.interpolate(s.to(device, network.dtype), g.to(device, network.dtype))
            for s, g in zip(start.split(TRANSLATION_CHUNK), goal.split(TRANSLATION_CHUNK))]
    frames = {"transformations": torch.cat([r.frames.float().cpu() for r in ours])}
    stop_steps = torch.cat([r.stop_step.cpu() for r in ours]).float()
    # "start as is": the distance before any step, the scale against which the others' final distance reads.
    finals = {"transformations": torch.cat([r.final.float().cpu() for r in ours]), "start as is": start}
    frames["cross-fade"] = crossfade(start, goal, steps)
    latent_name = args.latent_baseline or INTERPOLATION_LATENT_BASELINES.get(dataset, "none")
    if latent_name != "none":
        latent = genzoo.load(latent_name, device=device, offline=offline)
        low, high = latent.value_range
        decoded = [latent.interpolate(low + (high - low) * s.to(device), low + (high - low) * g.to(device), steps=steps + 1)
                   for s, g in zip(start.split(TRANSLATION_CHUNK), goal.split(TRANSLATION_CHUNK))]
        frames[f"latent {latent_name}"] = latent.to_unit_range(torch.cat(decoded)).float().cpu()
        finals[f"latent {latent_name}"] = frames[f"latent {latent_name}"][:, -1]
    intermediate = {who: f[:, 1:steps].flatten(0, 1) for who, f in frames.items()}

    pairs_text = f"image i with image {pairs} + i of the split, i < {pairs}"
    context = dict(fields, seed=args.seed, pairs=pairs_text, max_steps=steps)
    results = []
    if "l1" in names or "ssim" in names:
        for who, final in finals.items():
            for name in [n for n in ("l1", "ssim") if n in names]:
                metric = ReconstructionL1((0.0, 1.0)) if name == "l1" else SSIM(mode="rgb")
                metric.update(final, goal)
                result = metric.result(**context, compared="final frame vs goal")
                result.name = f"Final {'L1' if name == 'l1' else 'SSIM'} ({who})"
                results.append(result)
    if "steps" in names:
        stamp = protocol_stamp("steps", reference=fields["reference"], reference_split=split, num_generated=pairs, seed=args.seed,
                               pairs=pairs_text, max_steps=steps, stop_unit=bool(network.config["stop_unit"]))
        results.append(MetricResult("steps", "Steps taken (transformations)", float(stop_steps.mean()), stamp,
                                    {"std": float(stop_steps.std())}))
    if "confidence" in names or "fid" in names:
        extractor = MNISTClassifierExtractor().to(device)
        for who, images in [*intermediate.items(), ("real goals", goal)]:
            if "confidence" in names:
                metric = ClassifierConfidence(extractor)
                for chunk in images.split(args.batch_size):
                    metric.update(chunk.to(device))
                result = metric.result(**context, compared="intermediate frames 1 .. K-1" if who != "real goals" else "the goal images")
                result.name = f"Classifier confidence ({who})"
                results.append(result)
            if "fid" in names and who != "real goals":
                metric = FID(extractor).to(device)
                for chunk in reference.split(args.batch_size):
                    metric.update(chunk.to(device), real=True)
                for chunk in images.split(args.batch_size):
                    metric.update(chunk.to(device), real=False)
                result = metric.result(**context, compared="intermediate frames 1 .. K-1 vs the whole split")
                result.name = f"Classifier FID ({who})"
                results.append(result)
    if "swd" in names:
        chooser = torch.Generator().manual_seed(args.seed)
        for who, images in intermediate.items():
            count = min(len(images), len(reference))
            chosen = images[torch.randperm(len(images), generator=chooser)[:count]]
            metric = SWD(size, channels, seed=args.seed)
            metric.update(reference[:count], real=True)
            metric.update(chosen, real=False)
            result = metric.result(**context, compared=f"{count} intermediate frames (seeded choice) vs {count} split images")
            result.name = f"SWD ({who})"
            results.append(result)
    if progress:
        print(f"interpolated {pairs} held-out pairs ({fields['reference']}/{split}) with {len(frames)} methods, {steps} steps each")
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m genzoo.evaluate MODEL ...`` (the same as ``genzoo eval MODEL ...``)."""
    parser = argparse.ArgumentParser(prog="genzoo eval", description=__doc__.split("\n\n")[0])
    add_eval_arguments(parser)
    args = parser.parse_args(argv)
    args.command_line = "genzoo eval " + shlex.join(sys.argv[1:] if argv is None else argv)
    return run_eval(args)


if __name__ == "__main__":
    main()
