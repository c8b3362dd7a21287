"""Network families: the one module that knows them all (the registry imports none of them).

Each family file holds its networks (plain ``nn.Module``s and the Hub-saveable ``GenerativeNetwork``),
its paper (``PAPER``), the published results its cards may quote (``PUBLISHED_RESULTS``) and the
network classes a ``config.json`` may name (``ARCHITECTURES``). Importing this package imports every
family; ``import genzoo`` does not import this package until a network is built or described.
"""

from __future__ import annotations

from types import ModuleType

from genzoo.models import dcgan, draw, ian, interpolator, sr, style, stylegan, translation, wgan
from genzoo.models._base import GenerativeNetwork
from genzoo.models.dcgan import DCGAN, DCGANDiscriminator, DCGANGenerator

FAMILIES: dict[str, ModuleType] = {"dcgan": dcgan, "wgan": wgan, "draw": draw, "ian": ian, "sr": sr,  # sr: SRCNN and VDSR
                                    "stylegan": stylegan,
                                    "translation": translation,  # translation: CycleGAN and pix2pix
                                    "interpolator": interpolator,  # transformation-based interpolation (seed 000)
                                    "style": style}  # texture networks, transform nets, AdaIN, Deep Image Prior (seed 002)
ARCHITECTURES: dict[str, type[GenerativeNetwork]] = {
    cls.__name__: cls for family in FAMILIES.values() for cls in family.ARCHITECTURES
}

__all__ = ["FAMILIES", "ARCHITECTURES", "GenerativeNetwork", "DCGAN", "DCGANGenerator", "DCGANDiscriminator", "get_architecture", "get_family"]


def get_architecture(name: str) -> type[GenerativeNetwork]:
    """The network class a ``config.json`` names; an unknown one raises with the known names."""
    if name not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"config.json names architecture {name!r}, which genzoo does not know (known: {known}).")
    return ARCHITECTURES[name]


def get_family(name: str) -> ModuleType:
    """The module of family ``name`` (its ``PAPER``, ``PUBLISHED_RESULTS``, networks)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r} (known: {', '.join(sorted(FAMILIES))})")
    return FAMILIES[name]
