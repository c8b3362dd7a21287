"""Style transfer: Gatys et al.'s optimization, or one pass of a trained network, behind ``genzoo stylize``.

    genzoo stylize gatys --content photo.jpg --style painting.jpg --out out.png [--steps 300] [--figure fig.png]
    genzoo stylize adain-... --content photo.jpg --style a.jpg --style b.jpg --style-weights 0.5 0.5 --out out.png
    genzoo stylize transformnet-... --content photo.jpg --out out.png

Gatys, Ecker and Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016: the image itself is
optimized, from the content photo (or noise), to have the content's VGG features at ``content_layers`` (relu4_2)
and the style image's Gram matrices at ``style_layers`` (relu1_1 .. relu4_1 by default; the paper adds relu5_1, see
``DEFAULT_STYLE_LAYERS``), plus a little total variation.
Per-image optimization is not a training run: :func:`optimize_image` is a plain loop (L-BFGS or Adam on the
pixels) with a tqdm progress bar and optional intermediate saves; ``genzoo.texture`` uses the same loop without
the content term. :func:`measure` gives the style and content losses of any result (an optimized one, a network's),
so methods can be compared on the same pairs with the same extractor.

Images are float RGB tensors in [0, 1], (3, H, W). The style image is resized (bicubic, antialiased) so its
shorter side is ``style_scale`` x the content's: Gram matrices compare textures at the scale the VGG filters see
them, so the style's scale relative to the content matters, not its size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from genzoo._checks import check_count, check_number
from genzoo.losses.style import content_loss, gram_matrix, style_loss, total_variation
from genzoo.models.style import rgb_batch

#: The papers' style layers (Gatys et al.: relu1_1 .. relu5_1).
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: genzoo's default: without relu5_1. At the sizes a CPU affords (~128 px) relu5_1 sees a few positions, and with the
#: random-weight extractor its gradient is ~8x relu4_1's (~300x relu1_1's): L-BFGS then serves it alone and the
#: image barely changes (measured on chicago x la_muse at 128 px: style loss 1.7 after 100 steps with it, 0.44 without).
DEFAULT_STYLE_LAYERS = GATYS_STYLE_LAYERS[:4]
GATYS_CONTENT_LAYERS = ("relu4_2",)
OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}  # Adam's step in pixel units of [0, 1]


# ---------------------------------------------------------------------------------------------
# images in and out
# ---------------------------------------------------------------------------------------------
def load_image(path: str | os.PathLike, max_size: int | None = None) -> torch.Tensor:
    """An image file as float RGB (3, H, W) in [0, 1], scaled down (bicubic) so its longer side is at most ``max_size``."""
    from genzoo.data import read_image

    image = read_image(path, 3, None).float() / 255.0
    if max_size is not None and max(image.shape[-2:]) > max_size:
        image = resize_shorter(image, round(min(image.shape[-2:]) * max_size / max(image.shape[-2:])))
    return image


def resize_shorter(image: torch.Tensor, side: int) -> torch.Tensor:
    """(3, H, W) resized (bicubic, antialiased, clamped to [0, 1]) so its shorter side is ``side``, aspect kept."""
    height, width = image.shape[-2:]
    scale = side / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if size == (height, width):
        return image
    return F.interpolate(image[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Save (3, H, W) in [0, 1] as an 8-bit PNG (``genzoo.translation.save_image``)."""
    from genzoo.translation import save_image as save_png

    return save_png(image.detach().clamp(0, 1), path)


def side_by_side(images: Sequence[torch.Tensor], path: str | os.PathLike, height: int | None = None) -> Path:
    """Save images (3, H_k, W_k) in [0, 1] in one row, each scaled to the same height (default: the last one's, the
    result), separated by white gaps: the figure of ``genzoo stylize / texture / restore --figure``."""
    height = height or images[-1].shape[-2]
    tiles = []
    for image in images:
        image = image.detach().float().cpu().expand(3, -1, -1)
        width = max(1, round(image.shape[-1] * height / image.shape[-2]))
        if image.shape[-2:] != (height, width):
            image = F.interpolate(image[None], size=(height, width), mode="bicubic", antialias=True, align_corners=False)[0]
        tiles += [image.clamp(0, 1), torch.ones(3, height, 4)]
    return save_image(torch.cat(tiles[:-1], dim=-1), path)


# ---------------------------------------------------------------------------------------------
# the optimization loop
# ---------------------------------------------------------------------------------------------
def optimize_image(
    start: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    progress: bool = True,
    save_every: int | None = None,
    save_dir: str | os.PathLike | None = None,
    desc: str = "optimizing",
) -> tuple[torch.Tensor, list[float]]:
    """Minimize ``loss_fn(image)`` over the pixels of ``image`` (1, 3, H, W), starting at ``start``; return the image
    (3, H, W) in [0, 1] and the loss of each step.

    ``optimizer``: "lbfgs" (Gatys et al.; one function evaluation per step, with a strong-Wolfe line search, the
    curvature history kept across steps) or "adam". Pixels are clamped to [0, 1] after every step. With
    ``save_every``, the image is written to ``save_dir/step<k>.png`` every that many steps.
    """
    steps = check_count(steps, "steps", "steps")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if save_every is not None and save_dir is None:
        raise ValueError("save_every needs save_dir, the folder for the intermediate images")
    lr = DEFAULT_LR[optimizer] if lr is None else check_number(lr, "lr", minimum=0.0)
    image = start.detach().clone().requires_grad_(True)
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=50, line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([image], lr=lr)

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(image)
        loss.backward()
        return loss

    losses: list[float] = []
    with tqdm(range(steps), desc=desc, disable=not progress) as bar:
        for step in bar:
            loss = float(opt.step(closure).detach())
            with torch.no_grad():
                image.clamp_(0, 1)
            losses.append(loss)
            bar.set_postfix(loss=f"{loss:.4g}")
            if save_every and (step + 1) % save_every == 0:
                save_image(image[0], Path(save_dir) / f"step{step + 1:05d}.png")
    return image.detach()[0], losses


# ---------------------------------------------------------------------------------------------
# Gatys style transfer
# ---------------------------------------------------------------------------------------------
def _extractor(extractor: Any, layers: Sequence[str], path: str | os.PathLike | None, device: torch.device):
    """A VGG19Features with ``layers``: built from a name ("random", "imagenet", a full name), or the one given."""
    from genzoo.backbones import feature_extractor

    if isinstance(extractor, str):
        extractor = feature_extractor(extractor, layers=layers, path=path)
    missing = [layer for layer in layers if layer not in getattr(extractor, "layers", ())]
    if missing:
        raise ValueError(f"the extractor lacks the layers {', '.join(missing)}")
    return extractor.to(device)


def _style_target(style: torch.Tensor, content: torch.Tensor, style_scale: float) -> torch.Tensor:
    side = max(1, round(min(content.shape[-2:]) * check_number(style_scale, "style_scale", minimum=1e-3)))
    return resize_shorter(style, side)


def measure(image: torch.Tensor, content: torch.Tensor | None = None, style: torch.Tensor | None = None,
            extractor: Any = "random", content_layers: Sequence[str] = GATYS_CONTENT_LAYERS,
            style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS, style_scale: float = 1.0,
            extractor_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The style loss (sum of relative Gram losses over ``style_layers`` to ``style``) and content loss (sum of
    relative feature losses over ``content_layers`` to ``content``, same size as ``image``) of ``image``, each
    (3, H, W) in [0, 1] -- the terms :func:`gatys` minimizes -- with the extractor's name and weights hash, so numbers
    from different extractors are never compared."""
    batch, _ = rgb_batch(image, "image", min_size=16)
    wanted = (*(content_layers if content is not None else ()), *(style_layers if style is not None else ()))
    if not wanted:
        raise ValueError("give content and/or style to measure against")
    vgg = _extractor(extractor, wanted, extractor_path, batch.device)
    result: dict[str, Any] = {"extractor": vgg.name, "extractor_sha256": vgg.weights_sha256}
    with torch.no_grad():
        features = vgg(batch.float())
        if content is not None:
            content_batch, _ = rgb_batch(content, "content")
            if content_batch.shape[-2:] != batch.shape[-2:]:
                raise ValueError(f"content {tuple(content_batch.shape[-2:])} and image {tuple(batch.shape[-2:])} differ in size")
            target = vgg(content_batch.to(batch.device).float())
            result["content_loss"] = float(sum(content_loss(features[layer], target[layer], relative=True) for layer in content_layers))
        if style is not None:
            style_batch, _ = rgb_batch(style, "style", min_size=16)
            target = vgg(_style_target(style_batch[0], batch[0], style_scale)[None].to(batch.device).float())
            result["style_loss"] = float(sum(style_loss(features[layer], gram_matrix(target[layer]), relative=True)
                                             for layer in style_layers))
    return result


def gatys(content: torch.Tensor, style: torch.Tensor, steps: int = 300, optimizer: str = "lbfgs", lr: float | None = None,
          content_weight: float = 1.0, style_weight: float = 10.0, tv_weight: float = 1.0,
          content_layers: Sequence[str] = GATYS_CONTENT_LAYERS, style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
          extractor: Any = "random", extractor_path: str | os.PathLike | None = None, init: str = "content",
          style_scale: float = 1.0, seed: int = 0, progress: bool = True, save_every: int | None = None,
          save_dir: str | os.PathLike | None = None, device: str | torch.device | None = None) -> torch.Tensor:
    """Gatys et al.'s style transfer: ``content`` (3, H, W) repainted in ``style`` (3, h, w), both in [0, 1].

    Minimizes content_weight x content loss + style_weight x style loss + tv_weight x total variation over the
    pixels, the content and style losses summed over layers, each layer's term relative to its target's magnitude
    (``relative=True`` in ``genzoo.losses.style``: extractor-independent weights) (see :func:`optimize_image` for ``steps``, ``optimizer``, ``lr``, ``progress``, ``save_every``).
    ``init``: "content" (start from the photo: fewer steps) or "noise" (the paper; seeded by ``seed``).
    ``extractor``: "random", "imagenet" (with ``extractor_path`` or the usual places) or a ``VGG19Features``.
    Returns (3, H, W) in [0, 1].
    """
    from genzoo.hub import resolve_device

    device = resolve_device(device)
    content_batch, _ = rgb_batch(content, "content", min_size=16)
    style_batch, _ = rgb_batch(style, "style", min_size=16)
    if len(content_batch) != 1 or len(style_batch) != 1:
        raise ValueError("gatys optimizes one image: give one content image and one style image, (3, H, W)")
    for name, value in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
        check_number(value, name, minimum=0.0)
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    vgg = _extractor(extractor, (*content_layers, *style_layers), extractor_path, device)
    content_batch = content_batch.to(device).float()
    style_batch = _style_target(style_batch[0], content_batch[0], style_scale)[None].to(device).float()
    with torch.no_grad():
        content_targets = {layer: f for layer, f in vgg(content_batch).items() if layer in content_layers}
        style_targets = {layer: gram_matrix(f) for layer, f in vgg(style_batch).items() if layer in style_layers}

    def loss_fn(image: torch.Tensor) -> torch.Tensor:
        features = vgg(image)
        loss = tv_weight * total_variation(image)
        loss = loss + content_weight * sum(content_loss(features[layer], content_targets[layer], relative=True)
                                           for layer in content_layers)
        return loss + style_weight * sum(style_loss(features[layer], style_targets[layer], relative=True) for layer in style_layers)

    if init == "content":
        start = content_batch
    else:
        start = torch.rand(content_batch.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    image, _ = optimize_image(start, loss_fn, steps, optimizer, lr, progress, save_every, save_dir, desc="gatys style transfer")
    return image.cpu()


def transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor] | None = None, method: Any = "gatys",
             **options: Any) -> torch.Tensor:
    """Stylize ``content`` (3, H, W) in [0, 1] with ``style``.

    ``method``: "gatys" (optimization, :func:`gatys`; ``options`` go to it), or a loaded network: an ``AdaINNet``
    (``options``: alpha, style_weights, preserve_color; ``style`` one image or a list to mix) or a ``TransformNet``
    (its style is built in: ``style`` must be None). Returns (3, H, W) in [0, 1].
    """
    if isinstance(method, str):
        if method != "gatys":
            raise ValueError(f"method must be 'gatys' or a loaded style network (genzoo.load(...)), got {method!r}")
        if style is None or isinstance(style, (list, tuple)):
            raise ValueError("gatys style transfer takes one style image (3, h, w)")
        return gatys(content, style, **options)
    if hasattr(method, "stylize") and hasattr(method, "encode"):  # AdaIN: any style
        if style is None:
            raise ValueError(f"{type(method).__name__} transfers any style: give the style image(s)")
        return method.stylize(content, style, **options)
    if hasattr(method, "stylize"):  # a transform network: one style, built in
        if style is not None:
            raise ValueError(f"{type(method).__name__} was trained for one style ({method.config.get('style')}); it takes no style image")
        if options:
            raise ValueError(f"{type(method).__name__}.stylize takes no options, got {sorted(options)}")
        return method.stylize(content)
    raise TypeError(f"method must be 'gatys' or a style network with .stylize, got {type(method).__name__}")


# ---------------------------------------------------------------------------------------------
# behind `genzoo stylize`
# ---------------------------------------------------------------------------------------------
def stylize_file(model: str, content: str | os.PathLike, styles: Sequence[str | os.PathLike], out: str | os.PathLike,
                 figure: str | os.PathLike | None = None, max_size: int | None = 512, device: str | None = None,
                 alpha: float = 1.0, style_weights: Sequence[float] | None = None, preserve_color: bool = False,
                 steps: int = 300, optimizer: str = "lbfgs", style_weight: float = 10.0, extractor: str = "random",
                 extractor_path: str | None = None, save_every: int | None = None, seed: int = 0,
                 progress: bool = True) -> Path:
    """Read the files (scaled so their longer side is at most ``max_size``), stylize, write ``out`` and, with
    ``figure``, content | style(s) | result in one row.

    ``model``: "gatys" (optimization: ``steps``, ``optimizer``, ``style_weight``, ``extractor``, ``extractor_path``,
    ``save_every`` (into ``<out stem>_steps/``), ``seed``), or a checkpoint name / folder / hf-hub:... of an AdaIN
    network (``alpha``, ``style_weights`` to mix several styles, ``preserve_color``) or a transform network (its
    one style built in: no style images).
    """
    content_image = load_image(content, max_size)
    style_images = [load_image(path, max_size) for path in styles]
    adain_options = alpha != 1.0 or style_weights is not None or preserve_color
    if model == "gatys":
        if len(style_images) != 1:
            raise ValueError(f"gatys takes exactly one --style image, got {len(style_images)}")
        if adain_options:
            raise ValueError("--alpha, --style-weights and --preserve-color are AdaIN's; for gatys, set --style-weight")
        save_dir = Path(out).with_name(Path(out).stem + "_steps") if save_every else None
        result = gatys(content_image, style_images[0], steps=steps, optimizer=optimizer, style_weight=style_weight,
                       extractor=extractor, extractor_path=extractor_path, seed=seed, progress=progress,
                       save_every=save_every, save_dir=save_dir, device=device)
    else:
        import genzoo

        network = genzoo.load(model, device=device)
        if not hasattr(network, "stylize"):
            raise ValueError(f"{model} ({type(network).__name__}) is not a style network; use gatys, an adain-* or a transformnet-* model")
        if hasattr(network, "encode"):  # AdaIN: any style
            if not style_images:
                raise ValueError(f"{model} transfers any style: give --style IMG (several, with --style-weights, to mix)")
            style_arg: Any = style_images[0] if len(style_images) == 1 else style_images
            result = transfer(content_image, style_arg, network, alpha=alpha, style_weights=style_weights,
                              preserve_color=preserve_color)
        else:
            if style_images:
                raise ValueError(f"{model} was trained for one style ({network.config.get('style')}); drop --style")
            if adain_options:
                raise ValueError("--alpha, --style-weights and --preserve-color need an AdaIN model")
            result = transfer(content_image, None, network)
    path = save_image(result.cpu(), out)
    if figure is not None:
        side_by_side([content_image, *style_images, result.cpu()], figure)
    return path
