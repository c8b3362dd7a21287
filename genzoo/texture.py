"""Texture synthesis: Gatys et al.'s optimization from an example, or samples of a trained texture network.

    genzoo texture ../shared/data/textures/brick.png --out brick_256.png --size 256 [--steps 300] [--figure fig.png]
    genzoo texture texturenet-brick --out bricks.png --size 512 --num 4

Gatys, Ecker and Bethge, "Texture Synthesis Using Convolutional Neural Networks", NIPS 2015: a texture is the
Gram matrices of an example's VGG features; :func:`synthesize` optimizes an image from seeded noise until its Gram
matrices match (the loop of :func:`genzoo.style.optimize_image`: L-BFGS or Adam, a progress bar, intermediate
saves). The result may have any size: Gram matrices average over positions. :func:`gram_distance` is the number to
compare syntheses by (the same relative Gram loss), e.g. against a random crop of the example (the floor) and noise
(the ceiling).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from genzoo.losses.style import gram_matrix, style_loss
from genzoo.models.style import rgb_batch
from genzoo.style import DEFAULT_STYLE_LAYERS, _extractor, load_image, optimize_image, save_image, side_by_side


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if min(height, width) < 16:
        raise ValueError(f"size must be at least 16 pixels (VGG's pooling), got {(height, width)}")
    return int(height), int(width)


def synthesize(example: torch.Tensor, size: int | tuple[int, int] = 256, steps: int = 300, optimizer: str = "lbfgs",
               lr: float | None = None, layers: Sequence[str] = DEFAULT_STYLE_LAYERS, extractor: Any = "random",
               extractor_path: str | os.PathLike | None = None, seed: int = 0, progress: bool = True,
               save_every: int | None = None, save_dir: str | os.PathLike | None = None,
               device: str | torch.device | None = None) -> torch.Tensor:
    """A new texture like ``example`` (3, h, w) in [0, 1], of ``size`` (an int or (H, W)): (3, H, W) in [0, 1].

    Minimizes the sum over ``layers`` of the relative Gram loss to the example, from uniform noise seeded by ``seed``.
    ``extractor``: "random" (``vgg19-random-seed0``), "imagenet" (with ``extractor_path`` or the usual places) or a
    ``VGG19Features``. See :func:`genzoo.style.optimize_image` for the other arguments.
    """
    from genzoo.hub import resolve_device

    device = resolve_device(device)
    example_batch, _ = rgb_batch(example, "example", min_size=16)
    if len(example_batch) != 1:
        raise ValueError("synthesize takes one example texture (3, h, w)")
    height, width = _size(size)
    vgg = _extractor(extractor, layers, extractor_path, device)
    with torch.no_grad():
        targets = {layer: gram_matrix(f) for layer, f in vgg(example_batch.to(device).float()).items()}

    def loss_fn(image: torch.Tensor) -> torch.Tensor:
        features = vgg(image)
        return sum(style_loss(features[layer], targets[layer], relative=True) for layer in layers)

    start = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed)).to(device)
    image, _ = optimize_image(start, loss_fn, steps, optimizer, lr, progress, save_every, save_dir, desc="texture synthesis")
    return image.cpu()


def gram_distance(image: torch.Tensor, example: torch.Tensor, layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
                  extractor: Any = "random", extractor_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The relative Gram loss of ``image`` to ``example`` (both (3, H, W) in [0, 1], any sizes), summed over
    ``layers``: what :func:`synthesize` minimizes; with the extractor's name and weights hash."""
    image_batch, _ = rgb_batch(image, "image", min_size=16)
    example_batch, _ = rgb_batch(example, "example", min_size=16)
    vgg = _extractor(extractor, layers, extractor_path, image_batch.device)
    with torch.no_grad():
        targets = {layer: gram_matrix(f) for layer, f in vgg(example_batch.to(image_batch.device).float()).items()}
        features = vgg(image_batch.float())
        value = sum(float(style_loss(features[layer], targets[layer], relative=True)) for layer in layers)
    return {"gram_distance": value, "layers": list(layers), "extractor": vgg.name, "extractor_sha256": vgg.weights_sha256}


def texture_file(source: str | os.PathLike, out: str | os.PathLike, size: int = 256, num: int = 1, steps: int = 300,
                 optimizer: str = "lbfgs", extractor: str = "random", extractor_path: str | None = None,
                 max_size: int | None = 256, save_every: int | None = None, figure: str | os.PathLike | None = None,
                 seed: int = 0, device: str | None = None, progress: bool = True) -> list[Path]:
    """Behind ``genzoo texture``: ``source`` is an example image file (Gatys synthesis, ``num`` times with seeds
    seed, seed + 1, ...; the example scaled so its longer side is at most ``max_size``) or a texture network (a
    checkpoint name / folder / hf-hub:...; ``num`` samples). Writes ``out`` (``<stem>_<k>.png`` for several) and,
    with ``figure``, example | result(s). Returns the written paths."""
    out = Path(out)
    example = None
    if Path(source).is_file():
        example = load_image(source, max_size)
        results = []
        for k in range(num):
            save_dir = out.with_name(f"{out.stem}_{k}_steps") if save_every else None
            results.append(synthesize(example, size, steps, optimizer, extractor=extractor, extractor_path=extractor_path,
                                      seed=seed + k, progress=progress, save_every=save_every, save_dir=save_dir, device=device))
    else:
        import genzoo

        network = genzoo.load(source, device=device)
        if not hasattr(network, "noise_shapes"):
            raise ValueError(f"{source} is neither an image file nor a texture network ({type(network).__name__})")
        results = list(network.sample(num, size=size, seed=seed).cpu())
    paths = [save_image(image, out if num == 1 else out.with_name(f"{out.stem}_{k}{out.suffix or '.png'}"))
             for k, image in enumerate(results)]
    if figure is not None:
        side_by_side(([example] if example is not None else []) + results, figure)
    return paths
