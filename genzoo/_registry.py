"""The released checkpoints: their names, and the one thing the package must vouch for itself.

Where each fact about a released checkpoint lives, once:

======================================  ==================================================================
fact                                    place
======================================  ==================================================================
family: paper, published results,       code: ``genzoo/models/<family>.py`` (``PAPER``,
network classes and their arguments     ``PUBLISHED_RESULTS``, the ``GenerativeNetwork`` subclasses)
what a network config implies: image    derived by the network class (``describe(config)``), never restated
size, channels, latent size, range
one trained checkpoint: constructor     ``model_cards/<name>/config.json``: ``config`` (the arguments) and
arguments, dataset, licence,            ``info`` (facts written by the recipe's export, text written by a
description, limitations, recipe,       person with ``genzoo card``)
training record
measured numbers with their protocol    ``model_cards/<name>/metrics.json``, written by ``genzoo eval --json``
the model card                          ``model_cards/<name>/README.md``, rendered from the two files above
                                        (``genzoo card``); a test fails when it is stale
the trusted sha256 and Hub revision     :data:`RELEASES` below: it must not come from the folder it checks
======================================  ==================================================================

``model_cards/<name>/`` is exactly what the Hub repo ``genzoo/<name>`` holds. This module imports no
family and reads no file: ``import genzoo`` and ``genzoo.list_models()`` stay cheap.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass

HUB_ORGANIZATION = "genzoo"
# The facts of one checkpoint that a person states (in config.json "info", set with `genzoo card`); the
# rest of "info" (name, family, training record) is written by the recipe's export.
CARD_FACTS = ("name", "description", "limitations", "dataset", "dataset_id", "license", "license_note", "recipe")


class UnknownModelError(KeyError):
    """An unknown model name. The message lists the closest released names."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


@dataclass(frozen=True)
class Release:
    """A released checkpoint as the package vouches for it.

    ``sha256`` is that of the released ``model.safetensors``; ``revision`` the Hub commit to fetch
    (None: the repo's default branch, until the checkpoint is published).
    """

    name: str
    sha256: str
    revision: str | None = None

    @property
    def hub_repo(self) -> str:
        return f"{HUB_ORGANIZATION}/{self.name}"


# Pin a new checkpoint here (README, "Add a checkpoint"): its name, and the sha256 that `genzoo card` prints.
RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release("cyclegan-horse2zebra", "0a11764f880ec46f8041b618fc354608063aa89b214694f1c57dd7bcd3ccccf3"),
        Release("dcgan-celeba", "4b8d81c0fe46565489d849ed92b3d4edc7e2511caf27bf9646b514d7f3669d49"),
        Release("dcgan-mnist", "c839aa8485281519081b0444a1dc5fb42cf863eb9821d284df16f3dcaa634bf1"),
        Release("draw-mnist", "6ba324121dbed459e1cef37679dd2bb0d90043c041267517643d158a1c94a14e"),
        Release("draw-mnist-noattn", "6bbf4f06b0ff335fee3e9c0d77583abb37c42a0ccea32d8eec7175f061184254"),
        Release("ian-celeba", "7b09a6145531822a452a4160dbdc911f59696754e035bd13ec04b0185646c1a3"),
        Release("ian-mnist", "c848d9d26d0d326b22ed3a64d954501afb3fb3015c6da33df0fabebbb01e157e"),
        Release("interp-celeba", "d566a91f3b023a3f65498793eac043416c7e6ec28ca564ae94391570bf66a27c"),
        Release("interp-mnist", "5ec97e979d8d29922443b9ab8b9838a86f7abe5430b3a69d5416aff98048e193"),
        Release("interp-mnist-stop", "7fd9911f3d0af8ee4abca1dcffe33f2e06f16b21909719d31b4da3aeb0ca00cd"),
        Release("pix2pix-celeba-edges", "23af6692746edfd81fbc881324bd905a76ee83f3a9599ea6768760b4388ce863"),
        Release("srcnn-291-x2", "44460268ef4b8f676923fcb174de576898f9f90e8d4fd577782a2d3fcc399ca7"),
        Release("srcnn-291-x3", "e1624fb87e8f1171f8b91825fbc6c5d80db15adde833125dfb773def3ede5b99"),
        Release("srcnn-291-x4", "62dc9a30a17680d1c94cb76123b73a9a8af1d05de97faf20ac17a4cacac94b82"),
        Release("stylegan-lite-celeba", "662fc0ff6912a4ff9dd62ebf7144ff9914588ce83d8fb8925be6f3a19e200131"),
        Release("texturenet-brick", "f83160721d9073f29fe588c1953c71669c37c8a8fa46423d53cafe98c2022180"),
        Release("texturenet-scales", "9f860111564988fb6d6199315342ab421a2129b403abcdade48ec4775dae0e8a"),
        Release("transformnet-la-muse", "232f9f4bf04ea9eba9d285c303c536e83adeb0e23169a60c75a75ad333ddd69a"),
        Release("transformnet-matisse", "15c6d41a6b9c84fb97b63b5e4cb992ac6b4ef1b92e9baac74f406510078229ee"),
        Release("vdsr-291", "276f1bb35fa6f45a14c6aff847b5f6dc894b347771c1a0f66aa4dc939a93263b"),
        Release("wgan-gp-mnist", "17e9d2a64a4e10d241cf1185572717b56d86a85cda8c00c5e0ad965c89f7e940"),
    )
}


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted released names, optionally filtered by a shell-style pattern such as ``"*mnist*"``."""
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError(f"pattern must be a shell-style string such as '*mnist*', got {pattern!r}")
    names = sorted(RELEASES)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


def get_release(name: str) -> Release:
    """The pinned release of ``name``; an unknown name raises with the closest matches."""
    if name in RELEASES:
        return RELEASES[name]
    close = difflib.get_close_matches(name, list(RELEASES), n=5, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownModelError(
        f"Unknown model {name!r}.{hint} genzoo.list_models() shows all {len(RELEASES)} names; "
        "a local folder or 'hf-hub:org/repo' also loads."
    )
