"""Data for the texture and style family: one texture example, and content photos x style images.

* :class:`TextureDataModule` (texture networks): every batch is the one example texture, (1, 3, h, w) at its own
  size (or rescaled to ``example_size``). Its Gram matrices are the training target; the network's samples are
  ``image_size`` x ``image_size`` (``image_shape``, linked into the task), a size the example need not have: Gram
  matrices are averages over positions. An "epoch" is ``steps_per_epoch`` batches.
* :class:`ContentStyleDataModule` (transform networks, AdaIN): batches ``(content, style)`` of ``batch_size`` random
  ``crop_size`` crops of content photos (resized to ``load_size``, centre square) and, for each, a random crop of a
  random style image (a style folder, or a single style file for a per-style transform network). The crops, flips
  and style choices draw from torch's global random state (seeded by ``seed_everything``, saved by genzoo's tasks).

Images are float in [0, 1] (the VGG features' input), RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import InterpolationMode, resize

from genzoo.data._common import make_loader, to_value_range
from genzoo.data.images import IMAGE_EXTENSIONS, list_image_files, read_image
from genzoo.data.translation import check_sizes, random_crop_and_flip, read_images

UNIT_RANGE = (0.0, 1.0)


def style_files(style: str | os.PathLike) -> list[Path]:
    """A style image file as a one-item list, or every image of a style folder (sorted); clear errors otherwise."""
    path = Path(style)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"style {path} is not an image file ({', '.join(IMAGE_EXTENSIONS)})")
        return [path]
    if path.is_dir():
        return list_image_files(path)
    raise FileNotFoundError(f"style {path} is neither an image file nor a folder of images")


def read_texture(path: str | os.PathLike, example_size: int | None = None) -> torch.Tensor:
    """A texture example as uint8 (3, h, w): at its own size, or scaled (bicubic, antialiased, aspect kept) so its
    shorter side is ``example_size``."""
    image = read_image(path, 3, None)
    if example_size is not None:
        image = resize(image, example_size, interpolation=InterpolationMode.BICUBIC, antialias=True)  # int: the shorter side
    return image.contiguous()


class RepeatedImage(Dataset):
    """The same image ``length`` times, as (image in [0, 1], label 0)."""

    def __init__(self, image_uint8: torch.Tensor, length: int) -> None:
        self.image, self.length = to_value_range(image_uint8, UNIT_RANGE), length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image, torch.tensor(0)


class TextureDataModule(L.LightningDataModule):
    """One texture example for a texture network (see the module docstring).

    Args:
        texture: the example image file, e.g. ``../shared/data/textures/brick.png``.
        image_size: the side of the samples the network is trained to make (``image_shape``).
        example_size: rescale the example so its shorter side is this (None: its own size; the texture's scale
            relative to the VGG receptive fields is what the network learns).
        steps_per_epoch: batches per epoch (each is the example).
    """

    def __init__(self, texture: str, image_size: int = 128, example_size: int | None = None, steps_per_epoch: int = 100,
                 num_workers: int = 0) -> None:
        super().__init__()
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        if image_size < 1 or (example_size is not None and example_size < 1):
            raise ValueError(f"image_size and example_size must be >= 1, got {image_size}, {example_size}")
        self.texture, self.image_size, self.example_size = texture, image_size, example_size
        self.steps_per_epoch, self.num_workers = steps_per_epoch, num_workers
        self.data_dir = texture  # what the training record names as the data
        self.example: torch.Tensor | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.image_size, self.image_size)

    def setup(self, stage: str | None = None) -> None:
        if self.example is None:
            if not Path(self.texture).is_file():
                raise FileNotFoundError(f"texture example {self.texture} does not exist")
            self.example = read_texture(self.texture, self.example_size)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(RepeatedImage(self.example, self.steps_per_epoch), batch_size=1, num_workers=self.num_workers)


class ContentStyleImages(Dataset):
    """(content crop, style crop): content ``index``, a random style; both randomly cropped (and flipped)."""

    def __init__(self, content: torch.Tensor, styles: torch.Tensor, crop_size: int, flip: bool) -> None:
        self.content, self.styles, self.crop_size, self.flip = content, styles, crop_size, flip

    def __len__(self) -> int:
        return len(self.content)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        (content,) = random_crop_and_flip([self.content[index]], self.crop_size, self.flip)
        style = self.styles[int(torch.randint(len(self.styles), ()))] if len(self.styles) > 1 else self.styles[0]
        (style,) = random_crop_and_flip([style], self.crop_size, self.flip)
        return to_value_range(content, UNIT_RANGE), to_value_range(style, UNIT_RANGE)


class ContentStyleDataModule(L.LightningDataModule):
    """Content photos x style images (see the module docstring).

    Args:
        content_dir: a folder of photos (recursive), e.g. ``../shared/data/horse2zebra-128`` or ``../shared/data/sr``.
        style: a style image file (a per-style transform network) or a folder of them (AdaIN), e.g.
            ``../shared/data/style/style``.
        load_size, crop_size: photos are centre-cropped to a square, resized to load_size, randomly cropped to crop_size.
        style_load_size: the same for the style images (default ``load_size``).
        preview_dir: photos for the preview figures (default: the first content photos), e.g. ``../shared/data/style/content``.
    """

    def __init__(self, content_dir: str, style: str, load_size: int = 160, crop_size: int = 128,
                 style_load_size: int | None = None, flip: bool = True, batch_size: int = 4, num_workers: int = 0,
                 preview_dir: str | None = None) -> None:
        super().__init__()
        check_sizes(load_size, crop_size)
        check_sizes(style_load_size or load_size, crop_size)
        self.data_dir, self.style, self.load_size, self.crop_size = content_dir, style, load_size, crop_size
        self.style_load_size, self.flip, self.batch_size, self.num_workers = style_load_size or load_size, flip, batch_size, num_workers
        self.preview_dir = preview_dir
        self.train_set: ContentStyleImages | None = None
        self.preview_content = self.preview_styles = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.crop_size, self.crop_size)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        content_files = list_image_files(self.data_dir)
        styles = style_files(self.style)
        content = read_images(content_files, 3, self.load_size, crop="center", what=str(self.data_dir))
        style_images = read_images(styles, 3, self.style_load_size, crop="center", what=str(self.style))
        self.train_set = ContentStyleImages(content, style_images, self.crop_size, self.flip)
        preview_files = list_image_files(self.preview_dir)[:16] if self.preview_dir else content_files[:16]
        self.preview_content = read_images(preview_files, 3, self.crop_size, crop="center")
        self.preview_styles = read_images(styles[:16], 3, self.crop_size, crop="center")

    def train_dataloader(self) -> DataLoader:
        if len(self.train_set) < self.batch_size:
            raise ValueError(f"{self.data_dir}: {len(self.train_set)} content images, fewer than one batch of {self.batch_size}")
        return make_loader(self.train_set, self.batch_size, self.num_workers, train=True)

    def preview_inputs(self, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``num`` fixed content photos and, for each, a fixed style image (cycling through the styles), in [0, 1]."""
        if self.preview_content is None:
            self.setup("fit")
        content = self.preview_content[[i % len(self.preview_content) for i in range(num)]]
        styles = self.preview_styles[[i % len(self.preview_styles) for i in range(num)]]
        return to_value_range(content, UNIT_RANGE), to_value_range(styles, UNIT_RANGE)
