"""The ``genzoo`` command.

    genzoo fit --config recipes/dcgan/mnist.yaml [--data.data_dir ../shared/data] [--trainer.* ...]
    genzoo validate --config ... --ckpt_path ...
    genzoo list ["*mnist*"] [--markdown]
    genzoo info dcgan-mnist
    genzoo sample dcgan-mnist --num 64 --out grid.png [--seed 0] [--truncation 0.7 (StyleGAN-lite)]
    genzoo steps draw-mnist --num 16 --out steps.gif [--grid steps.png]
    genzoo upscale vdsr-291 --scale 2 --input photo.png --output big.png [--compare crops.png]
    genzoo translate cyclegan-horse2zebra --input FOLDER_OR_IMAGE --output FOLDER [--direction b2a] [--grid grid.png]
    genzoo card FOLDER [--description TEXT --limitations TEXT ...]   (set card text; re-render the card)
    genzoo push FOLDER --repo-id org/name [--dry-run]
    genzoo eval MODEL --metrics fid,kid,swd --data ... --num-samples N
    genzoo app [--model ian-celeba] [--host 127.0.0.1] [--port 7860]   (the photo editor and the zoo, offline)

``fit``/``validate``/``test`` are LightningCLI: a recipe is a YAML config of trainer, model (a task
class_path) and data (a data module class_path), composable with more ``--config`` files and dotted
overrides. The data module's ``image_shape`` is linked into the task, so the two cannot disagree.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

LIGHTNING_COMMANDS = ("fit", "validate", "test")


def run_lightning(args: list[str]) -> None:
    import lightning as L
    from lightning.pytorch.cli import LightningCLI

    class GenzooCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")

    GenzooCLI(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        # From the shell LightningCLI reads sys.argv itself; explicit args are for calls from Python (tests).
        args=None if args == sys.argv[1:] else args,
    )


def cmd_list(args: argparse.Namespace) -> None:
    from genzoo import list_models, model_info

    names = list_models(args.pattern)
    if args.markdown:
        print(checkpoint_table(names))
        return
    for name in names:
        info = model_info(name)
        print(f"{name:24s} {info['family']:8s} {_output_shape(info)}  {info['dataset']}")


def _output_shape(info: dict) -> str:
    """What a checkpoint outputs: CxHxW of a generator; the scales of an image-to-image (SR) network; the
    training size and directions of a translation network; the image size and step budget of an interpolator."""
    if info.get("directions"):
        a, b = info["domains"]["a"], info["domains"]["b"]
        arrow = "<->" if len(info["directions"]) == 2 else "->"
        return f"{info['channels']}x{info['image_size']}x{info['image_size']} {a} {arrow} {b}"
    if info.get("family") == "interpolator":
        return f"{info['channels']}x{info['image_size']}x{info['image_size']} start -> goal (at most {info.get('max_steps')} steps)"
    if info.get("extractor"):  # the texture and style family: fully convolutional, any size
        if info.get("architecture") == "TextureNet":
            return "RGB texture, any size"
        style = info.get("config", {}).get("style")  # a transform net's one style; AdaIN takes any
        return f"RGB photo -> {style} style, any size" if style else "RGB photo + style image -> stylized, any size"
    if info.get("pipeline_tag") == "image-to-image":
        return f"RGB x{'/x'.join(map(str, info.get('scales', [])))}"
    return f"{info['channels']}x{info['image_size']}x{info['image_size']}"


def checkpoint_table(names: list[str]) -> str:
    """The README's checkpoint table, generated from the released checkpoints' folders."""
    from genzoo import model_info
    from genzoo.cards import format_number

    rows = ["| name | family | output | data | licence | recipe | metrics |", "|---|---|---|---|---|---|---|"]
    for name in names:
        info = model_info(name)
        low, high = info["value_range"]
        metrics = "; ".join(f"{m.get('name', m['type'])} {format_number(m['value'])}" for m in info["metrics"])
        rows.append(
            f"| `{name}` | {info['family']} | {_output_shape(info)} in "
            f"[{low:g}, {high:g}] | {info['dataset']} | {info['license']} | `{info['recipe']}` | "
            f"{metrics or 'not yet measured'} |"
        )
    return "\n".join(rows)


def cmd_info(args: argparse.Namespace) -> None:
    from genzoo import model_info

    print(json.dumps(model_info(args.name), indent=2))


def cmd_sample(args: argparse.Namespace) -> None:
    import inspect

    import genzoo
    from genzoo.callbacks import save_grid

    model = genzoo.load(args.model, device=args.device)
    kwargs = {}
    if args.truncation is not None:
        if "truncation" not in inspect.signature(model.sample).parameters:
            raise SystemExit(f"error: {args.model} ({type(model).__name__}) has no truncation; drop --truncation")
        kwargs["truncation"] = args.truncation
    images = model.sample(args.num, seed=args.seed, **kwargs)
    path = save_grid(model.to_unit_range(images).cpu(), args.out, nrow=args.nrow)
    print(f"wrote {args.num} samples of {args.model} to {path}")


def cmd_steps(args: argparse.Namespace) -> None:
    import inspect

    import genzoo
    from genzoo.animation import save_steps_gif, save_steps_grid

    model = genzoo.load(args.model, device=args.device)
    if "return_steps" not in inspect.signature(model.sample).parameters:
        raise ValueError(f"{args.model} ({type(model).__name__}) generates in one step; `genzoo steps` needs an iterative model such as DRAW")
    steps = model.to_unit_range(model.sample(args.num, seed=args.seed, return_steps=True)).cpu()
    gif = save_steps_gif(steps, args.out, levels=args.levels)
    print(f"wrote {steps.shape[0]} steps of {args.num} samples of {args.model} to {gif}")
    if args.grid:
        print(f"wrote the step grid to {save_steps_grid(steps, args.grid)}")


def cmd_upscale(args: argparse.Namespace) -> None:
    import genzoo
    from genzoo.upscaling import image_files, upscale_files

    model = genzoo.load(args.model, device=args.device)
    if not hasattr(model, "upscale"):
        raise ValueError(f"{args.model} ({type(model).__name__}) is not a super-resolution model; try vdsr-291")
    inputs = image_files(args.input)
    written = upscale_files(model, inputs, args.output, args.scale, from_hr=args.hr, compare=args.compare, crop=args.crop)
    where = written[0] if len(written) == 1 else Path(args.output)
    print(f"wrote {len(written)} image(s) upscaled x{args.scale} by {args.model} to {where}")
    if args.compare:
        print(f"wrote the comparison figure to {args.compare}")


def cmd_translate(args: argparse.Namespace) -> None:
    import genzoo
    from genzoo.translation import translate_files
    from genzoo.upscaling import image_files  # the same --input rule: a file, or a folder's images

    model = genzoo.load(args.model, device=args.device)
    if not hasattr(model, "translate"):
        raise ValueError(f"{args.model} ({type(model).__name__}) is not an image-to-image translation model; try cyclegan-horse2zebra")
    inputs = image_files(args.input)
    written = translate_files(model, inputs, args.output, args.direction, grid=args.grid)
    where = written[0] if len(written) == 1 else Path(args.output)
    print(f"wrote {len(written)} image(s) translated {model.info.get('directions', {}).get(args.direction, args.direction)} "
          f"by {args.model} to {where}")
    if args.grid:
        print(f"wrote the input | output grid to {args.grid}")


def cmd_stylize(args: argparse.Namespace) -> None:
    from genzoo.style import stylize_file

    path = stylize_file(args.model, args.content, args.style or [], args.out, figure=args.figure, max_size=args.max_size,
                        device=args.device, alpha=args.alpha, style_weights=args.style_weights,
                        preserve_color=args.preserve_color, steps=args.steps, optimizer=args.optimizer,
                        style_weight=args.style_weight, extractor=args.extractor, extractor_path=args.vgg_weights,
                        save_every=args.save_every, seed=args.seed)
    print(f"wrote {path} ({args.model})" + (f"; figure: {args.figure}" if args.figure else ""))


def cmd_texture(args: argparse.Namespace) -> None:
    from genzoo.texture import texture_file

    paths = texture_file(args.source, args.out, size=args.size, num=args.num, steps=args.steps, optimizer=args.optimizer,
                         extractor=args.extractor, extractor_path=args.vgg_weights, max_size=args.max_size,
                         save_every=args.save_every, figure=args.figure, seed=args.seed, device=args.device)
    print(f"wrote {', '.join(map(str, paths))}" + (f"; figure: {args.figure}" if args.figure else ""))


def cmd_restore(args: argparse.Namespace) -> None:
    from genzoo.prior import restore_file

    report = restore_file(args.image, args.out, task=args.task, mask=args.mask, scale=args.scale, hr=args.hr,
                          noise_sigma=args.noise_sigma, steps=args.steps, width=args.width, max_size=args.max_size,
                          save_every=args.save_every, figure=args.figure, seed=args.seed, device=args.device)
    numbers = ", ".join(f"{key} {value:.2f} dB" for key, value in report.items() if key.startswith("psnr"))
    print(f"wrote {report['out']} (deep image prior, {args.task})" + (f"; {numbers}" if numbers else "")
          + (f"; figure: {args.figure}" if args.figure else ""))


def cmd_app(args: argparse.Namespace) -> None:
    try:
        from genzoo.app import launch
    except ImportError as err:
        raise RuntimeError(f'{err}. The app needs its extra: pip install "genzoo[app]"') from err
    print(f"genzoo app: photo editor on {args.model}; serving http://{args.host}:{args.port} (Ctrl+C stops it)")
    launch(args.model, host=args.host, port=args.port, threads=args.threads)


def cmd_card(args: argparse.Namespace) -> None:
    """Set the checkpoint's facts and text in its config.json (when given), then re-render README.md."""
    from genzoo._registry import CARD_FACTS, RELEASES
    from genzoo.cards import render_folder_card, unresolved_placeholders, untraceable_numbers
    from genzoo.hub import CARD_NAME, CONFIG_NAME, METRICS_NAME, WEIGHTS_NAME, folder_info, read_config, sha256_of

    folder = Path(args.folder)
    config = read_config(folder)
    changes = {key: getattr(args, key) for key in CARD_FACTS if getattr(args, key) is not None}
    if changes:
        config["info"] = {**config.get("info", {}), **changes}
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    (folder / CARD_NAME).write_text(render_folder_card(folder, strict=False))
    print(f"wrote {folder / CARD_NAME}")
    info = folder_info(folder)
    text = info.get("description", "") + info.get("limitations", "")
    for placeholder in unresolved_placeholders(text, info):
        print(f"warning: {placeholder} names nothing yet (measure it with genzoo eval --json {folder / METRICS_NAME})")
    for number in untraceable_numbers(text, info):
        print(f"warning: the card text quotes {number}, which no file of the checkpoint states: use a placeholder")
    name = config.get("info", {}).get("name", folder.name)
    sha256 = sha256_of(folder / WEIGHTS_NAME)
    pinned = RELEASES.get(name)
    if pinned is None or pinned.sha256 != sha256:
        print(f'to release it, pin it in genzoo/_registry.py RELEASES: Release("{name}", "{sha256}")')


def cmd_push(args: argparse.Namespace) -> None:
    from genzoo.hub import push_to_hub

    files = push_to_hub(args.folder, args.repo_id, dry_run=args.dry_run, private=args.private, token=args.token)
    if args.dry_run:
        print(f"would upload to {args.repo_id}:")
        for name in files:
            size = (Path(args.folder) / name).stat().st_size
            print(f"  {name} ({size:,} bytes)")
    else:
        print(f"uploaded {', '.join(files)} to https://huggingface.co/{args.repo_id}")


def cmd_interpolate(args: argparse.Namespace) -> None:
    import genzoo
    from genzoo.interpolation import interpolate_files

    model = genzoo.load(args.model, device=args.device)
    if type(model).__name__ != "TransformationInterpolator":  # (IAN's interpolate() is a latent lerp with another API)
        raise ValueError(f"{args.model} ({type(model).__name__}) is not a start-to-goal interpolator; try interp-mnist or interp-celeba")
    for path in [*args.start, *args.goal]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no image file {path}")
    summary = interpolate_files(model, [Path(p) for p in args.start], [Path(p) for p in args.goal], args.out, grid=args.grid,
                                max_steps=args.max_steps, crop=args.crop)
    print(f"wrote the interpolation animation to {args.out} (steps taken: {summary['steps']}; "
          f"final L1 to the goal: {summary['final_l1']})")
    if args.grid:
        print(f"wrote the start | steps | goal strip to {args.grid}")


def add_gatys_arguments(parser: argparse.ArgumentParser, scope: str, steps_dir: str, max_size: int) -> None:
    """The options of a Gatys optimization on the pixels (genzoo stylize gatys, genzoo texture EXAMPLE)."""
    parser.add_argument("--steps", type=int, default=300, help=f"{scope}optimization steps")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help=f"{scope}the optimizer")
    parser.add_argument("--extractor", default="random", help=f"{scope}VGG-19 weights, random or imagenet")
    parser.add_argument("--vgg-weights", default=None, metavar="PATH", help=f"{scope}the ImageNet VGG-19 file (vgg19-dcbb9e9d.pth)")
    parser.add_argument("--save-every", type=int, default=None, help=f"{scope}also save every N steps into {steps_dir}")
    parser.add_argument("--max-size", type=int, default=max_size, help="scale the input images so their longer side is at most this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)


def build_parser() -> argparse.ArgumentParser:
    from genzoo import __version__

    parser = argparse.ArgumentParser(prog="genzoo", description="Classic generative image models with pretrained checkpoints.")
    parser.add_argument("--version", action="version", version=f"genzoo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIGHTNING_COMMANDS:
        commands.add_parser(name, help=f"{name} with a LightningCLI recipe (genzoo {name} --help)", add_help=False)

    listing = commands.add_parser("list", help="list registered models")
    listing.add_argument("pattern", nargs="?", default=None, help='shell pattern, e.g. "*mnist*"')
    listing.add_argument("--markdown", action="store_true", help="print the README checkpoint table")
    listing.set_defaults(run=cmd_list)

    info = commands.add_parser("info", help="metadata of a registered model, as JSON")
    info.add_argument("name")
    info.set_defaults(run=cmd_info)

    sample = commands.add_parser("sample", help="write a PNG grid of samples")
    sample.add_argument("model", help="registered name, hf-hub:org/repo, or a checkpoint folder")
    sample.add_argument("--num", type=int, default=64)
    sample.add_argument("--out", default="samples.png")
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--nrow", type=int, default=None)
    sample.add_argument("--truncation", type=float, default=None, help="truncation psi, for models that have it (StyleGAN-lite)")
    sample.add_argument("--device", default=None)
    sample.set_defaults(run=cmd_sample)

    steps = commands.add_parser("steps", help="write step-by-step generation as an animated GIF (and a grid)")
    steps.add_argument("model", help="an iterative model, e.g. draw-mnist")
    steps.add_argument("--num", type=int, default=16)
    steps.add_argument("--out", default="steps.gif")
    steps.add_argument("--grid", default=None, help="also write a PNG with a row per sample and a column per step")
    steps.add_argument("--seed", type=int, default=0)
    steps.add_argument("--levels", type=int, default=256, help="grey levels per channel in the GIF (fewer: smaller file)")
    steps.add_argument("--device", default=None)
    steps.set_defaults(run=cmd_steps)

    upscale = commands.add_parser("upscale", help="super-resolve an image or a folder of images (SR models)")
    upscale.add_argument("model", help="a super-resolution model, e.g. vdsr-291")
    upscale.add_argument("--scale", type=int, required=True, help="upscaling factor (2, 3 or 4 for vdsr-291)")
    upscale.add_argument("--input", required=True, help="an image file or a folder of images")
    upscale.add_argument("--output", required=True, help="a .png file for one input, else a folder")
    upscale.add_argument("--hr", action="store_true", help="inputs are HR images: downscale them first (the protocol) and use them as ground truth")
    upscale.add_argument("--compare", default=None, metavar="FIG.png", help="also write crops: bicubic | network | ground truth (--hr)")
    upscale.add_argument("--crop", type=int, default=96, help="side of the centred crops in --compare (HR pixels)")
    upscale.add_argument("--device", default=None)
    upscale.set_defaults(run=cmd_upscale)

    translate = commands.add_parser("translate", help="translate an image or a folder of images (CycleGAN, pix2pix)")
    translate.add_argument("model", help="a translation model, e.g. cyclegan-horse2zebra")
    translate.add_argument("--input", required=True, help="an image file or a folder of images")
    translate.add_argument("--output", required=True, help="a .png file for one input, else a folder")
    translate.add_argument("--direction", default="a2b", help="a2b (default) or b2a (CycleGAN): which domain to translate to")
    translate.add_argument("--grid", default=None, metavar="GRID.png", help="also write a figure: input | output, a row per image")
    translate.add_argument("--device", default=None)
    translate.set_defaults(run=cmd_translate)

    stylize = commands.add_parser("stylize", help="style transfer: Gatys optimization (gatys) or a style network (AdaIN, transform net)")
    stylize.add_argument("model", help="gatys, or a style network: a released name, hf-hub:org/repo or a checkpoint folder")
    stylize.add_argument("--content", required=True, help="the content photo")
    stylize.add_argument("--style", action="append", default=None, metavar="IMG",
                         help="the style image (repeat to mix several with an AdaIN model; none for a transform net)")
    stylize.add_argument("--out", required=True, help="the result, a .png file")
    stylize.add_argument("--figure", default=None, metavar="FIG.png", help="also write content | style(s) | result in one row")
    stylize.add_argument("--alpha", type=float, default=1.0, help="AdaIN: content-style trade-off in [0, 1] (1: full style)")
    stylize.add_argument("--style-weights", type=float, nargs="+", default=None, help="AdaIN: weights of the --style images (sum 1)")
    stylize.add_argument("--preserve-color", action="store_true", help="AdaIN: keep the content's colours")
    stylize.add_argument("--style-weight", type=float, default=10.0, help="gatys: weight of the style loss (content: 1)")
    add_gatys_arguments(stylize, "gatys: ", steps_dir="OUT_steps/", max_size=512)
    stylize.set_defaults(run=cmd_stylize)

    texture = commands.add_parser("texture", help="texture synthesis: Gatys optimization from an example, or a texture network's samples")
    texture.add_argument("source", help="an example image file (Gatys synthesis) or a texture network (name, hf-hub:..., folder)")
    texture.add_argument("--out", required=True, help="the result, a .png file (OUT_<k>.png for --num > 1)")
    texture.add_argument("--size", type=int, default=256, help="side of the synthesized texture")
    texture.add_argument("--num", type=int, default=1, help="how many textures (seeds --seed, --seed + 1, ...)")
    texture.add_argument("--figure", default=None, metavar="FIG.png", help="also write example | result(s) in one row")
    add_gatys_arguments(texture, "example images: ", steps_dir="OUT_<k>_steps/", max_size=256)
    texture.set_defaults(run=cmd_texture)

    restore = commands.add_parser("restore", help="Deep Image Prior: denoise, inpaint or super-resolve one image, no training data")
    restore.add_argument("image", help="the image to restore (with --hr or --noise-sigma: the clean truth, corrupted first)")
    restore.add_argument("--task", choices=("denoise", "inpaint", "sr"), required=True)
    restore.add_argument("--out", required=True, help="the result, a .png file")
    restore.add_argument("--mask", default=None, help="inpaint: a grayscale image, white = known pixels, black = holes")
    restore.add_argument("--scale", type=int, default=4, help="sr: the upscaling factor")
    restore.add_argument("--hr", action="store_true", help="sr: IMAGE is high-resolution: downscale it first, measure PSNR against it")
    restore.add_argument("--noise-sigma", type=float, default=None, help="denoise: add Gaussian noise of this std (0-255 scale) first, measure PSNR")
    restore.add_argument("--steps", type=int, default=None, help="Adam steps (default: the paper's for the task)")
    restore.add_argument("--width", type=int, default=128, help="the network's channels (the paper: 128; 64 is ~4x faster on a CPU)")
    restore.add_argument("--figure", default=None, metavar="FIG.png", help="also write input | result (| truth) in one row")
    restore.add_argument("--save-every", type=int, default=None, help="also save every N steps into OUT_steps/")
    restore.add_argument("--max-size", type=int, default=512, help="scale the image so its longer side is at most this")
    restore.add_argument("--seed", type=int, default=0)
    restore.add_argument("--device", default=None)
    restore.set_defaults(run=cmd_restore)

    app = commands.add_parser("app", help="serve the photo editor and the zoo as a local web page (offline)")
    app.add_argument("--model", default="ian-celeba", help="the photo editor's model (one with an encoder: ian-*)")
    app.add_argument("--host", default="127.0.0.1", help="address to bind (localhost by default; 0.0.0.0 exposes it)")
    app.add_argument("--port", type=int, default=7860)
    app.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest per 64 px request)")
    app.set_defaults(run=cmd_app)

    interpolate = commands.add_parser("interpolate", help="walk from a start image to a goal image (transformation-based interpolators)")
    interpolate.add_argument("model", help="an interpolator, e.g. interp-mnist or interp-celeba")
    interpolate.add_argument("--start", nargs="+", required=True, help="start image file(s)")
    interpolate.add_argument("--goal", nargs="+", required=True, help="goal image file(s), one per --start")
    interpolate.add_argument("--out", required=True, help="the .gif animation to write")
    interpolate.add_argument("--grid", default=None, metavar="STRIP.png", help="also write a strip per pair: start | steps | goal")
    interpolate.add_argument("--max-steps", type=int, default=None, help="step budget (default: the trained one)")
    interpolate.add_argument("--crop", choices=("none", "center", "celeba"), default="none",
                             help="cut a square before resizing: center, or celeba (the aligned-CelebA face box interp-celeba was trained on)")
    interpolate.add_argument("--device", default=None)
    interpolate.set_defaults(run=cmd_interpolate)

    card = commands.add_parser(
        "card", help="set a checkpoint's card text and facts in its config.json, and re-render its README.md"
    )
    card.add_argument("folder")
    from genzoo._registry import CARD_FACTS

    for key in CARD_FACTS:
        card.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None, help=f"set info.{key}")
    card.set_defaults(run=cmd_card)

    push = commands.add_parser("push", help="upload a checkpoint folder to the Hugging Face Hub")
    push.add_argument("folder")
    push.add_argument("--repo-id", required=True)
    push.add_argument("--dry-run", action="store_true", help="list what would be uploaded and stop")
    push.add_argument("--private", action="store_true")
    push.add_argument("--token", default=None)
    push.set_defaults(run=cmd_push)

    from genzoo.evaluate import add_eval_arguments, run_eval

    evaluation = commands.add_parser("eval", help="evaluate a model with protocol-stamped metrics")
    add_eval_arguments(evaluation)
    evaluation.set_defaults(run=run_eval)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_COMMANDS:
        run_lightning(argv)
        return
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return
    args.command_line = "genzoo " + shlex.join(argv)  # recorded with results (genzoo eval --json)
    try:
        args.run(args)
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as err:
        # Library errors already say what went wrong and how to fix it; show that, not a traceback.
        sys.exit(f"genzoo {args.command}: error: {err}")


if __name__ == "__main__":
    main()
