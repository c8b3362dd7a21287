"""Frozen feature networks that families build on (not metrics): VGG-19 features by layer name for texture
synthesis, style transfer and their training (``genzoo.backbones.vgg``)."""

from genzoo.backbones.vgg import (
    IMAGENET_NAME,
    VGG19_IMAGENET,
    VGG19_LAYERS,
    VGG19Features,
    feature_extractor,
    random_extractor_name,
)

__all__ = ["VGG19Features", "feature_extractor", "random_extractor_name", "IMAGENET_NAME", "VGG19_IMAGENET", "VGG19_LAYERS"]
