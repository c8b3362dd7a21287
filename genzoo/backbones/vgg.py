"""VGG-19 features by layer name: the "perceptual" feature space of texture synthesis and style transfer.

Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015,
https://arxiv.org/abs/1409.1556 -- the network Gatys et al. (texture synthesis, style transfer), Johnson et al.
(perceptual losses) and Huang and Belongie (AdaIN) take their features from.

    >>> from genzoo.backbones import feature_extractor
    >>> vgg = feature_extractor("random", layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1"))
    >>> features = vgg(images)          # float (N, 3, H, W) in [0, 1] -> {"relu1_1": (N, 64, H, W), ...}

Layers are named as in the papers, block by block: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...,
relu5_4, pool5`` (``VGG19_LAYERS``: torchvision's ``vgg19().features``, index by index). The network is truncated
after the deepest requested layer, frozen (no gradients to its weights, always in eval mode; gradients do flow
to the input images, which optimization needs), and normalizes its input itself: images in [0, 1] become
(x - ImageNet mean) / ImageNet std, as torchvision's ImageNet weights expect.

Two sets of weights, each with a name that goes into every protocol stamp and every trained network's config:

* ``torchvision-vgg19-imagenet``: torchvision's ImageNet VGG-19 (``vgg19-dcbb9e9d.pth``, sha256 prefix pinned as
  torch.hub pins it), found by ``genzoo.metrics.downloads``: an explicit ``path``, ``$GENZOO_VGG19_WEIGHTS``,
  genzoo's cache, torch.hub's cache (where ``torchvision.models.vgg19(weights=...)`` left it), else downloaded
  from torchvision's URL; offline with no file, a :class:`~genzoo.metrics.downloads.WeightsUnavailableError`
  names each way to provide it. The pickle is checked against the pinned hash and read with
  ``weights_only=True``; a ``.safetensors`` conversion is accepted as it is (its own sha256 is stamped).
* ``vgg19-random-seed<seed>``: the same architecture with **random weights**, because ImageNet weights cannot be
  had everywhere (not on genzoo's build machines). He, Wang and Hopcroft ("A Powerful Generative Model Using
  Random Weights for the Deep Image Representation", NeurIPS 2016) showed that an untrained VGG still supports
  texture synthesis and style transfer once the scale of its layers is controlled. Here: convolution weights
  drawn from N(0, 2 / fan_in) (He init), zero biases, then each filter rescaled so that its ReLU output has mean
  1 over a fixed calibration set -- the normalization Gatys et al. applied to their VGG ("the mean activation of
  each filter over images and positions is equal to one"), which ReLU and max pooling leave exact (filters nearly
  silent there are scaled as if their mean were a tenth of the layer's median, not blown up). Without it a
  random layer's scale drifts from layer to layer and one layer's Gram term swamps the others. The calibration
  set is 2 seeded 64x64 synthetic images (multi-octave smooth noise: no image file needed); the statistics are
  computed in float64 and the scales rounded to float32, so the weights are bit-identical in every process and
  with any thread count. It costs quality: see the model cards' side-by-side figures. The construction is part
  of the name: change it and the name must change.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.metrics.downloads import WeightsAsset, load_weights, resolve_weights

# torchvision's cfgs["E"]: channels of each 3x3 convolution, "M" a 2x2 max pool.
VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_names() -> tuple[str, ...]:
    names, block, index = [], 1, 1
    for item in VGG19_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return tuple(names)


#: The names of torchvision's ``vgg19().features`` modules, index by index.
VGG19_LAYERS = _layer_names()
#: Gatys et al.'s style layers; AdaIN's encoder ends at relu4_1.
DEFAULT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

IMAGENET_NAME = "torchvision-vgg19-imagenet"
VGG19_IMAGENET = WeightsAsset(
    name=IMAGENET_NAME,
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    sha256_prefix="dcbb9e9d",
    env_var="GENZOO_VGG19_WEIGHTS",
    used_for="the VGG-19 features of texture synthesis and style transfer (genzoo.backbones)",
)
RANDOM_NAME = re.compile(r"vgg19-random-seed(\d+)")
CALIBRATION_IMAGES, CALIBRATION_SIZE = 2, 64


def random_extractor_name(seed: int = 0) -> str:
    """The name of the random-weight extractor of ``seed``: ``vgg19-random-seed<seed>``."""
    return f"vgg19-random-seed{seed}"


def check_layers(layers: Sequence[str]) -> tuple[str, ...]:
    """``layers`` as a tuple of known names in network order; a clear error for an unknown or empty request."""
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    unknown = [name for name in layers if name not in VGG19_LAYERS]
    if unknown or not layers:
        relus = ", ".join(name for name in VGG19_LAYERS if name.startswith("relu"))
        raise ValueError(f"unknown VGG-19 layer(s) {unknown or '(none requested)'}; layers are named {relus} (and convN_M, poolN)")
    return tuple(sorted(set(layers), key=VGG19_LAYERS.index))


class VGG19Features(nn.Module):
    """VGG-19 truncated after the deepest of ``layers``, frozen, normalizing its input.

    Build it with :func:`feature_extractor`. ``forward(images)``: float (N, 3, H, W) in [0, 1] -> a dict from each
    requested layer name to its features (N, C, H / 2**pools, W / 2**pools), in network order.

    ``name`` and ``weights_sha256`` identify the weights (``protocol()`` gives them as a stamp); the state dict
    holds only the convolutions' weights (``features.<index>.weight/bias``, torchvision's keys).
    """

    def __init__(self, state_dict: dict[str, torch.Tensor], layers: Sequence[str], name: str, weights_sha256: str) -> None:
        super().__init__()
        self.layers = check_layers(layers)
        self.name, self.weights_sha256 = name, weights_sha256
        depth = max(VGG19_LAYERS.index(layer) for layer in self.layers) + 1
        self.names = VGG19_LAYERS[:depth]
        modules: list[nn.Module] = []
        channels = 3
        for layer in self.names:
            if layer.startswith("conv"):
                width = VGG19_CONFIG[[n for n in VGG19_LAYERS if not n.startswith("relu")].index(layer)]
                modules.append(nn.Conv2d(channels, width, 3, padding=1, device="meta"))  # meta: no wasted random init
                channels = width
            elif layer.startswith("relu"):
                modules.append(nn.ReLU())  # not in place: a conv layer's output may be a requested feature
            else:
                modules.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*modules)
        wanted = {key for key in self.features.state_dict()}
        own = {key.removeprefix("features."): value.float() for key, value in state_dict.items()
               if key.removeprefix("features.") in wanted and key.startswith("features.")}
        missing = sorted(wanted - own.keys(), key=lambda k: (int(k.split(".")[0]), k))
        if missing:
            raise ValueError(f"the {name} weights lack {', '.join('features.' + k for k in missing)} (needed up to {self.names[-1]}); "
                             "expected torchvision's vgg19 state dict")
        for key, value in own.items():
            expected = tuple(self.features.state_dict()[key].shape)
            if tuple(value.shape) != expected:
                raise ValueError(f"the {name} weights have features.{key} of shape {tuple(value.shape)}, expected {expected}")
        self.features.load_state_dict(own, strict=True, assign=True)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @property
    def min_size(self) -> int:
        """The smallest image side whose deepest requested layer still has one pixel (2 ** max pools before it)."""
        return 2 ** sum(layer.startswith("pool") for layer in self.names)

    def train(self, mode: bool = True) -> VGG19Features:
        return super().train(False)  # a frozen backbone never leaves eval mode

    def protocol(self) -> dict[str, object]:
        """What identifies these features in a stamp: name, weights sha256, layers."""
        return {"extractor": self.name, "extractor_sha256": self.weights_sha256, "extractor_layers": list(self.layers)}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            hint = " (grayscale: repeat it to 3 channels, images.expand(-1, 3, -1, -1))" if isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[1] == 1 else ""
            raise ValueError(f"VGG-19 features take RGB images (N, 3, H, W) in [0, 1], got {got}{hint}")
        if min(images.shape[-2:]) < self.min_size:
            raise ValueError(f"images must be at least {self.min_size}x{self.min_size} pixels for layer {self.names[-1]}, "
                             f"got {tuple(images.shape[-2:])}")
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        features = {}
        for layer, module in zip(self.names, self.features):
            x = module(x)
            if layer in self.layers:
                features[layer] = x
        return features

    def extra_repr(self) -> str:
        return f"name={self.name!r}, layers={self.layers}"


# ---------------------------------------------------------------------------------------------
# random weights
# ---------------------------------------------------------------------------------------------
def calibration_images(generator: torch.Generator) -> torch.Tensor:
    """Seeded synthetic images, float64 (2, 3, 64, 64) in [0, 1]: uniform noise at 64, 32, ..., 4 px, upsampled
    (bilinear) and summed with amplitudes growing with the scale, so coarse structure dominates as in photos."""
    size = CALIBRATION_SIZE
    images = torch.zeros(CALIBRATION_IMAGES, 3, size, size, dtype=torch.float64)
    for octave in range(5):
        noise = torch.rand(CALIBRATION_IMAGES, 3, size >> octave, size >> octave, generator=generator, dtype=torch.float64)
        images += 2.0**octave * F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    return (images - low) / (high - low)


@functools.lru_cache(maxsize=4)
def random_weights(seed: int, depth: int) -> dict[str, torch.Tensor]:
    """The random VGG-19 weights of ``seed`` for the first ``depth`` modules, in torchvision's keys (float32).

    Layer by layer, in network order, from one generator (so a deeper network's first layers are exactly a
    shallower one's): He-normal weights, zero biases, then each filter scaled by 1 / (mean of its ReLU output
    over the calibration images and positions), computed in float64 on the already normalized earlier layers.
    That mean is floored at a tenth of the layer's median, so filters (nearly) silent on the calibration set are
    not magnified into outliers.
    """
    generator = torch.Generator().manual_seed(seed)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).view(1, 3, 1, 1)
    x = (calibration_images(generator) - mean) / std
    weights: dict[str, torch.Tensor] = {}
    channels = 3
    convs = iter(item for item in VGG19_CONFIG if item != "M")
    for index, layer in enumerate(VGG19_LAYERS[:depth]):
        if layer.startswith("conv"):
            width = next(convs)
            weight = torch.randn(width, channels, 3, 3, generator=generator) * math.sqrt(2.0 / (9 * channels))
            response = F.relu(F.conv2d(x, weight.double(), padding=1)).mean(dim=(0, 2, 3))
            # A filter barely active on the calibration images would be blown up into an outlier (~8% of conv5_1's
            # filters respond at under a tenth of the median): no filter is scaled by more than 10 / median.
            response = response.clamp(min=0.1 * float(response.median()))
            scale = (1.0 / response).float()
            weight = weight * scale.view(-1, 1, 1, 1)
            weights[f"features.{index}.weight"] = weight
            weights[f"features.{index}.bias"] = torch.zeros(width)
            x = F.conv2d(x, weight.double(), padding=1)  # what the next layer sees: the rounded, scaled weights
            channels = width
        elif layer.startswith("relu"):
            x = F.relu(x)
        else:
            x = F.max_pool2d(x, 2)
    return weights


# ---------------------------------------------------------------------------------------------
# the one entry point
# ---------------------------------------------------------------------------------------------
def _torch_hub_copy() -> Path | None:
    """torchvision's own cached copy (``torchvision.models.vgg19(weights="IMAGENET1K_V1")`` downloads it there)."""
    candidate = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_IMAGENET.filename
    return candidate if candidate.is_file() else None


def feature_extractor(
    weights: str = "random",
    layers: Sequence[str] = DEFAULT_LAYERS,
    path: str | os.PathLike | None = None,
    seed: int = 0,
    offline: bool | None = None,
) -> VGG19Features:
    """A frozen VGG-19 returning ``layers`` (see :class:`VGG19Features`).

    Args:
        weights: ``"imagenet"`` (torchvision's ImageNet weights), ``"random"`` (the random-weight extractor of
            ``seed``), or an extractor's full name as a config.json records it (``"torchvision-vgg19-imagenet"``,
            ``"vgg19-random-seed0"``).
        layers: names from ``VGG19_LAYERS``, e.g. ``("relu1_1", "relu2_1", "relu3_1", "relu4_1")``.
        path: the ImageNet weights file (torchvision's ``vgg19-dcbb9e9d.pth`` or a safetensors conversion);
            default ``$GENZOO_VGG19_WEIGHTS``, genzoo's cache, torch.hub's cache, or a download.
        offline: never download (default: ``GENZOO_OFFLINE`` / ``HF_HUB_OFFLINE``).
    """
    layers = check_layers(layers)
    depth = max(VGG19_LAYERS.index(layer) for layer in layers) + 1
    if weights in ("imagenet", IMAGENET_NAME):
        if path is None and not os.environ.get(VGG19_IMAGENET.env_var):
            path = _torch_hub_copy()
        path = resolve_weights(VGG19_IMAGENET, path, offline=offline,
                               option="feature_extractor('imagenet', path=PATH), or --vgg-weights PATH")
        state_dict, digest = load_weights(VGG19_IMAGENET, path)
        return VGG19Features(state_dict, layers, IMAGENET_NAME, digest)
    if path is not None:
        raise ValueError(f"path is for the ImageNet weights; weights={weights!r} needs no file")
    match = RANDOM_NAME.fullmatch(weights) if isinstance(weights, str) else None
    if weights == "random" or match:
        seed = int(match.group(1)) if match else seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        from genzoo.metrics.extractors import state_dict_sha256

        extractor = VGG19Features({k: v.clone() for k, v in random_weights(seed, depth).items()}, layers,
                                  random_extractor_name(seed), "")
        extractor.weights_sha256 = state_dict_sha256(extractor)  # of the tensors: there is no file to hash
        return extractor
    raise ValueError(f"weights must be 'imagenet', 'random' or an extractor name ({IMAGENET_NAME!r}, "
                     f"{random_extractor_name(0)!r}, ...), got {weights!r}")
