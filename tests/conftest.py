"""Shared fixtures: synthetic MNIST files and image folders, and the location of the real data."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# Test workloads are tiny: one thread is fastest, and several thrash when the CPU is shared.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def write_fake_mnist(root: Path, train_count: int = 64, test_count: int = 16, seed: int = 0) -> Path:
    """Write tiny MNIST idx files (torchvision's raw layout) under root/MNIST/raw and return root.

    Each image is a bright square at a label-dependent place, so the data has structure to learn.
    """
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        images = (rng.random((count, 28, 28)) * 40).astype(np.uint8)
        for i, label in enumerate(labels):
            top, left = 2 + 2 * (label % 5), 4 + 10 * (label // 5)
            images[i, top : top + 10, left : left + 10] = 255
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, count, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, count) + labels.tobytes())
    return root


def write_image_folder(folder: Path, count: int = 24, size: tuple[int, int] = (40, 48), mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    for i in range(count):
        pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(folder / f"{i:04d}.png")
    return folder


@pytest.fixture(scope="session")
def fake_mnist(tmp_path_factory) -> Path:
    return write_fake_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return write_image_folder(tmp_path / "images")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (the ../shared/data folder beside the repo)")
    return SHARED_DATA


def released_config(name: str) -> dict:
    """The config.json of a released checkpoint (its folder in model_cards/)."""
    from genzoo.hub import model_cards_dir, read_config

    return read_config(model_cards_dir() / name)


def tiny_network(name: str):
    """A seconds-sized copy of a released network: its config with the class's TINY_CONFIG, random weights."""
    from genzoo.hub import checkpoint_info
    from genzoo.models import get_architecture

    config = released_config(name)
    network_class = get_architecture(config["architecture"])
    network = network_class(**{**config["config"], **network_class.TINY_CONFIG})
    network.info = checkpoint_info(config, [])
    return network


def is_upscaler(name: str) -> bool:
    """Whether a released checkpoint is an image-to-image (super-resolution) network rather than a sampler."""
    from genzoo.models import get_architecture

    return hasattr(get_architecture(released_config(name)["architecture"]), "upscale")


def is_translator(name: str) -> bool:
    """Whether a released checkpoint is an image-to-image translation network (CycleGAN, pix2pix)."""
    from genzoo.models import get_architecture

    return hasattr(get_architecture(released_config(name)["architecture"]), "translate")


def is_stylizer(name: str) -> bool:
    """Whether a released checkpoint is a style-transfer network (perceptual-loss transform net, AdaIN)."""
    from genzoo.models import get_architecture

    return hasattr(get_architecture(released_config(name)["architecture"]), "stylize")


def is_interpolator(name: str) -> bool:
    """Whether a released checkpoint is a start-to-goal interpolator (transformation-based, seed 000)."""
    return released_config(name)["architecture"] == "TransformationInterpolator"


def network_output(network, seed: int = 3):
    """What a network makes from a fixed seed: 2 samples of a generator, the upscaling (by its first scale) of 2
    fixed seeded 12x12 RGB images for a super-resolution network, the a2b translation of 2 fixed seeded images
    (twice the size divisor) for a translation network, the frames of the interpolation between 2 fixed seeded
    pairs for an interpolator, the stylization of 2 fixed seeded 16x16 photos (by a fixed seeded style image, for
    AdaIN) for a style-transfer network."""
    if hasattr(network, "stylize"):
        generator = torch.Generator().manual_seed(seed)
        photos = torch.rand(2, 3, 16, 16, generator=generator)
        if hasattr(network, "encode"):  # AdaIN: any style, given
            return network.stylize(photos, torch.rand(3, 16, 16, generator=generator))
        return network.stylize(photos)  # a transform network: its one style built in
    if type(network).__name__ == "TransformationInterpolator":
        shape = (2, network.channels, network.image_size, network.image_size)
        generator = torch.Generator().manual_seed(seed)
        return network.interpolate(torch.rand(shape, generator=generator), torch.rand(shape, generator=generator)).frames
    if hasattr(network, "translate"):
        side = 2 * network.size_divisor_of(network.config)
        images = torch.rand(2, network.channels, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        return network.translate(images, "a2b")
    if hasattr(network, "upscale"):
        images = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(seed))
        return network.upscale(images, network.scales[0])
    return network.sample(2, seed=seed)
