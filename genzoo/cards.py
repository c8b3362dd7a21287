"""Model cards: the README.md of a checkpoint folder, with Hub metadata in its YAML header.

A card is rendered, never edited: from the folder's ``config.json`` (the checkpoint's facts and the
human text, ``description`` and ``limitations``), its ``metrics.json`` (every number measured, with the
command and protocol) and the family's code (paper, published results). ``genzoo card FOLDER``
re-renders it; a test fails when a released card is stale.

The human text quotes no number itself. It names the number's source with a placeholder, filled in
at render time, so a retrained or re-evaluated checkpoint can never keep stale prose:

* ``{metric:fid}`` or ``{metric:NLL (elbo, nats)}``: a value from metrics.json, by type or by name;
* ``{training:epochs}``, ``{training:batches}``, ``{training:wall_time}``: the training record; a dotted key
  reaches inside it, e.g. ``{training:previous_release.wall_time}`` or ``{training:previous_release.metrics.SWD}``
  (what a retrained checkpoint replaced);
* ``{config:g_width}``: a constructor argument of the network;
* ``{paper:mnist-attention}``: a published result quoted by the family's code (``PUBLISHED_RESULTS``);
* ``{release:dcgan-celeba:metric:SWD}``: any of the above, of another released checkpoint (its folder in
  ``model_cards/``), for cards that compare two checkpoints.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

PIPELINE_TAG = "unconditional-image-generation"
PLACEHOLDER = re.compile(r"\{(metric|training|config|paper|release):([^{}]+)\}")
# Companions of a metric value worth showing beside it (NLL in bits/dim, KID's spread).
EXTRA_FIELDS = ("bits_per_dim", "std")


class CardError(ValueError):
    """Card text that cannot be rendered: a placeholder names something the checkpoint does not have."""


def format_number(value: Any) -> str:
    """How the card writes a number: integers whole, other numbers to 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def find_metric(metrics: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The metric whose name is ``key``, else the only one whose type is ``key``."""
    by_name = [m for m in metrics if m.get("name") == key]
    if by_name:
        return by_name[0]
    by_type = [m for m in metrics if m.get("type") == key]
    if len(by_type) == 1:
        return by_type[0]
    known = ", ".join(sorted({m.get("name", "") for m in metrics})) or "none: metrics.json is missing or empty"
    how = "several metrics have that type, name one" if by_type else "no metric has that name or type"
    raise CardError(f"{{metric:{key}}}: {how} (measured: {known})")


def fill_placeholders(text: str, info: dict[str, Any], strict: bool = True) -> str:
    """``text`` with every ``{kind:key}`` placeholder replaced by the value it names (see the module docstring).

    A placeholder that names nothing raises :class:`CardError`; with ``strict=False`` it is kept and marked
    instead (a fresh export's card, before ``genzoo eval`` has measured anything).
    """

    def value(match: re.Match) -> str:
        try:
            return resolve(*match.groups())
        except CardError:
            if strict:
                raise
            return f"*{match.group(0)}: not measured yet*"

    def resolve(kind: str, key: str) -> str:
        if kind == "release":
            return resolve_in_release(*key.split(":", 1)) if ":" in key else resolve_in_release(key, "")
        if kind == "metric":
            return format_number(find_metric(info.get("metrics", []), key)["value"])
        if kind == "training":
            source = info.get("training") or {}
            *path, key = key.split(".")
            for part in path:
                if not isinstance(source.get(part), dict):
                    raise CardError(f"{{training:{'.'.join(path)}.{key}}}: the training record has no {part!r} section")
                source = source[part]
            if key == "wall_time" and "wall_time_s" in source:
                return format_seconds(source["wall_time_s"])
        elif kind == "config":
            source = info.get("config", {})
        else:
            source = info.get("published_results", {})
        if key not in source:
            raise CardError(f"{{{kind}:{key}}}: the checkpoint has no {kind} value {key!r} (it has: {', '.join(sorted(source))})")
        return format_number(source[key])

    return PLACEHOLDER.sub(value, text)


def resolve_in_release(name: str, placeholder: str) -> str:
    """The value ``{placeholder}`` (e.g. ``metric:SWD``) names in the released checkpoint ``name``'s folder."""
    from genzoo.hub import CONFIG_NAME, folder_info, model_cards_dir

    folder = model_cards_dir() / name
    if not (folder / CONFIG_NAME).is_file():
        raise CardError(f"{{release:{name}:{placeholder}}}: no released checkpoint folder {folder}")
    inner = PLACEHOLDER.fullmatch("{" + placeholder + "}")
    if inner is None or inner.group(1) == "release":
        raise CardError(f"{{release:{name}:{placeholder}}}: expected {{release:NAME:metric|training|config|paper:KEY}}")
    return fill_placeholders(inner.group(0), folder_info(folder), strict=True)


def unresolved_placeholders(text: str, info: dict[str, Any]) -> list[str]:
    """The placeholders of ``text`` that name nothing in ``info``."""
    missing = []
    for match in PLACEHOLDER.finditer(text):
        try:
            fill_placeholders(match.group(0), info)
        except CardError:
            missing.append(match.group(0))
    return missing


# A number in card text: not part of a word or identifier (v1, celeba-10k, 64x64) and not a placeholder.
NUMBER = re.compile(r"(?<![\w.\-])\d+(?:,\d{3})*(?:\.\d+)?(?!\w)")
NOT_PROSE = re.compile(r"`[^`]*`|\]\([^)]*\)")  # code spans (commands, arguments) and link targets


def traceable_numbers(info: dict[str, Any]) -> set[str]:
    """Every number the checkpoint's files state: its network config, training record, value range and
    measured metrics (values, protocols, commands), in the forms a card may write them."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif isinstance(value, str):
            found.update(n.replace(",", "") for n in NUMBER.findall(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.update({format_number(value), str(value)})

    collect([info.get("config", {}), info.get("training", {}), info.get("value_range", []), info.get("metrics", [])])
    return found


def untraceable_numbers(text: str, info: dict[str, Any]) -> list[str]:
    """Numbers written literally in ``text`` (outside placeholders, code spans and links) that none of the
    checkpoint's files states: a card must not quote a number from nowhere, nor one that can go stale."""
    prose = NOT_PROSE.sub(" ", PLACEHOLDER.sub(" ", text))
    known = traceable_numbers(info)
    return [n for n in NUMBER.findall(prose) if n.replace(",", "") not in known]


def _eval_results(info: dict[str, Any]) -> list[EvalResult]:
    results = []
    for metric in info.get("metrics", []):
        protocol = metric.get("protocol", {})
        results.append(
            EvalResult(
                task_type=metric.get("task", info.get("pipeline_tag", PIPELINE_TAG)),
                # The evaluation data: the metric's reference set when it has one, else the training data.
                dataset_type=protocol.get("reference") or info.get("dataset_id") or "unknown",
                dataset_name=protocol.get("reference") or info.get("dataset_id") or "unknown",
                dataset_split=protocol.get("reference_split"),
                metric_type=metric["type"],
                metric_name=metric.get("name", metric["type"]),
                metric_value=metric["value"],
                metric_config=protocol.get("extractor"),
                verified=False,
            )
        )
    return results


def _metric_value_cell(metric: dict[str, Any]) -> str:
    extras = [f"{field.replace('_', ' ')} {format_number(metric[field])}" for field in EXTRA_FIELDS if field in metric]
    return format_number(metric["value"]) + (f" ({'; '.join(extras)})" if extras else "")


def _evaluation_lines(metrics: list[dict[str, Any]]) -> list[str]:
    """One table per command that measured metrics, in the order the commands first appear."""
    if not metrics:
        return ["No metrics have been measured for this checkpoint yet.", ""]
    lines: list[str] = []
    commands = list(dict.fromkeys(m.get("command", "") for m in metrics))
    for command in commands:
        group = [m for m in metrics if m.get("command", "") == command]
        where = ", ".join(x for x in (group[0].get("hardware"), group[0].get("measured")) if x)
        if command:
            lines += [f"Measured with `{command}`" + (f" ({where})" if where else "") + ":", ""]
        lines += ["| metric | value | protocol |", "|---|---|---|"]
        for metric in group:
            protocol = json.dumps(metric.get("protocol", {}), sort_keys=True)
            lines.append(f"| {metric.get('name', metric['type'])} | {_metric_value_cell(metric)} | `{protocol}` |")
        lines.append("")
    return lines


def _use_lines(info: dict[str, Any], figures: list[str]) -> list[str]:
    """The card's "Use" section: sampling for generators, ``upscale`` for image-to-image networks."""
    name = info.get("name", "genzoo-model")
    value_range = tuple(info.get("value_range", (-1, 1)))
    if info.get("directions"):  # image-to-image translation (CycleGAN, pix2pix)
        directions = info["directions"]
        lines = [
            "## Use", "", "```python", "import genzoo", f'model = genzoo.load("{name}")',
            *[f'out = model.translate(images, direction="{d}")  # {what}' for d, what in directions.items()],
            "```", "",
            f"Images (N, {info.get('input_channels', info.get('channels'))}, H, W) in {value_range}, H and W divisible by "
            f"{info.get('size_divisor')} (trained at {info.get('image_size')} px). From the shell: "
            f"`genzoo translate {name} --input {info.get('domains', {}).get('a', 'inputs')}/ --output out/`"
            + (" (`--direction b2a` for the other way)" if "b2a" in directions else "") + ".", "",
        ]
        if "translations.png" in figures:
            lines += ["Test inputs and their translations:", "", "![translations](translations.png)", ""]
        return lines
    if info.get("transforms"):  # start-to-goal interpolation (transformation-based)
        size, channels = info.get("image_size"), info.get("channels")
        lines = [
            "## Use", "", "```python", "import genzoo", f'model = genzoo.load("{name}")',
            f"result = model.interpolate(start, goal)  # ({channels}, {size}, {size}) or (N, {channels}, {size}, {size}) in [0, 1]",
            "result.frames     # (steps + 1, C, H, W): the start, then the state after each step",
            "result.stop_step  # the steps taken; result.params: each step's flow, masks, colour matrix",
            "```", "",
            f"or `genzoo interpolate {name} --start a.png --goal b.png --out path.gif --grid strip.png`"
            # a checkpoint trained on face-box crops of aligned CelebA photos wants the same crop of such a photo
            + (" (aligned CelebA photos: add `--crop celeba`, the face box it was trained on)" if info.get("dataset_id") == "celeba-10k" else "")
            + f". Transformations: {', '.join(info['transforms'])}; at most {info.get('max_steps')} steps"
            + (", and the agent decides when to stop." if info.get("stop_unit") else "."), "",
        ]
        if "interpolations.png" in figures:
            lines += ["Held-out pairs: start, the steps, goal (black: after the agent stopped):", "",
                      "![interpolations](interpolations.png)", ""]
        captions = {"walk.gif": "The same pairs, step by step",
                    "compare.png": "The same pairs: this model, the pixel cross-fade, the latent path (rows of three)",
                    "returns.png": "Training: return per batch of episodes", "distances.png": "Training: final distance to the goal",
                    "steps.png": "Training: steps taken before the agent stopped"}
        return lines + _figure_lines(figures, captions)
    if info.get("extractor"):  # the texture and style family
        return _style_use_lines(info, figures)
    if info.get("pipeline_tag", PIPELINE_TAG) == "image-to-image":
        scales = info.get("scales") or [2]
        lines = [
            "## Use", "", "```python", "import genzoo", f'model = genzoo.load("{name}")',
            f"big = model.upscale(image, scale={scales[0]})  # RGB (3, H, W) or (N, 3, H, W) in [0, 1] -> {scales[0]}x the size",
            "```", "",
            f"or `genzoo upscale {name} --scale {scales[0]} --input photo.png --output big.png`. "
            f"Scales: {', '.join(map(str, scales))}.", "",
        ]
        if "crops.png" in figures:
            lines += ["Centre crops of Set5, bicubic | this model | ground truth:", "", "![crops](crops.png)", ""]
        return lines
    shape = f"({info.get('channels')}, {info.get('image_size')}, {info.get('image_size')})"
    lines = [
        "## Use", "", "```python", "import genzoo", f'model = genzoo.load("{name}")',
        f"images = model.sample(16, seed=0)  # (16, {shape[1:-1]}) in {value_range}", "```", "",
        f"or `genzoo sample {name} --num 64 --out grid.png`.", "",
    ]
    if "samples.png" in figures:
        lines += ["![samples](samples.png)", ""]
    if "samples-before.png" in figures:  # a retrained release: the same seeds from the weights it replaced
        lines += ["The same seeds from the checkpoint this one replaced:", "", "![samples before](samples-before.png)", ""]
    if "training-loss.png" in figures:
        lines += ["Training curve:", "", "![training loss](training-loss.png)", ""]
    return lines


def _style_use_lines(info: dict[str, Any], figures: list[str]) -> list[str]:
    """"Use" for texture networks (``sample`` at any size), transform nets (``stylize``, one style) and AdaIN
    (``stylize`` with any style)."""
    name, architecture = info.get("name", "genzoo-model"), info.get("architecture")
    lines = ["## Use", "", "```python", "import genzoo", f'model = genzoo.load("{name}")']
    if architecture == "TextureNet":
        lines += ["textures = model.sample(4, size=512, seed=0)  # (4, 3, 512, 512) in [0, 1]; any size", "```", "",
                  f"or `genzoo texture {name} --out textures.png --size 512 --num 4`.", ""]
        return lines + _figure_lines(figures, {
            "samples.png": "Samples from fixed seeds, at the training size",
            "compare.png": "At their pixel scale: the example | two samples of this network at 256 px | two Gatys "
                           "syntheses at the size `genzoo eval` compared",
            "training-loss.png": "Training curve",
        })
    if architecture == "AdaINNet":
        lines += ["out = model.stylize(photos, style)  # (N, 3, H, W) photos and one (3, h, w) style image in [0, 1]",
                  "out = model.stylize(photos, style, alpha=0.5)  # the content-style trade-off",
                  "out = model.stylize(photos, [style_a, style_b], style_weights=[0.7, 0.3])  # between styles",
                  "out = model.stylize(photos, style, preserve_color=True)  # the photos' colours", "```", "",
                  f"or `genzoo stylize {name} --content photo.jpg --style painting.jpg --out out.png --figure side_by_side.png` "
                  "(`--alpha`, several `--style` with `--style-weights`, `--preserve-color`).", ""]
    else:
        lines += [f"out = model.stylize(photos)  # (N, 3, H, W) or (3, H, W) in [0, 1], any size, in {info.get('config', {}).get('style')}'s style",
                  "```", "", f"or `genzoo stylize {name} --content photo.jpg --out out.png --figure side_by_side.png`.", ""]
    return lines + _figure_lines(figures, {
        "translations.png": "Photos (not in its training set) | style | output",
        "compare.png": "What `genzoo eval` compared, rows of photo | style | this network | Gatys's optimization",
        "training-loss.png": "Training curve",
    })


def _figure_lines(figures: list[str], captions: dict[str, str]) -> list[str]:
    """Each present figure of ``captions`` (file name -> caption), in that order, as a captioned card image."""
    lines = []
    for figure, caption in captions.items():
        if figure in figures:
            lines += [f"{caption}:", "", f"![{figure[:-4]}]({figure})", ""]
    return lines


def _published_comparison_lines(info: dict[str, Any]) -> list[str]:
    """Super-resolution: measured PSNR per scale beside the published table (``PUBLISHED_RESULTS``
    entries ``bicubic-x2``, ``srcnn-x2``, ``vdsr-x2``, ...), when both are there."""
    published = info.get("published_results", {})
    metrics = {m.get("name"): m for m in info.get("metrics", [])}
    rows = []
    for scale in info.get("scales") or []:
        ours, bicubic = metrics.get(f"PSNR x{scale}"), metrics.get(f"PSNR bicubic x{scale}")
        if ours is None or bicubic is None:
            continue
        reference = ours.get("protocol", {}).get("reference", "")
        cells = [published.get(f"{kind}-x{scale}", "n/a") for kind in ("bicubic", "srcnn", "vdsr")]
        gaps = [_difference(ours["value"], published.get(f"{kind}-x{scale}")) for kind in ("srcnn", "vdsr")]
        rows.append(
            f"| x{scale} ({reference}) | {format_number(bicubic['value'])} | **{format_number(ours['value'])}** | "
            + " | ".join(cells + gaps) + " |"
        )
    if not rows:
        return []
    return [
        "## Compared with the papers",
        "",
        "Y-channel PSNR in dB. *Bicubic* and *this model* were measured by `genzoo eval` (below) with the same code "
        "on the same images; the published columns are Kim et al. (CVPR 2016), Table 3.",
        "",
        "| scale (data) | bicubic, measured | this model | bicubic, published | SRCNN, published | VDSR, published "
        "| this model - SRCNN | this model - VDSR |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _difference(measured: float, published: str | None) -> str:
    """``measured`` minus a published value such as "36.66 dB", in dB with a sign; "n/a" without one."""
    if not published:
        return "n/a"
    return f"{measured - float(published.split()[0]):+.2f}"


def _task_tag(info: dict[str, Any]) -> str:
    if info.get("extractor"):
        return "texture-synthesis" if info.get("architecture") == "TextureNet" else "style-transfer"
    if info.get("pipeline_tag", PIPELINE_TAG) == PIPELINE_TAG:
        return "image-generation"
    if info.get("family") == "interpolator":
        return "image-interpolation"
    return "image-translation" if info.get("directions") else "super-resolution"


def _shape_line(info: dict[str, Any], shape: str, value_range: tuple) -> str:
    if info.get("extractor"):  # the texture and style family: fully convolutional, any size
        what = ("Output: RGB textures of any size from noise at several scales" if info.get("architecture") == "TextureNet"
                else "Input and output: RGB photos of any size")
        return (f"{'- ' + what}, values in {value_range}\n- Features: trained with `{info['extractor']}`"
                + (" (random weights, genzoo.backbones: no ImageNet weights on the machine that trained it)"
                   if "random" in info["extractor"] else ""))
    if info.get("pipeline_tag", PIPELINE_TAG) != "image-to-image":
        return f"- Output: {shape} images, values in {value_range}; latent size {info.get('latent_dim')}"
    if info.get("family") == "interpolator":  # a fixed-size network: the policy's trunk ends in a linear layer
        return (f"- Input: a start and a goal image, each {shape} (or a batch of them), values in {value_range}; "
                "output: the trajectory of states from the start towards the goal, same shape and range")
    if info.get("directions"):
        return (f"- Input and output: images of any size divisible by {info.get('size_divisor')}, values in {value_range}; "
                + "; ".join(f"{d}: {what}" for d, what in info["directions"].items()))
    return f"- Input and output: RGB images of any size, values in {value_range}; {info.get('color', '')}"


def render_card(info: dict[str, Any], figures: list[str] | None = None, strict: bool = True) -> str:
    """The model card text of a checkpoint described by ``info`` (as :func:`genzoo.hub.folder_info` gives it).

    ``figures`` are the image files of the folder; ``samples.png`` is shown under "Use" when present, the
    others where the description links them. ``strict``: see :func:`fill_placeholders`.
    """
    figures = figures or []
    name = info.get("name", "genzoo-model")
    family = info.get("family", "")
    card_data = ModelCardData(
        library_name="genzoo",
        license=info.get("license", "other"),
        tags=["genzoo", "pytorch", _task_tag(info), family, *info.get("tags", [])],
        datasets=[info["dataset_id"]] if info.get("dataset_id") else None,
        pipeline_tag=info.get("pipeline_tag", PIPELINE_TAG),
        model_name=name,
        eval_results=_eval_results(info) or None,
    )
    value_range = tuple(info.get("value_range", (-1, 1)))
    shape = f"({info.get('channels')}, {info.get('image_size')}, {info.get('image_size')})"
    lines = [f"# {name}", "", fill_placeholders(info.get("description", ""), info, strict).strip(), ""]
    lines += _use_lines(info, figures)
    lines += _published_comparison_lines(info)
    lines += [
        "## Model",
        "",
        f"- Family: {family}; paper: {info.get('paper', '')}",
        f"- Network: `{info.get('architecture', '')}` with `{json.dumps(info.get('config', {}), sort_keys=True)}`",
        _shape_line(info, shape, value_range),
    ]
    if info.get("weights_dtypes"):
        lines.append(
            f"- Weights: `model.safetensors` stored as {' and '.join(info['weights_dtypes'])}; genzoo computes in float32 "
            "unless `genzoo.load(name, dtype=...)` asks for float16 or bfloat16"
        )
    lines += [f"- Licence: {info.get('license', 'other')}. {info.get('license_note', '')}".rstrip(), ""]
    training = info.get("training")
    if training:
        lines += [
            "## Training",
            "",
            f"- Data: {info.get('dataset', '')} ({training.get('data', '')})",
            f"- Recipe: `{info.get('recipe', '')}`",
            f"- Command: `{training.get('command', '')}`",
            f"- Hardware: {training.get('hardware', '')}",
            f"- Wall time: {format_seconds(training.get('wall_time_s', 0.0))} for {format_number(training.get('epochs'))} "
            f"epochs, {format_number(training.get('batches'))} batches ({format_number(training.get('images_seen'))} "
            f"images), finished {training.get('finished', '')}",
            f"- genzoo {training.get('genzoo_version', '')}, torch {training.get('torch_version', '')}, "
            f"lightning {training.get('lightning_version', '')}",
            "",
        ]
        if "curve.png" in figures:
            lines += ["Validation during training (Set5 Y-PSNR after every epoch, from the run's metrics.csv):", "",
                      "![training curve](curve.png)", ""]
    lines += ["## Evaluation", "", *_evaluation_lines(info.get("metrics", []))]
    if info.get("limitations"):
        lines += ["## Limitations", "", fill_placeholders(info["limitations"], info, strict).strip(), ""]
    body = "\n".join(lines)
    return str(ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}"))


def weights_dtypes(weights_path: str | os.PathLike) -> list[str]:
    """The floating-point dtypes stored in a safetensors file (read from its header, no tensor loaded)."""
    from safetensors import safe_open

    names = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}
    with safe_open(str(weights_path), "pt") as handle:
        kinds = {handle.get_slice(key).get_dtype() for key in handle.keys()}
    return sorted(names[k] for k in kinds if k in names)


def render_folder_card(folder: str | os.PathLike, strict: bool = True) -> str:
    """The card of a checkpoint folder, from its config.json, metrics.json, weights header and figures."""
    from genzoo.hub import WEIGHTS_NAME, folder_info

    folder = Path(folder)
    info = folder_info(folder)
    if (folder / WEIGHTS_NAME).is_file():
        info["weights_dtypes"] = weights_dtypes(folder / WEIGHTS_NAME)
    figures = sorted(p.name for p in folder.iterdir() if p.suffix in (".png", ".gif"))
    return render_card(info, figures, strict)
