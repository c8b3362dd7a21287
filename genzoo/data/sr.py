"""Paired super-resolution data: HR image folders -> (bicubic-upscaled LR, HR) luma pairs, as SRCNN and VDSR make them.

The protocol (Dong et al. 2016; Kim et al. 2016): crop the HR image to a multiple of the scale
(``modcrop``), make the LR image by MATLAB's antialiased bicubic downscaling by 1/scale, upscale it back
by bicubic to the HR size; the network sees that bicubic image and learns the HR one. Everything runs on
the Y channel (BT.601) in float, like the papers' MATLAB code (no 8-bit rounding of the LR image in
training). ``make_lr`` is the one function that makes LR images, for training, ``genzoo eval`` and
``genzoo upscale --compare`` alike.

Training draws random ``patch_size`` patches (VDSR: 41x41) from the HR images and their
augmentations (VDSR: downscaled by 1.0 / 0.7 / 0.5 before anything else; each patch flipped and rotated
by a multiple of 90 degrees, which commutes with the symmetric bicubic resize when the image is a
multiple of the scale). Patch ``i`` of the set is a pure function of (``seed``, ``i``): the training set is
a fixed, seeded set of ``patches_per_epoch`` patches, as the papers' pre-extracted patch files are, and
the loader shuffles it from the global (checkpointed) random state. With several ``scales`` (VDSR's
multi-scale training) each patch has its own scale.

Validation is whole images of an HR folder (Set5), one (bicubic Y, HR Y, scale) triple per image and scale.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from genzoo.data._common import make_loader
from genzoo.data.images import list_image_files, read_image
from genzoo.imresize import imresize
from genzoo.metrics.psnr_ssim import rgb_to_y


def modcrop(image: torch.Tensor, scale: int) -> torch.Tensor:
    """``image`` (..., H, W) cropped to (H - H % scale, W - W % scale), keeping the top-left corner (MATLAB modcrop)."""
    height, width = image.shape[-2:]
    return image[..., : height - height % scale, : width - width % scale]


def make_lr(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(HR cropped to a multiple of ``scale``, its LR image): MATLAB-style bicubic downscaling by 1/scale.

    ``hr``: float (..., H, W); the LR image is (..., H // scale, W // scale), float, not clamped or rounded.
    """
    if min(hr.shape[-2:]) < scale:
        raise ValueError(f"an image of {tuple(hr.shape[-2:])} pixels is too small for scale {scale}")
    cropped = modcrop(hr, scale)
    return cropped, imresize(cropped, scale=1.0 / scale)


def read_y(path: str | os.PathLike) -> torch.Tensor:
    """The luma of an image file: (1, H, W) float Y / 255 (BT.601 on the 0-255 scale divided by 255)."""
    rgb = read_image(path, channels=3, image_size=None).double()
    return (rgb_to_y(rgb[None])[0] / 255.0).float()


def dihedral(image: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a (..., H, W) tensor: rotate by k % 4 quarter turns, flip if k >= 4."""
    image = torch.rot90(image, k % 4, dims=(-2, -1))
    return image.flip(-1) if k >= 4 else image


class SRPatches(Dataset):
    """A fixed, seeded set of ``length`` training patches: items (bicubic Y, HR Y) of (1, P, P) and the scale.

    ``pairs`` holds, per (image, augmentation, scale), the whole bicubic and HR luma images.
    """

    def __init__(self, pairs: list[tuple[torch.Tensor, torch.Tensor, int]], patch_size: int, length: int, seed: int, augment: bool) -> None:
        self.pairs = [p for p in pairs if min(p[1].shape[-2:]) >= patch_size]
        if not self.pairs:
            raise ValueError(f"no training image is at least {patch_size}x{patch_size} pixels")
        self.patch_size, self.length, self.seed, self.augment = patch_size, length, seed, augment
        # Images are drawn in proportion to their number of patch positions, as with dense patch extraction.
        positions = torch.tensor([(h - patch_size + 1) * (w - patch_size + 1) for _, (_, h, w), _ in
                                  ((b, hr.shape, s) for b, hr, s in self.pairs)], dtype=torch.float64)
        self.cumulative = positions.cumsum(0)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        draw = torch.rand(1, generator=generator, dtype=torch.float64) * self.cumulative[-1]
        which = int(torch.searchsorted(self.cumulative, draw, right=True).clamp(max=len(self.pairs) - 1))
        bicubic, hr, scale = self.pairs[which]
        size = self.patch_size
        top = int(torch.randint(0, hr.shape[-2] - size + 1, (1,), generator=generator))
        left = int(torch.randint(0, hr.shape[-1] - size + 1, (1,), generator=generator))
        k = int(torch.randint(0, 8, (1,), generator=generator)) if self.augment else 0
        crop = (..., slice(top, top + size), slice(left, left + size))
        return dihedral(bicubic[crop], k).contiguous(), dihedral(hr[crop], k).contiguous(), scale


class SRImages(Dataset):
    """Whole images for validation: (bicubic Y (1, H, W), HR Y (1, H, W), scale), HR cropped to a multiple of scale."""

    def __init__(self, files: list[Path], scales: list[int]) -> None:
        self.items = []
        for scale in scales:
            for path in files:
                hr, lr = make_lr(read_y(path).double(), scale)
                self.items.append((imresize(lr, scale=scale).float(), hr.float(), scale))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.items[index]


class SRDataModule(L.LightningDataModule):
    """Paired SR training data from HR image folders, and whole-image validation.

    Args:
        train_dirs: folders of HR training images (the 291 set: ``sr/T91`` and ``sr/BSD200``), relative to ``data_dir``.
        val_dir: folder of HR validation images (``sr/Set5``), relative to ``data_dir``; None: no validation.
        data_dir: the data root (``../shared/data``).
        scales: the upscaling factors (VDSR: [2, 3, 4]; SRCNN: one).
        patch_size: side of the training patches (VDSR 41; SRCNN 33).
        patches_per_epoch: size of the fixed, seeded patch set (one epoch).
        augment_downscales: factors each HR image is also bicubic-downscaled by (VDSR: [1.0, 0.7, 0.5]).
        augment: random flips and 90-degree rotations of the patches.
        batch_size, num_workers, seed: loader settings; ``seed`` fixes the patch set.
    """

    def __init__(
        self,
        train_dirs: list[str] = ("sr/T91", "sr/BSD200"),
        val_dir: str | None = "sr/Set5",
        data_dir: str = "data",
        scales: list[int] = (2, 3, 4),
        patch_size: int = 41,
        patches_per_epoch: int = 8192,
        augment_downscales: list[float] = (1.0, 0.7, 0.5),
        augment: bool = True,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train_dirs, self.val_dir, self.data_dir = list(train_dirs), val_dir, data_dir
        self.scales = [int(s) for s in scales]
        if any(s not in (2, 3, 4) for s in self.scales):
            raise ValueError(f"scales must be among 2, 3, 4; got {self.scales}")
        self.patch_size, self.patches_per_epoch = patch_size, patches_per_epoch
        self.augment_downscales, self.augment = [float(f) for f in augment_downscales], augment
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.train_set: SRPatches | None = None
        self.val_set: SRImages | None = None

    def _path(self, folder: str) -> Path:
        return Path(self.data_dir) / folder

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit") and self.train_set is None:
            pairs = []
            files = [f for folder in self.train_dirs for f in list_image_files(self._path(folder))]
            for path in tqdm(files, desc="SR training pairs", leave=False):
                y = read_y(path).double()
                for factor in self.augment_downscales:
                    image = y if factor == 1.0 else imresize(y, scale=factor)
                    for scale in self.scales:
                        hr, lr = make_lr(image, scale)
                        pairs.append((imresize(lr, scale=scale).float(), hr.float(), scale))
            self.train_set = SRPatches(pairs, self.patch_size, self.patches_per_epoch, self.seed, self.augment)
        if stage in (None, "fit", "validate") and self.val_set is None and self.val_dir is not None:
            self.val_set = SRImages(list_image_files(self._path(self.val_dir)), self.scales)

    def train_dataloader(self) -> DataLoader:
        return make_loader(self.train_set, self.batch_size, self.num_workers, train=True)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=1, shuffle=False, num_workers=0)
