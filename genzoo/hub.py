"""Checkpoint folders: resolve a name to a folder, load it strictly, describe it, save one, publish one.

A genzoo checkpoint is exactly what a Hugging Face Hub model repo holds::

    config.json          {"genzoo_version", "architecture", "config": constructor kwargs, "info": checkpoint facts}
    model.safetensors    the state dict (released weights in half precision), nothing executable
    metrics.json         measured numbers with their protocols (written by `genzoo eval --json`)
    README.md            the model card, rendered from the files above (`genzoo card`)
    *.png, *.gif         figures the card shows

``load`` accepts a released name, ``hf-hub:org/repo[@revision]`` or a local folder. A released name
resolves, in this order, to ``model_cards/<name>`` beside the package source (a clone or an editable
install; ``GENZOO_MODEL_CARDS`` points elsewhere), then the Hub repo ``genzoo/<name>`` at its pinned
revision (local cache and offline mode honoured); its weights must match the sha256 pinned in
``genzoo._registry.RELEASES``. Files that are not safetensors or JSON are refused: genzoo never
unpickles a checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from genzoo._registry import Release, get_release

if TYPE_CHECKING:  # importing genzoo.models imports every family: done only when a network is built
    from genzoo.models import GenerativeNetwork

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
METRICS_NAME = "metrics.json"
FIGURE_SUFFIXES = (".png", ".gif")
HUB_PATTERNS = [CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, METRICS_NAME, *(f"*{s}" for s in FIGURE_SUFFIXES)]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MODEL_CARDS_ENV = "GENZOO_MODEL_CARDS"
FLOAT16_MAX = torch.finfo(torch.float16).max
WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be found or loaded as it is (missing, foreign, corrupt or mismatched)."""


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# where a checkpoint is
# ---------------------------------------------------------------------------------------------
def model_cards_dir() -> Path:
    """The folder of released checkpoint folders: ``$GENZOO_MODEL_CARDS``, else ``model_cards/`` beside the
    package source (present in a clone and an editable install, absent from a wheel)."""
    override = os.environ.get(MODEL_CARDS_ENV)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parent.parent / "model_cards"


def _is_offline(offline: bool | None) -> bool:
    if offline is not None:
        return offline
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "0").upper() in {"1", "ON", "YES", "TRUE"}


def download_from_hub(
    repo_id: str, revision: str | None = None, offline: bool | None = None, patterns: list[str] | None = None
) -> Path:
    """Fetch (or find in the Hugging Face cache) the files of a checkpoint repo; return its folder."""
    from huggingface_hub import snapshot_download

    offline = _is_offline(offline)
    try:
        folder = snapshot_download(
            repo_id=repo_id, revision=revision, allow_patterns=patterns or HUB_PATTERNS, local_files_only=offline
        )
    except Exception as err:  # huggingface_hub raises many types (offline, 404, auth, network)
        if offline:
            how = "it is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE or offline=True)"
        else:
            how = f"the Hub could not be reached or refused ({type(err).__name__}: {str(err).splitlines()[0]})"
        raise CheckpointError(
            f"Could not get the Hub repo {repo_id!r}: {how}. Download the repo folder where the Hub can be reached "
            "and pass its path to genzoo.load()."
        ) from err
    return Path(folder)


def _check_name(name_or_path: Any) -> str:
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"expected a model name, 'hf-hub:org/repo' or a checkpoint folder path, got {type(name_or_path).__name__}"
        )
    text = str(name_or_path)
    if not text.strip():
        raise ValueError(
            "the model name is empty: pass a released name (genzoo.list_models()), 'hf-hub:org/repo' or a checkpoint folder"
        )
    return text


def _released_folder(release: Release, offline: bool | None, patterns: list[str] | None = None) -> Path:
    """The local folder of a released checkpoint, else its Hub snapshot; a clear error naming both places."""
    local = model_cards_dir() / release.name
    needed = WEIGHTS_NAME if patterns is None else CONFIG_NAME
    if (local / needed).is_file():
        return local
    try:
        return download_from_hub(release.hub_repo, release.revision, offline, patterns)
    except CheckpointError as err:
        raise CheckpointError(
            f"{release.name}: no local copy at {local} (no {needed} there), and {err} To use the released weights "
            f"offline, clone the genzoo repository and set {MODEL_CARDS_ENV}=<clone>/model_cards (or install it "
            "editable from the clone: pip install -e .); or run once where the Hub is reachable to fill the cache."
        ) from err


def resolve(name_or_path: str | os.PathLike, offline: bool | None = None) -> tuple[Path, Release | None]:
    """Map a released name, ``hf-hub:org/repo[@rev]`` or a local folder to (folder, pinned release or None)."""
    text = _check_name(name_or_path)
    if text.startswith("hf-hub:"):
        repo_id, _, revision = text[len("hf-hub:"):].partition("@")
        if repo_id.count("/") != 1 or not all(repo_id.split("/")):
            raise ValueError(f"expected 'hf-hub:org/repo[@revision]', got {text!r}")
        return download_from_hub(repo_id, revision or None, offline), None

    path = Path(text).expanduser()
    if path.is_dir():
        return path, None
    if path.is_file():
        raise CheckpointError(
            f"{text} is a file; pass the folder that holds {CONFIG_NAME} and {WEIGHTS_NAME} (a Hub repo folder)."
        )
    looks_like_path = os.sep in text or text.startswith((".", "~")) or text.endswith(PICKLE_SUFFIXES + (".safetensors", ".json"))
    if looks_like_path:
        hint = f" To load the Hub repo {text!r}, pass 'hf-hub:{text}'." if text.count("/") == 1 and not text.startswith((".", "/", "~")) else ""
        raise CheckpointError(f"No such checkpoint folder: {text}.{hint}")

    release = get_release(text)  # an unknown name raises UnknownModelError listing close matches
    return _released_folder(release, offline), release


# ---------------------------------------------------------------------------------------------
# what a checkpoint is
# ---------------------------------------------------------------------------------------------
def _refuse_foreign_files(folder: Path) -> None:
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise CheckpointError(
            f"{folder} holds {', '.join(pickles)} but no {WEIGHTS_NAME}. genzoo never unpickles weights (a pickle can "
            "run code when loaded); it reads only safetensors and JSON."
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    folder = Path(folder)
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        if folder.is_dir():
            _refuse_foreign_files(folder)
        raise CheckpointError(f"{folder} is not a genzoo checkpoint folder: it has no {CONFIG_NAME}.")
    config = _read_json(config_path)
    if not isinstance(config, dict) or "architecture" not in config or not isinstance(config.get("config"), dict):
        raise CheckpointError(
            f"{config_path} is not a genzoo config: it needs 'architecture' and a 'config' object "
            "(was it written by another library?)."
        )
    if not isinstance(config.get("info", {}), dict):
        raise CheckpointError(f"{config_path}: 'info' must be an object of checkpoint facts")
    return config


def read_metrics(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The measured metrics in ``folder/metrics.json`` (``genzoo eval --json`` format); [] when there is none."""
    path = Path(folder) / METRICS_NAME
    if not path.is_file():
        return []
    measured = _read_json(path)
    if not isinstance(measured, dict) or not isinstance(measured.get("metrics"), list):
        raise CheckpointError(f"{path} is not a genzoo metrics file: it needs a 'metrics' list (genzoo eval --json writes one)")
    return measured["metrics"]


def checkpoint_info(config: dict[str, Any], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything known about a checkpoint, each fact from its one place.

    The checkpoint's own facts come from ``config["info"]``; the paper from its family's code; image
    size, channels, latent size and value range from the network class and ``config["config"]``
    (they win over copies that older configs carried); the numbers from ``metrics``.
    """
    from genzoo.models import FAMILIES, get_architecture

    network_class = get_architecture(config["architecture"])
    info = dict(config.get("info", {}))
    family = FAMILIES.get(info.get("family", ""))
    if family is not None:
        info["paper"] = family.PAPER
        info["published_results"] = dict(getattr(family, "PUBLISHED_RESULTS", {}))
    info.update(network_class.describe(config["config"]))
    info["config"] = dict(config["config"])
    info["metrics"] = list(metrics)
    return info


def folder_info(folder: str | os.PathLike) -> dict[str, Any]:
    """:func:`checkpoint_info` of a checkpoint folder (its config.json and metrics.json)."""
    info = checkpoint_info(read_config(folder), read_metrics(folder))
    info["source"] = str(folder)
    return info


def _release_facts(release: Release) -> dict[str, Any]:
    return {"sha256": release.sha256, "hub_repo": release.hub_repo, "revision": release.revision}


def model_info(name: str, *, offline: bool | None = None) -> dict[str, Any]:
    """Everything known about a released checkpoint, as a plain dict, without loading its weights.

    Reads its config.json and metrics.json (from ``model_cards/<name>``, else the Hub) and adds the
    pinned sha256 and Hub repo.
    """
    release = get_release(_check_name(name))
    folder = _released_folder(release, offline, patterns=[CONFIG_NAME, METRICS_NAME])
    return {**folder_info(folder), **_release_facts(release)}


# ---------------------------------------------------------------------------------------------
# loading and saving
# ---------------------------------------------------------------------------------------------
def resolve_dtype(dtype: torch.dtype | str | None) -> torch.dtype:
    """``dtype`` as a floating-point torch dtype (float32, float16 or bfloat16; default float32)."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in WEIGHT_DTYPES:
        return WEIGHT_DTYPES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and dtype in WEIGHT_DTYPES.values():
        return dtype
    raise ValueError(f"dtype must be one of {', '.join(WEIGHT_DTYPES)} (or the torch dtype), got {dtype!r}")


def available_devices() -> list[str]:
    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch device that exists on this machine (default: the CPU); a clear error otherwise."""
    if device is None:
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device {device!r} is not a device name torch knows; use one of {', '.join(available_devices())}"
        ) from err
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} was asked for, but CUDA is not available on this machine "
                f"(available: {', '.join(available_devices())})"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} does not exist (available: {', '.join(available_devices())})")
    elif resolved.type == "mps" and "mps" not in available_devices():
        raise ValueError(f"device {device!r} was asked for, but MPS is not available (available: {', '.join(available_devices())})")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {device!r} is not supported; use one of {', '.join(available_devices())}")
    return resolved


def load_folder(folder: str | os.PathLike, expected_sha256: str | None = None) -> GenerativeNetwork:
    """Rebuild the network saved in ``folder`` (float32 parameters) and load its weights strictly."""
    from safetensors.torch import load_file

    from genzoo.models import get_architecture

    folder = Path(folder)
    config = read_config(folder)
    weights_path = folder / WEIGHTS_NAME
    if not weights_path.is_file():
        _refuse_foreign_files(folder)
        raise CheckpointError(f"{folder} has no {WEIGHTS_NAME}.")
    if expected_sha256 is not None:
        actual = sha256_of(weights_path)
        if actual != expected_sha256:
            raise CheckpointError(
                f"{weights_path} has sha256 {actual}, but the pinned release expects {expected_sha256}: the file is "
                "corrupt, truncated or not the released checkpoint. Delete it (or the Hub cache entry) and load again."
            )
    try:
        state_dict = load_file(weights_path)
    except Exception as err:  # safetensors raises its own error types for foreign or damaged files
        raise CheckpointError(
            f"{weights_path} is not a valid safetensors file ({err}). If it is a pickled PyTorch file, genzoo refuses "
            "it on purpose; convert it with code you trust."
        ) from err

    try:
        network_class = get_architecture(config["architecture"])
    except ValueError as err:
        raise CheckpointError(str(err)) from err
    try:
        network = network_class(**config["config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{folder / CONFIG_NAME}: cannot build {config['architecture']}: {err}") from err
    try:
        # Half-precision weights are copied into the float32 parameters (load_state_dict casts).
        network.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"The weights in {folder} do not match the {config['architecture']} in its config:\n{err}") from err
    network.info = checkpoint_info(config, read_metrics(folder))
    network.info["weights_sha256"] = sha256_of(weights_path)
    return network


def half_precision(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating-point tensors as float16, integers unchanged: the released form of inference weights.

    A tensor with a value beyond float16's range (65504) is stored as bfloat16 instead, which keeps
    float32's range at a coarser precision; float16 is preferred because its 10-bit mantissa is finer.
    """
    halved = {}
    for key, tensor in state_dict.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            halved[key] = tensor
        elif tensor.abs().max() <= FLOAT16_MAX:
            halved[key] = tensor.to(torch.float16)
        else:
            halved[key] = tensor.to(torch.bfloat16)
    return halved


def save_folder(
    network: GenerativeNetwork, folder: str | os.PathLike, card: str | None = None, weights_dtype: str = "float32"
) -> str:
    """Write ``network`` as a Hub-ready folder (config.json, model.safetensors, README.md); return the weights' sha256.

    ``weights_dtype="float16"`` stores the released form (:func:`half_precision`); "float32" keeps full precision.
    ``network.info`` is written as the checkpoint's facts, without what is derived from the config or measured.
    """
    from safetensors.torch import save_file

    from genzoo import __version__
    from genzoo.models import GenerativeNetwork

    if not isinstance(network, GenerativeNetwork):
        raise TypeError(f"save_folder expects a genzoo GenerativeNetwork, got {type(network).__name__}")
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16', got {weights_dtype!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    derived = set(type(network).describe(network.config)) | {
        "config", "metrics", "paper", "published_results", "source", "sha256", "hub_repo", "revision", "weights_sha256"
    }
    config = {
        "genzoo_version": __version__,
        "architecture": type(network).__name__,
        "config": network.config,
        "info": {key: value for key, value in network.info.items() if key not in derived},
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=False) + "\n")
    # clone() so tensors that share storage are written as independent tensors.
    state_dict = {key: value.detach().cpu().float().clone().contiguous() if value.is_floating_point() else value.detach().cpu().clone().contiguous()
                  for key, value in network.state_dict().items()}
    if weights_dtype == "float16":
        state_dict = half_precision(state_dict)
    save_file(state_dict, folder / WEIGHTS_NAME, metadata={"format": "pt", "architecture": config["architecture"]})
    (folder / WEIGHTS_NAME).chmod(0o644)  # safetensors writes 0600; a released file must be readable by all
    if card is not None:
        (folder / CARD_NAME).write_text(card)
    return sha256_of(folder / WEIGHTS_NAME)


def load(
    name_or_path: str | os.PathLike,
    device: str | torch.device | None = None,
    *,
    dtype: torch.dtype | str | None = None,
    offline: bool | None = None,
) -> GenerativeNetwork:
    """Load a pretrained network: a released name, ``hf-hub:org/repo[@rev]`` or a local folder.

    The network is returned in eval mode on ``device`` (CPU by default), computing in ``dtype``
    (float32 by default; "float16" or "bfloat16" to halve memory), with its metadata in ``.info``.
    A released name's weights are checked against the pinned sha256. ``offline=True`` (or the
    ``HF_HUB_OFFLINE=1`` environment variable) uses only local folders and the local Hub cache.
    """
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    folder, release = resolve(name_or_path, offline)
    network = load_folder(folder, expected_sha256=release.sha256 if release else None)
    if release is not None:
        network.info.update(_release_facts(release))
    network.info["source"] = str(folder)
    return network.to(device=device, dtype=dtype).eval()


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    dry_run: bool = False,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload genzoo checkpoint",
    api: Any = None,
) -> list[str]:
    """Upload a checkpoint folder to the Hub as ``repo_id``; return the uploaded file names.

    The folder is loaded first, so a broken checkpoint is never published. ``dry_run`` only lists the files.
    ``api`` defaults to ``huggingface_hub.HfApi(token=token)``.
    """
    folder = Path(folder)
    load_folder(folder)
    if not (folder / CARD_NAME).is_file():
        raise CheckpointError(f"{folder} has no {CARD_NAME} model card; export the checkpoint with genzoo to write one.")
    files = sorted(
        p.name for p in folder.iterdir()
        if p.is_file() and (p.name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, METRICS_NAME) or p.suffix in FIGURE_SUFFIXES)
    )
    if dry_run:
        return files
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type="model", allow_patterns=files, commit_message=commit_message
    )
    return files
