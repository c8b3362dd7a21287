"""``genzoo eval`` for the texture and style family: feed-forward networks against Gatys's optimization.

    genzoo eval transformnet-la-muse --metrics style,content,speed --data ../shared/data/style/content \
        --style ../shared/data/style/style/la_muse.jpg --pairs 4 --gatys-steps 200
    genzoo eval adain-horse2zebra --metrics style,content,speed --data ../shared/data/style/content \
        --style ../shared/data/style/style --pairs 4
    genzoo eval texturenet-brick --metrics gram,speed --data ../shared/data/textures

What is compared with what (the point of Johnson et al. and Ulyanov et al.: one pass of a network instead of an
optimization per image, at a small cost in the loss both minimize):

* Stylizers (transform nets, AdaIN): the first ``--pairs`` photos of ``--data`` (sorted; each resized so its shorter
  side is ``--size``, default the network's training size, then centre-cropped square), photo i paired with style
  image i mod S of ``--style`` (a file or a folder; a transform net has one style, the one it was trained on), the
  style resized to the same shorter side. Three results per pair: the network's, Gatys's (``--gatys-steps`` L-BFGS
  steps from the photo, the default weights of :func:`genzoo.style.gatys`) and the photo itself (no style: the
  scale). ``style``, ``content``: the losses of :func:`genzoo.style.measure` (relative Gram loss at relu1_1 ..
  relu4_1, relative feature loss at relu4_2) in the network's own extractor, mean over pairs.
* Texture networks: the example image (``--data``: the file, or the folder holding ``<texture>.png`` / ``.jpg``).
  Everything is compared at one size, the largest multiple of 16 at most 7/8 of the example's shorter side, so the
  floor can be measured: ``gram`` is :func:`genzoo.texture.gram_distance` to the whole example of ``--num-samples``
  (default 16) network samples, of as many random crops of the example (the floor: the texture itself), of as many
  uniform-noise images (the ceiling) and of Gatys syntheses (``--gatys-steps``; 2 of them, they are slow).
* ``--figure PATH``: the compared images, for the card: rows of photo | style | network | Gatys (stylizers); the
  example | two network samples at 256 px | the Gatys syntheses, at their pixel scale (texture networks).
* ``speed``: seconds per image on the evaluating device, for the network (after a warm-up pass, one image at a time)
  and for Gatys's optimization of the same image. Timings are not replayed by the regression tests.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

STYLIZER_METRICS = ("style", "content", "speed")
TEXTURE_METRICS = ("gram", "speed")
TEXTURE_GATYS_IMAGES = 2  # Gatys syntheses in the texture comparison (each is an optimization)
TEXTURE_DEFAULT_SAMPLES = 16
# Types in metrics.json, so the regression tests know what they replay.
METRIC_TYPES = {"style": "style_loss", "content": "content_loss", "gram": "gram_distance", "speed": "seconds_per_image"}


def _result(metric: str, name: str, values: list[float], **fields: Any):
    from genzoo.metrics.protocol import MetricResult, protocol_stamp

    tensor = torch.tensor(values, dtype=torch.float64)
    stamp = protocol_stamp(METRIC_TYPES[metric], **fields)
    extra = {"std": float(tensor.std())} if len(values) > 1 else {}
    return MetricResult(METRIC_TYPES[metric], name, float(tensor.mean()), stamp, extra)


def _timed(fn) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _centre_square(image: torch.Tensor, side: int) -> torch.Tensor:
    from genzoo.style import resize_shorter

    image = resize_shorter(image, side)
    height, width = image.shape[-2:]
    top, left = (height - side) // 2, (width - side) // 2
    return image[:, top : top + side, left : left + side]


def _style_files(style: str | None, network) -> list[Path]:
    from genzoo.data import list_image_files

    if not style:
        raise ValueError("--style is needed for a style network: the style image file (a transform net's own style) or a "
                         "folder of style images (AdaIN; photo i is paired with style i mod S)")
    path = Path(style)
    files = [path] if path.is_file() else list_image_files(path)
    if not hasattr(network, "encode") and len(files) != 1:
        raise ValueError(f"a transform net has one style ({network.config.get('style')}): give --style its image file, "
                         f"not {len(files)} images")
    return files


def evaluate_stylizer(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    """Style and content losses and speed of ``network.stylize`` against Gatys and the photo as is (see the module)."""
    from genzoo.backbones import feature_extractor
    from genzoo.data import list_image_files
    from genzoo.style import DEFAULT_STYLE_LAYERS, GATYS_CONTENT_LAYERS, gatys, load_image, measure, resize_shorter

    wrong = [n for n in names if n not in STYLIZER_METRICS]
    if wrong:
        raise ValueError(f"style networks are measured with {', '.join(STYLIZER_METRICS)}; got {', '.join(wrong)}")
    if not args.data:
        raise ValueError("--data is needed for a style network: a folder of content photos (e.g. ../shared/data/style/content)")
    photos = list_image_files(args.data)
    styles = _style_files(args.style, network)
    pairs = len(photos) if args.pairs is None else args.pairs
    if not 1 <= pairs <= len(photos):
        raise ValueError(f"--pairs must be in [1, {len(photos)}] (the photos of {args.data}), got {pairs}")
    size = args.size or int(network.config["image_size"])
    steps = args.gatys_steps
    device = network.device
    # One extractor for every optimization and measurement (building the random one draws and calibrates its weights).
    extractor = feature_extractor(network.extractor_name, layers=(*GATYS_CONTENT_LAYERS, *DEFAULT_STYLE_LAYERS)).to(device)

    losses: dict[str, dict[str, list[float]]] = {who: {"style": [], "content": []} for who in ("network", "gatys", "photo")}
    seconds: dict[str, list[float]] = {"network": [], "gatys": []}
    adain = hasattr(network, "encode")

    def stylize(photo: torch.Tensor, style: torch.Tensor) -> torch.Tensor:  # a transform net has its style built in
        return (network.stylize(photo, style) if adain else network.stylize(photo)).float().cpu()

    rows = []
    for i in tqdm(range(pairs), desc=f"{pairs} pairs", disable=not progress):
        photo = _centre_square(load_image(photos[i]), size)
        style = resize_shorter(load_image(styles[i % len(styles)]), size)
        if i == 0:  # warm-up: the first pass allocates and builds the encoder
            stylize(photo, style)
        stylized, took = _timed(lambda: stylize(photo, style))
        seconds["network"].append(took)
        optimized, took = _timed(lambda: gatys(photo, style, steps=steps, extractor=extractor, progress=False, device=device))
        seconds["gatys"].append(took)
        rows += [photo, _centre_square(style, size), stylized, optimized.cpu()]
        for who, image in (("network", stylized), ("gatys", optimized), ("photo", photo)):
            measured = measure(image.to(device), content=photo, style=style, extractor=extractor)
            losses[who]["style"].append(measured["style_loss"])
            losses[who]["content"].append(measured["content_loss"])

    if args.figure:
        from torchvision.utils import save_image

        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        save_image(torch.stack(rows).clamp(0, 1), args.figure, nrow=4, padding=2, pad_value=1.0)
    labels = {"network": type(network).__name__, "gatys": f"Gatys, {steps} L-BFGS steps", "photo": "photo as is"}
    style_images = Path(args.style).resolve()
    fields = dict(
        reference=Path(args.data).resolve().name, reference_split=f"first:{pairs}", num_real=pairs,
        # the style file or folder, relative to the photos' parent folder where it is beside them (data/style/...)
        style_images=str(style_images.relative_to(Path(args.data).resolve().parent))
        if style_images.is_relative_to(Path(args.data).resolve().parent) else style_images.name,
        extractor=measured["extractor"], extractor_sha256=measured["extractor_sha256"], input_resolution=size,
        pairs=f"photo i (shorter side {size}, centre square) with style i mod {len(styles)} (shorter side {size})",
        styles=[styles[i % len(styles)].name for i in range(pairs)], gatys_steps=steps,
        style_layers="relu1_1..relu4_1, relative Gram loss", content_layers="relu4_2, relative feature loss",
    )
    results = []
    for metric in ("style", "content"):
        if metric in names:
            for who in ("network", "gatys", "photo"):
                results.append(_result(metric, f"{metric.capitalize()} loss ({labels[who]})", losses[who][metric], **fields))
    if "speed" in names:
        hardware = "the device of this run; one image at a time"
        for who in ("network", "gatys"):
            results.append(_result("speed", f"Seconds per image ({labels[who]})", seconds[who], **fields, timing=hardware))
    return results


def _texture_example(data: str, network) -> Path:
    path = Path(data)
    if path.is_file():
        return path
    texture = network.config.get("texture", "texture")
    found = [p for p in sorted(path.glob(f"{texture}.*")) if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    if not found:
        raise FileNotFoundError(f"no example {texture}.png / .jpg in {path}: give --data the example image file")
    return found[0]


def _unscaled_row(images: list[torch.Tensor], path: str) -> None:
    """Images (3, H_k, W_k) in one row on white, top-aligned, each at its own pixel scale (a texture's scale matters)."""
    from torchvision.utils import save_image

    height = max(image.shape[-2] for image in images)
    canvas = torch.ones(3, height, sum(image.shape[-1] + 4 for image in images) - 4)
    left = 0
    for image in images:
        canvas[:, : image.shape[-2], left : left + image.shape[-1]] = image.clamp(0, 1)
        left += image.shape[-1] + 4
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_image(canvas, path)


def evaluate_texture(network, names: list[str], args: argparse.Namespace, progress: bool) -> list:
    """Gram distance to the example of network samples, random crops (floor), noise (ceiling) and Gatys syntheses,
    and speed (see the module)."""
    from genzoo.backbones import feature_extractor
    from genzoo.style import DEFAULT_STYLE_LAYERS, load_image
    from genzoo.texture import gram_distance, synthesize

    wrong = [n for n in names if n not in TEXTURE_METRICS]
    if wrong:
        raise ValueError(f"texture networks are measured with {', '.join(TEXTURE_METRICS)}; got {', '.join(wrong)}")
    if not args.data:
        raise ValueError("--data is needed for a texture network: the example image, or the folder holding it")
    example_path = _texture_example(args.data, network)
    example = load_image(example_path)
    size = int(0.875 * min(example.shape[-2:])) // 16 * 16
    if size < 16:
        raise ValueError(f"{example_path} ({tuple(example.shape[-2:])}) is too small to crop 16x16 pieces from")
    count = args.num_samples or TEXTURE_DEFAULT_SAMPLES
    steps = args.gatys_steps
    extractor = feature_extractor(network.extractor_name, layers=DEFAULT_STYLE_LAYERS).to(network.device)  # built once
    generator = torch.Generator().manual_seed(args.seed)

    network.sample(1, size=size, seed=args.seed)  # warm-up
    samples, took = _timed(lambda: network.sample(count, size=size, seed=args.seed).float().cpu())
    seconds = {"network": [took / count]}
    height, width = example.shape[-2:]
    tops = torch.randint(0, height - size + 1, (count,), generator=generator)
    lefts = torch.randint(0, width - size + 1, (count,), generator=generator)
    images = {
        "network": list(samples),
        "crop": [example[:, t : t + size, l : l + size] for t, l in zip(tops.tolist(), lefts.tolist())],
        "noise": list(torch.rand(count, 3, size, size, generator=generator)),
        "gatys": [],
    }
    seconds["gatys"] = []
    for k in tqdm(range(TEXTURE_GATYS_IMAGES), desc="Gatys syntheses", disable=not progress):
        image, took = _timed(lambda: synthesize(example, size, steps, extractor=extractor, seed=args.seed + k, progress=False,
                                                device=network.device))
        images["gatys"].append(image)
        seconds["gatys"].append(took)

    measured = {who: [gram_distance(image, example, extractor=extractor) for image in group] for who, group in images.items()}
    if args.figure:
        large = network.sample(2, size=256, seed=args.seed).float().cpu()
        _unscaled_row([example, *large, *images["gatys"]], args.figure)
    first = measured["network"][0]
    fields = dict(
        reference=example_path.name, reference_split="all", num_real=1, num_generated=count, seed=args.seed,
        extractor=first["extractor"], extractor_sha256=first["extractor_sha256"], input_resolution=size,
        compared=f"{size}x{size} images vs the whole example ({height}x{width})", gatys_steps=steps,
        layers="relu1_1..relu4_1, relative Gram loss",
    )
    labels = {"network": type(network).__name__, "crop": "random crops of the example (floor)",
              "noise": "uniform noise (ceiling)", "gatys": f"Gatys, {steps} L-BFGS steps"}
    results = []
    if "gram" in names:
        for who, values in measured.items():
            results.append(_result("gram", f"Gram distance ({labels[who]})", [v["gram_distance"] for v in values], **fields))
    if "speed" in names:
        for who in ("network", "gatys"):
            results.append(_result("speed", f"Seconds per image ({labels[who]})", seconds[who], **fields,
                                   timing="the device of this run; network: a batch, per image"))
    return results
