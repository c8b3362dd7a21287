"""``genzoo app``: the Neural Photo Editor (Brock et al., ICLR 2017, section 2) and the rest of the zoo in a web page.

    genzoo app                      # http://127.0.0.1:7860, editor on ian-celeba
    genzoo app --model ian-mnist --port 8000

The page is a Gradio app that works offline: analytics off, a theme with system fonts only (no web fonts),
no share tunnel, and the Gradio frontend served from the installed package (no CDN).

Tabs:

* **Photo editor** (models with ``.paint``, i.e. IAN): pick an example face, sample one, or upload a photo
  (cropped to a square and resized to the model's size, with a note saying so). Paint strokes on it with the
  brush (colour and size under the canvas), then apply the contextual paintbrush
  (``genzoo.editing.paint``: N steps of a given size on the latent). The page shows the result composed with
  the interpolation mask, the mask, the reconstruction and the edited latent's reconstruction; strokes
  accumulate (the next stroke starts from the edited latent); undo, reset, download; and a slider that
  interpolates latents between the current face and a second one.
* **Sample**, **Interpolate**, **Upscale**, **Translate**: one sub-tab per registered model that can do it.
  Capabilities are read from the network classes named by each model's ``config.json`` (``sample`` for
  generators, ``sample(..., return_steps=True)`` for an animation, a ``truncation`` argument, ``interpolate``,
  ``upscale``, ``translate``), so a new family's tab appears when its checkpoint is registered.

Everything but :func:`build_app` and :func:`launch` is a plain function of tensors and PIL images (the tests
call them directly). Models load once per process (:func:`load_model`); what one visitor edits lives in a
per-session :class:`EditSession` held by ``gr.State``, never in module globals.

Example faces are samples of the editor's own model at fixed seeds: nothing from a dataset is bundled
(CelebA is for non-commercial research only).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import inspect
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

import genzoo
from genzoo.data.images import crop_box
from genzoo.editing import PaintResult, paint

INSTALL_HINT = 'the app needs Gradio: pip install "genzoo[app]"'
DEFAULT_EDITOR_MODEL = "ian-celeba"
# Uploads larger than this are refused before decoding (PIL's own bomb guard starts at ~179 Mpx).
MAX_UPLOAD_PIXELS = 40_000_000
MAX_UPLOAD_BYTES = "25mb"
EXAMPLE_SEEDS = (0, 1, 2, 3, 4, 5)
# The editor canvas shows the photo enlarged to about this many pixels a side: 64 px is too small to paint on.
CANVAS_TARGET = 256
# The paintbrush settings of the ian-celeba card's demo (steps=5, step_size=1.0, blur_sigma=2.0).
DEFAULT_STEPS, DEFAULT_STEP_SIZE, DEFAULT_BLUR = 5, 1.0, 2.0
BRUSH_COLOURS = ("#ffd34d", "#d62828", "#2a9d8f", "#111111", "#f1f1f1")

# The painting canvas: a plain <canvas> over the photo, driven by this script (served inline in the page's
# head, so nothing is fetched). Gradio's ImageEditor was tried first: after an event that both reads and
# rewrites it, it often stayed in "processing" for good in headless Chromium, and the page must not hang.
# Listeners sit on the document, so they work for every canvas the server renders; the stroke travels to
# the server as a PNG data URL (its alpha is the mask, its pixels the colour) through a hidden textbox.
PAINTER_JS = """
<script>
(() => {
  const brush = {colour: "%(colour)s", size: %(size)d};
  let canvas = null, last = null;
  const at = (c, e) => {
    const r = c.getBoundingClientRect();
    return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
  };
  const line = (c, a, b) => {
    const ctx = c.getContext("2d");
    Object.assign(ctx, {strokeStyle: brush.colour, lineWidth: brush.size, lineCap: "round", lineJoin: "round"});
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
  };
  document.addEventListener("pointerdown", (e) => {
    const c = e.target.closest && e.target.closest("canvas.genzoo-stroke");
    if (!c) return;
    canvas = c; last = at(c, e); line(c, last, last);
    c.setPointerCapture(e.pointerId); e.preventDefault();
  });
  document.addEventListener("pointermove", (e) => {
    if (!canvas) return;
    const p = at(canvas, e); line(canvas, last, p); last = p;
  });
  document.addEventListener("pointerup", () => { canvas = null; });
  document.addEventListener("input", (e) => {
    if (e.target.id === "genzoo-colour") brush.colour = e.target.value;
    if (e.target.id === "genzoo-size") brush.size = Number(e.target.value);
  });
  document.addEventListener("click", (e) => {
    if (e.target.id !== "genzoo-clear") return;
    const c = document.querySelector("canvas.genzoo-stroke");
    if (c) c.getContext("2d").clearRect(0, 0, c.width, c.height);
  });
  // Gradio patches the HTML in place and keeps the canvas element (and its stroke) when the server sends a
  // new photo: clear the stroke whenever the photo under it changes.
  new MutationObserver((records) => {
    const photoChanged = records.some((r) => r.target.nodeType === 1 &&
      (r.target.matches(".genzoo-painter img") || r.target.querySelector(".genzoo-painter img")));
    const c = photoChanged && document.querySelector("canvas.genzoo-stroke");
    if (c) c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
  window.genzooStroke = () => {
    const c = document.querySelector("canvas.genzoo-stroke");
    return c ? c.toDataURL("image/png") : "";
  };
})();
</script>
"""

log = logging.getLogger(__name__)


class PhotoError(ValueError):
    """An input the editor cannot use; the message is shown in the page."""


# ---------------------------------------------------------------------------------------------
# models: loaded once per process, capabilities read from the classes
# ---------------------------------------------------------------------------------------------
_load_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _load_cached(name: str):
    return genzoo.load(name)


def load_model(name: str):
    """The network ``name`` (a released name or a folder), loaded on first use and then shared.

    The lock keeps two first requests from loading the same checkpoint twice; networks are used in eval
    mode and never mutated by the app, so one copy serves every session.
    """
    with _load_lock:
        return _load_cached(name)


def network_class(name: str):
    """The network class that ``name``'s config.json names, without loading its weights."""
    from genzoo.models import get_architecture

    return get_architecture(genzoo.model_info(name)["architecture"])


def capabilities(cls: type) -> frozenset[str]:
    """What the app can do with networks of class ``cls``.

    ``sample`` for generators (image-to-image networks have a ``sample`` that only raises), ``steps`` when
    ``sample`` takes ``return_steps``, ``truncation`` when it takes ``truncation``; ``interpolate`` for
    generators that also interpolate; ``paint`` for the photo editor; ``upscale`` and ``translate`` as named.
    """
    found = set()
    generator = getattr(cls, "PIPELINE_TAG", "") != "image-to-image" and callable(getattr(cls, "sample", None))
    if generator:
        found.add("sample")
        parameters = inspect.signature(cls.sample).parameters
        found.update(key for key, arg in (("steps", "return_steps"), ("truncation", "truncation")) if arg in parameters)
        if callable(getattr(cls, "interpolate", None)):
            found.add("interpolate")
    for method in ("paint", "upscale", "translate"):
        if callable(getattr(cls, method, None)):
            found.add(method)
    return frozenset(found)


def discover(names: list[str] | None = None) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(capabilities of every registered model, {name: why it is unavailable}) without loading any weights."""
    found, unavailable = {}, {}
    for name in genzoo.list_models() if names is None else names:
        try:
            found[name] = capabilities(network_class(name))
        except Exception as err:  # a missing or broken checkpoint must not take the page down
            unavailable[name] = f"{type(err).__name__}: {err}"
    return found, unavailable


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------
def prepare_photo(source: Any, image_size: int, channels: int, crop: str = "center") -> tuple[Image.Image, str]:
    """An uploaded file path or PIL image -> (a square ``image_size`` photo in the model's mode, a note).

    ``crop``: "center" (the largest central square) or "celeba" (the face square of an aligned CelebA photo,
    as the training data was cropped). Grayscale photos become RGB (and colour ones grayscale for 1-channel
    models), transparent pixels are put on white; each conversion is said in the note. Raises ``PhotoError``
    for a non-image, an empty or a huge image.
    """
    if source is None:
        raise PhotoError("no photo: upload an image file or pick an example")
    if isinstance(source, Image.Image):
        image, what = source, "the image"
    else:
        path = Path(source)
        what = path.name
        try:
            image = Image.open(path)
        except (UnidentifiedImageError, OSError):  # PIL's message names the server's temporary path: not shown
            raise PhotoError(f"{what} is not an image that can be read (PNG, JPEG, WebP, BMP...)") from None
    width, height = image.size
    if width * height > MAX_UPLOAD_PIXELS:
        raise PhotoError(
            f"{what} is {width}x{height} ({width * height / 1e6:.0f} megapixels), more than the "
            f"{MAX_UPLOAD_PIXELS / 1e6:.0f} allowed; the model works at {image_size}x{image_size}: downscale it first"
        )
    if min(width, height) < 1:
        raise PhotoError(f"{what} is empty ({width}x{height})")
    notes = []
    try:
        image.load()
    except (OSError, SyntaxError, Image.DecompressionBombError) as err:
        raise PhotoError(f"{what} could not be decoded: {err}") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image.alpha_composite(rgba)
        notes.append("transparent pixels put on white")
    target = "RGB" if channels == 3 else "L"
    if image.mode.startswith(("L", "1", "I", "F")) and channels == 3:
        notes.append("grayscale converted to RGB")
    elif target == "L" and image.mode != "L":
        notes.append("converted to grayscale")
    image = image.convert(target)
    box = crop_box(*image.size, crop)
    if box is not None and box != (0, 0, *image.size):
        image = image.crop(box)
        notes.append(f"cropped to the {'central' if crop == 'center' else 'CelebA face'} square {image.width}x{image.height}")
    if image.size != (image_size, image_size):
        notes.append(f"resized from {image.width}x{image.height} to {image_size}x{image_size} (bicubic)")
        image = image.resize((image_size, image_size), Image.BICUBIC)
    note = f"{what}: " + ("; ".join(notes) if notes else f"used as it is ({image_size}x{image_size})")
    return image, note


def image_to_tensor(image: Image.Image | np.ndarray, network) -> torch.Tensor:
    """A PIL image or uint8 array (H, W[, C]) -> (1, C, H, W) in the network's value range."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array)
    tensor = tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)
    low, high = network.value_range
    return (low + (high - low) * tensor)[None].to(network.device, network.dtype)


def tensor_to_image(images: torch.Tensor, network, scale: int = 1) -> Image.Image:
    """One image (1, C, H, W) or (C, H, W) in the network's value range -> PIL, enlarged ``scale`` times (nearest)."""
    image = network.to_unit_range(images.detach().float().cpu().reshape(-1, *images.shape[-3:])[0])
    pixels = (image * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    pil = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    return pil if scale == 1 else pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)


def grid_image(images_unit: torch.Tensor, scale: int = 1, nrow: int | None = None) -> Image.Image:
    """Images (N, C, H, W) in [0, 1] as one PIL grid, enlarged ``scale`` times (nearest)."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(len(images_unit))))
    grid = make_grid(images_unit.detach().float().cpu(), nrow=nrow, padding=2, pad_value=1.0)
    pixels = (grid * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    pil = Image.fromarray(pixels[:, :, 0] if images_unit.shape[1] == 1 else pixels)
    return pil if scale == 1 else pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)


def display_scale(image_size: int) -> int:
    """How many screen pixels per image pixel make a ~256 px view (64 px -> 4, 28 px -> 9)."""
    return max(1, CANVAS_TARGET // image_size)


def stroke_from_layers(layers: list[np.ndarray], image_size: int) -> tuple[torch.Tensor, tuple[float, ...]]:
    """Paint layers (canvas-sized RGBA arrays) -> (mask (image_size, image_size) in [0, 1], colour).

    The mask is the painted coverage averaged over each image pixel (so a thin stroke gives a soft mask); the
    colour is the coverage-weighted mean of the painted RGB values in [0, 1]. Raises ``PhotoError`` when
    nothing is painted.
    """
    painted = [np.asarray(layer) for layer in layers or [] if layer is not None]
    painted = [layer for layer in painted if layer.ndim == 3 and layer.shape[2] == 4]
    if not painted:
        raise PhotoError("nothing is painted: draw a stroke on the photo with the brush first")
    rgba = np.stack(painted).astype(np.float64) / 255.0  # (L, H, W, 4)
    alpha = rgba[..., 3]
    coverage = alpha.max(axis=0)  # several layers over one pixel: it is painted once
    if coverage.sum() == 0:
        raise PhotoError("nothing is painted: draw a stroke on the photo with the brush first")
    colour = (rgba[..., :3] * alpha[..., None]).sum(axis=(0, 1, 2)) / alpha.sum()
    mask = torch.from_numpy(coverage).float()[None, None]
    mask = F.interpolate(mask, size=(image_size, image_size), mode="area")[0, 0].clamp(0, 1)
    return mask, tuple(float(c) for c in colour)


def stroke_layer(data_url: str) -> np.ndarray:
    """The painter's stroke, a ``data:image/png;base64,...`` URL, as an RGBA uint8 array (H, W, 4)."""
    prefix = "data:image/png;base64,"
    if not isinstance(data_url, str) or not data_url.startswith(prefix):
        raise PhotoError("nothing is painted: draw a stroke on the photo with the brush first")
    try:
        with Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix):], validate=True))) as image:
            return np.asarray(image.convert("RGBA"))
    except (ValueError, UnidentifiedImageError, OSError) as err:
        raise PhotoError(f"the stroke could not be read: {err}") from None


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def painter_html(photo: Image.Image | None, side: int) -> str:
    """The painting area: ``photo`` (any size, shown ``side`` px wide, pixelated) under a blank stroke canvas.

    Re-rendered for every new photo, so a new photo always starts with a clean stroke. The photo is
    inlined as a data URL: the page fetches nothing for it.
    """
    style = f"position:absolute;left:0;top:0;width:{side}px;height:{side}px"
    under = (
        f'<img src="{png_data_url(photo)}" alt="the photo being edited" draggable="false" '
        f'style="{style};image-rendering:pixelated">'
        if photo is not None
        else f'<div style="{style};display:grid;place-items:center;background:#eee;color:#555">pick a face</div>'
    )
    return (
        f'<div class="genzoo-painter" style="position:relative;width:{side}px;height:{side}px;margin:auto">{under}'
        f'<canvas class="genzoo-stroke" width="{side}" height="{side}" '
        f'style="{style};cursor:crosshair;touch-action:none"></canvas></div>'
    )


def brush_controls_html(default_size: int) -> str:
    """The brush's colour, size and a clear button (read by ``PAINTER_JS``; rendered once)."""
    swatches = "".join(f'<option value="{c}"></option>' for c in BRUSH_COLOURS)
    return (
        '<div style="display:flex;gap:12px;align-items:center;justify-content:center;flex-wrap:wrap">'
        f'<label>colour <input id="genzoo-colour" type="color" value="{BRUSH_COLOURS[0]}" list="genzoo-swatches"></label>'
        f'<datalist id="genzoo-swatches">{swatches}</datalist>'
        f'<label>size <input id="genzoo-size" type="range" min="2" max="48" value="{default_size}"></label>'
        '<button id="genzoo-clear" type="button">clear stroke</button></div>'
    )


# ---------------------------------------------------------------------------------------------
# the editor's per-session state
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity (gr.State hashes its value to detect changes)
class EditSession:
    """One visitor's photo: the original, the current edited photo and latent, and the undo history.

    Frozen: every step returns a new session, so one visitor's step never changes another's (or an
    earlier) state. Tensors are (1, C, H, W) in the network's value range and (1, latent_dim).
    """

    original: torch.Tensor
    original_latent: torch.Tensor
    photo: torch.Tensor
    latent: torch.Tensor
    note: str = ""
    history: tuple[tuple[torch.Tensor, torch.Tensor], ...] = field(default=())
    last: PaintResult | None = None


def new_session(network, photo: torch.Tensor, note: str = "") -> EditSession:
    """Start editing ``photo`` (1, C, H, W): encode it once."""
    latent = network.encode(photo)
    return EditSession(photo, latent, photo, latent, note)


def apply_stroke(
    network,
    session: EditSession,
    mask: torch.Tensor,
    rgb: tuple[float, ...],
    steps: int = DEFAULT_STEPS,
    step_size: float = DEFAULT_STEP_SIZE,
    blur_sigma: float = DEFAULT_BLUR,
) -> EditSession:
    """One contextual-paintbrush stroke on the session's current photo, resuming from its latent.

    The colour is given in [0, 1] per RGB channel; a 1-channel model paints its luminance.
    """
    if session is None:
        raise PhotoError("no photo yet: pick an example face, sample one or upload a photo")
    if network.channels == 1 and len(rgb) == 3:
        rgb = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2],)  # BT.601 luma
    result = paint(
        network, session.photo, rgb, mask, step_size=step_size, steps=int(steps), blur_sigma=blur_sigma,
        latent=session.latent,
    )
    history = session.history + ((session.photo, session.latent),)
    return replace(session, photo=result.image.clamp(*network.value_range), latent=result.latent, history=history, last=result)


def undo(session: EditSession) -> EditSession:
    """The session before its last stroke (unchanged when there is none)."""
    if session is None or not session.history:
        return session
    photo, latent = session.history[-1]
    return replace(session, photo=photo, latent=latent, history=session.history[:-1], last=None)


def reset(session: EditSession) -> EditSession:
    """The session back at its original photo, with no history."""
    if session is None:
        return session
    return replace(session, photo=session.original, latent=session.original_latent, history=(), last=None)


def interpolate_latents(network, z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """decode((1 - t) z0 + t z1), t in [0, 1]: (1, C, H, W)."""
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must lie in [0, 1], got {t}")
    return network.decode((1 - t) * z0 + t * z1)


def save_png(image: Image.Image, folder: str | os.PathLike, stem: str) -> str:
    """Write ``image`` as a new PNG in ``folder``; return its path (what a download button serves)."""
    handle = tempfile.NamedTemporaryFile(prefix=f"{stem}-", suffix=".png", dir=folder, delete=False)
    with handle:
        image.save(handle, format="PNG", optimize=True)
    return handle.name


# ---------------------------------------------------------------------------------------------
# the rest of the zoo
# ---------------------------------------------------------------------------------------------
def sample_grid(network, count: int, seed: int, truncation: float | None = None) -> Image.Image:
    """``count`` samples at ``seed`` as a grid (small images enlarged to be visible)."""
    kwargs = {} if truncation is None else {"truncation": float(truncation)}
    images = network.sample(int(count), seed=int(seed), **kwargs)
    return grid_image(network.to_unit_range(images), scale=max(1, 128 // images.shape[-1]))


def sample_steps_gif(network, count: int, seed: int, path: str | os.PathLike) -> str:
    """The canvas after every step (DRAW) as an animated GIF at ``path``; returns the path."""
    from genzoo.animation import save_steps_gif

    steps = network.to_unit_range(network.sample(int(count), seed=int(seed), return_steps=True))
    return str(save_steps_gif(steps, path, scale=max(1, 128 // steps.shape[-1])))


def interpolation_strip(network, seed_a: int, seed_b: int, steps: int) -> Image.Image:
    """Two samples (seeds a, b) and ``steps`` images between them by ``network.interpolate``, in one row."""
    x0, x1 = network.sample(1, seed=int(seed_a)), network.sample(1, seed=int(seed_b))
    images = network.interpolate(x0, x1, steps=int(steps))[0]
    return grid_image(network.to_unit_range(images), scale=max(1, 96 // images.shape[-1]), nrow=len(images))


def upscale_photo(network, image: Image.Image, scale: int) -> tuple[Image.Image, Image.Image]:
    """(bicubic, network) upscaling of an RGB PIL image by ``scale``."""
    if image is None:
        raise PhotoError("no image: upload one to upscale")
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
    bicubic, out = network.bicubic(rgb, int(scale)), network.upscale(rgb, int(scale))

    def to_pil(t: torch.Tensor) -> Image.Image:
        return Image.fromarray((t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy())

    return to_pil(bicubic), to_pil(out)


def translate_photo(network, image: Image.Image, crop: str = "center") -> tuple[Image.Image, str]:
    """An image-to-image network's ``translate`` on a photo prepared to its size: (output, note).

    Contract for a ``translate`` family: images (N, C, H, W) in ``value_range`` -> the same shape and range.
    """
    photo, note = prepare_photo(image, network.image_size, network.channels, crop)
    with torch.no_grad():
        out = network.translate(image_to_tensor(photo, network))
    return tensor_to_image(out, network, display_scale(network.image_size)), note


# ---------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------
def _shown_in_page(function):
    """Show an error as a message in the page (a toast) and leave the outputs as they were; never a stack trace.

    Raising ``gr.Error`` would also work, but Gradio then blanks every output component (the photo on the
    canvas included) behind an "Error" badge; a warning toast plus ``gr.skip()`` keeps the visitor's work.
    """
    import gradio as gr

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, TypeError, KeyError, RuntimeError, NotImplementedError) as err:
            # Library errors already say what went wrong and how to fix it.
            message = str(err).strip("'\"")
        except Exception as err:
            log.exception("unexpected error in %s", function.__name__)
            message = f"unexpected error ({type(err).__name__}); the server log has the details"
        # The toast renders HTML: escape what may quote an uploaded file's name.
        gr.Warning(html.escape(message), title="Cannot do that")
        return gr.skip()

    return wrapper


def editor_models(found: dict[str, frozenset[str]]) -> list[str]:
    return sorted(name for name, caps in found.items() if "paint" in caps)


def build_app(editor_model: str = DEFAULT_EDITOR_MODEL, names: list[str] | None = None):
    """The Gradio Blocks of the page: the photo editor on ``editor_model`` and a tab per capability.

    ``names``: the models to offer (default: every registered one). Raises ``ValueError`` when
    ``editor_model`` cannot paint, naming those that can.
    """
    try:
        import gradio as gr
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err

    found, unavailable = discover(names)
    editor_caps = found.get(editor_model)
    if editor_caps is None:
        # Not registered (or broken): the released name's error lists the close matches.
        editor_caps = capabilities(network_class(editor_model))
    if "paint" not in editor_caps:
        raise ValueError(
            f"{editor_model} cannot paint (it has no encoder); the photo editor needs one of: "
            f"{', '.join(editor_models(found)) or 'none registered'}"
        )
    editor = load_model(editor_model)
    size, channels = editor.image_size, editor.channels
    scale = display_scale(size)
    downloads = tempfile.mkdtemp(prefix="genzoo-app-")
    # (image at the model's size, label): samples of the editor's model, so no dataset image is shipped.
    examples = [(tensor_to_image(editor.sample(1, seed=s), editor), f"sample, seed {s}") for s in EXAMPLE_SEEDS]

    def view(images: torch.Tensor) -> Image.Image:
        return tensor_to_image(images, editor, scale)

    def mask_view(mask: torch.Tensor) -> Image.Image:
        pixels = (mask.detach().float().cpu()[0, 0] * 255).round().to(torch.uint8).numpy()
        return Image.fromarray(pixels).resize((size * scale,) * 2, Image.NEAREST)

    def painter(session: EditSession | None) -> str:
        return painter_html(None if session is None else tensor_to_image(session.photo, editor), size * scale)

    def show(session: EditSession):
        """Every editor output for ``session``: canvas, result, mask, reconstructions, note, state."""
        if session.last is None:
            reconstruction = editor.decode(session.latent)
            outputs = [view(session.photo), None, view(reconstruction), None]
        else:
            r = session.last
            outputs = [view(r.image), mask_view(r.mask), view(r.reconstruction), view(r.edited_reconstruction)]
        strokes = len(session.history)
        note = f"{session.note}. {strokes} stroke{'s' * (strokes != 1)} applied."
        result_file = save_png(tensor_to_image(session.photo, editor), downloads, "genzoo-edit")
        return [painter(session), *outputs, note, session, result_file]

    @_shown_in_page
    def start_from_example(evt: gr.SelectData):
        image, label = examples[evt.index]
        return show(new_session(editor, image_to_tensor(image, editor), label))

    # Gradio finds the event argument by its type; with postponed annotations (a string here) it cannot
    # resolve a name imported inside this function, so give it the class itself.
    start_from_example.__annotations__["evt"] = gr.SelectData

    @_shown_in_page
    def start_from_sample(seed):
        return show(new_session(editor, editor.sample(1, seed=int(seed)), f"sample, seed {int(seed)}"))

    @_shown_in_page
    def start_from_upload(path, crop):
        photo, note = prepare_photo(path, size, channels, crop)
        return show(new_session(editor, image_to_tensor(photo, editor), note))

    @_shown_in_page
    def apply(stroke_url, session, steps, step_size, blur_sigma):
        if session is None:
            raise PhotoError("no photo yet: pick an example face, sample one or upload a photo")
        mask, rgb = stroke_from_layers([stroke_layer(stroke_url)], size)
        return show(apply_stroke(editor, session, mask, rgb, steps, step_size, blur_sigma))

    @_shown_in_page
    def on_undo(session):
        if session is None:
            raise PhotoError("nothing to undo")
        return show(undo(session))

    @_shown_in_page
    def on_reset(session):
        if session is None:
            raise PhotoError("nothing to reset")
        return show(reset(session))

    @_shown_in_page
    def blend(session, other_index, t):
        if session is None:
            raise PhotoError("no photo yet: pick an example face first")
        z1 = editor.encode(image_to_tensor(examples[int(other_index)][0], editor))
        return view(interpolate_latents(editor, session.latent, z1, t))

    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    with gr.Blocks(title="genzoo", analytics_enabled=False) as demo:
        demo.genzoo_theme = theme  # launch() takes the theme and the head (Gradio 6)
        demo.genzoo_head = PAINTER_JS % {"colour": BRUSH_COLOURS[0], "size": max(2, 3 * scale)}
        gr.Markdown(
            f"# genzoo\nClassic generative image models. Photo editor: **{editor_model}** "
            f"({size}x{size}); the canvas shows it {scale}x enlarged."
        )
        with gr.Tabs():
            with gr.Tab("Photo editor", id="editor"):
                session = gr.State(None)
                with gr.Row():
                    with gr.Column(scale=1, min_width=300):
                        gallery = gr.Gallery(
                            [image.resize((size * scale,) * 2, Image.NEAREST) for image, _ in examples],
                            label="Example faces (samples of the model)", columns=2, height=330, allow_preview=False,
                            elem_id="examples",
                        )
                        with gr.Row():
                            seed = gr.Number(value=7, precision=0, label="seed", min_width=80)
                            sample_button = gr.Button("Sample a face", elem_id="sample-face")
                        upload = gr.File(label="...or upload a photo", type="filepath", height=120, elem_id="upload")
                        crop = gr.Radio(["center", "celeba"], value="center", label="crop (celeba: an aligned CelebA photo)")
                    with gr.Column(scale=2):
                        canvas = gr.HTML(painter(None), elem_id="painter")
                        gr.HTML(brush_controls_html(max(2, 3 * scale)))
                        stroke = gr.Textbox(visible=False)  # filled from the canvas by PAINTER_JS on Apply
                        note = gr.Markdown("Pick an example face, sample one or upload a photo.", elem_id="note")
                    with gr.Column(scale=1, min_width=220):
                        steps = gr.Slider(1, 20, value=DEFAULT_STEPS, step=1, label="brush steps (N)")
                        step_size = gr.Slider(0.05, 3.0, value=DEFAULT_STEP_SIZE, step=0.05, label="step size (latent units)")
                        blur = gr.Slider(0.0, 6.0, value=DEFAULT_BLUR, step=0.5, label="mask blur (pixels)")
                        apply_button = gr.Button("Apply brush", variant="primary", elem_id="apply")
                        with gr.Row():
                            undo_button = gr.Button("Undo", elem_id="undo")
                            reset_button = gr.Button("Reset", elem_id="reset")
                        download_button = gr.DownloadButton("Download result", elem_id="download")
                with gr.Row():
                    result = gr.Image(label="Result Y", type="pil", format="png", height=300, elem_id="result")
                    mask = gr.Image(label="Interpolation mask M", type="pil", format="png", height=300, elem_id="mask")
                    reconstruction = gr.Image(label="Reconstruction X_hat", type="pil", format="png", height=300, elem_id="reconstruction")
                    edited = gr.Image(label="Edited reconstruction G(z')", type="pil", format="png", height=300, elem_id="edited")
                gr.Markdown(
                    "Y = X_hat + M Delta + (1 - M)(X - X_hat) with Delta = G(z') - X_hat: the edit where the "
                    "reconstruction changed, the photo's own detail elsewhere (Brock et al. 2017, section 2)."
                )
                with gr.Row():
                    other = gr.Dropdown(
                        [(label, i) for i, (_, label) in enumerate(examples)], value=1, label="interpolate towards"
                    )
                    t = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="t (0: this face, 1: the other)")
                    blended = gr.Image(label="decode((1 - t) z + t z_other)", type="pil", elem_id="blended")

                # The download button always holds the current photo, so one click saves it.
                outputs = [canvas, result, mask, reconstruction, edited, note, session, download_button]
                events = [
                    gallery.select(start_from_example, None, outputs),
                    sample_button.click(start_from_sample, seed, outputs),
                    upload.upload(start_from_upload, [upload, crop], outputs),
                    apply_button.click(
                        apply, [stroke, session, steps, step_size, blur], outputs,
                        js="(stroke, ...rest) => [window.genzooStroke(), ...rest]",
                    ),
                    undo_button.click(on_undo, session, outputs),
                    reset_button.click(on_reset, session, outputs),
                ]
                for event in events:  # keep the interpolation view in step with the face being edited
                    event.then(lambda s, o, x: gr.skip() if s is None else blend(s, o, x), [session, other, t], blended)
                t.release(blend, [session, other, t], blended)
                other.change(blend, [session, other, t], blended)

            _zoo_tabs(gr, found, unavailable, downloads)
    return demo


def _zoo_tabs(gr, found: dict[str, frozenset[str]], unavailable: dict[str, str], downloads: str) -> None:
    """A tab per capability, with a sub-tab per model that has it (tabs with no model are left out)."""

    def models_with(capability: str) -> list[str]:
        return [name for name, caps in sorted(found.items()) if capability in caps]

    if models_with("sample"):
        with gr.Tab("Sample", id="sample"), gr.Tabs():
            for name in models_with("sample"):
                with gr.Tab(name):
                    _sample_tab(gr, name, found[name], downloads)
    if models_with("interpolate"):
        with gr.Tab("Interpolate", id="interpolate"), gr.Tabs():
            for name in models_with("interpolate"):
                with gr.Tab(name):
                    seed_a = gr.Number(value=0, precision=0, label="seed A")
                    seed_b = gr.Number(value=1, precision=0, label="seed B")
                    count = gr.Slider(2, 12, value=8, step=1, label="images (both ends included)")
                    button = gr.Button("Interpolate")
                    strip = gr.Image(label=f"{name}: encode both samples, decode evenly spaced latents", type="pil")
                    run = _shown_in_page(lambda a, b, n, name=name: interpolation_strip(load_model(name), a, b, n))
                    button.click(run, [seed_a, seed_b, count], strip)
    if models_with("upscale"):
        with gr.Tab("Upscale", id="upscale"), gr.Tabs():
            for name in models_with("upscale"):
                with gr.Tab(name):
                    scales = genzoo.model_info(name).get("scales") or [2]
                    image = gr.Image(label="low-resolution image", type="pil", sources=("upload",))
                    scale = gr.Dropdown(scales, value=scales[0], label="scale")
                    button = gr.Button("Upscale")
                    with gr.Row():
                        bicubic = gr.Image(label="bicubic", type="pil")
                        out = gr.Image(label=name, type="pil")
                    run = _shown_in_page(lambda im, s, name=name: upscale_photo(load_model(name), im, s))
                    button.click(run, [image, scale], [bicubic, out])
    if models_with("translate"):
        with gr.Tab("Translate", id="translate"), gr.Tabs():
            for name in models_with("translate"):
                with gr.Tab(name):
                    image = gr.Image(label="input image", type="pil", sources=("upload",))
                    button = gr.Button("Translate")
                    out = gr.Image(label=name, type="pil")
                    note = gr.Markdown()
                    button.click(_shown_in_page(lambda im, name=name: translate_photo(load_model(name), im)), image, [out, note])
    if unavailable:
        with gr.Tab("Unavailable", id="unavailable"):
            gr.Markdown("\n".join(f"- **{name}**: {why}" for name, why in sorted(unavailable.items())))


def _sample_tab(gr, name: str, caps: frozenset[str], downloads: str) -> None:
    info = genzoo.model_info(name)
    gr.Markdown(f"**{name}**: {info.get('dataset', '')}. Licence: {info.get('license', 'unknown')}.")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label="seed")
        count = gr.Slider(1, 64, value=16, step=1, label="count")
        truncation = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="truncation", visible="truncation" in caps)
    button = gr.Button("Sample")
    grid = gr.Image(label=f"{name} samples", type="pil")

    def run(seed_value, count_value, truncation_value):
        return sample_grid(load_model(name), count_value, seed_value, truncation_value if "truncation" in caps else None)

    button.click(_shown_in_page(run), [seed, count, truncation], grid)
    if "steps" in caps:
        animate = gr.Button("Animate the steps")
        # A file path keeps the GIF's frames (a PIL image would be re-encoded as a still).
        animation = gr.Image(label="the canvas after every step", type="filepath", format="gif")

        def run_steps(seed_value, count_value):
            handle = tempfile.NamedTemporaryFile(prefix=f"{name}-steps-", suffix=".gif", dir=downloads, delete=False)
            handle.close()
            return sample_steps_gif(load_model(name), count_value, seed_value, handle.name)

        animate.click(_shown_in_page(run_steps), [seed, count], animation)


def launch(editor_model: str = DEFAULT_EDITOR_MODEL, host: str = "127.0.0.1", port: int = 7860, threads: int = 1, block: bool = True):
    """Build and serve the page on ``host:port``; returns the Blocks (serving in the background when not ``block``)."""
    # Before Gradio is imported: no telemetry or version check leaves the machine.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Each request is one 64 px image: one thread per request is fastest, and more oversubscribe the CPU when
    # several requests (or another job) run at once.
    torch.set_num_threads(threads)
    demo = build_app(editor_model)
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
        theme=demo.genzoo_theme, head=demo.genzoo_head, footer_links=[], ssr_mode=False, pwa=False, mcp_server=False,
        max_file_size=MAX_UPLOAD_BYTES, show_error=True,
    )
    return demo
