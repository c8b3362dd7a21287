"""Two-domain image data for translation: unpaired folders (CycleGAN), paired folders and edges -> faces (pix2pix).

Every module here yields batches ``(a, b)``: images of domain A and of domain B, float (N, C, S, S) in the
module's ``value_range``. Unpaired: b is a random B image, unrelated to a. Paired: b is a's true output.

The folder layout is the one CycleGAN's datasets ship in (horse2zebra, monet2photo, ...)::

    data_dir/trainA/*.jpg   data_dir/trainB/*.jpg   data_dir/testA/*.jpg   data_dir/testB/*.jpg

Images of any size are resized (bicubic) to ``load_size`` x ``load_size`` and, for training, randomly
cropped to ``crop_size`` and flipped left-right with probability 1/2, as the papers' code does (286 -> 256
for 256 px data; 143 -> 128 for 128 px). Test images are resized to ``crop_size``, without randomness.
The random crops, flips and B partners come from torch's global random state, which ``seed_everything``
seeds and genzoo's tasks save in their checkpoints: a run is reproducible, and a resumed run draws what the
uninterrupted one would (with ``num_workers`` > 0, each worker's state is seeded from it by the loader).

``edge_map`` is the deterministic operator that makes pix2pix's inputs from faces (``EdgesToFacesDataModule``),
so anyone can make the same inputs from their own photos.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from genzoo.data._common import check_value_range, make_loader, to_value_range
from genzoo.data.images import CROPS, list_image_files, read_image

TRAIN_FOLDERS = ("trainA", "trainB")
TEST_FOLDERS = ("testA", "testB")
LAYOUT = "trainA/, trainB/ (and testA/, testB/ for evaluation), one domain per folder, as CycleGAN's datasets"

# ---------------------------------------------------------------------------------------------
# the edge operator (pix2pix inputs)
# ---------------------------------------------------------------------------------------------
#: Luma weights of R, G, B (ITU-R BT.601), for images in [0, 1].
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: The 3x3 binomial blur (a small Gaussian, sigma ~0.7 px) applied before the gradient, against JPEG noise.
BLUR_3X3 = ((1.0, 2.0, 1.0), (2.0, 4.0, 2.0), (1.0, 2.0, 1.0))
#: Sobel's horizontal derivative, divided by 4 so that a luma step of height s gives a magnitude of s.
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
#: A pixel is an edge where the gradient magnitude of the blurred luma exceeds this (luma in [0, 1]).
EDGE_THRESHOLD = 0.12


def edge_map(images: torch.Tensor, threshold: float = EDGE_THRESHOLD) -> torch.Tensor:
    """The edges of RGB images: uint8 (N, 3, H, W) in 0-255 or float in [0, 1] -> float (N, 1, H, W), 1 at edges, else 0.

    The operator, in float64 so that it gives the same pixels everywhere:

    1. luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601), in [0, 1];
    2. blur with the 3x3 binomial kernel [1 2 1]^T [1 2 1] / 16;
    3. Sobel gradients gx, gy (divided by 4: a step of height s gives s), magnitude sqrt(gx^2 + gy^2);
    4. edge where the magnitude > ``threshold`` (0.12: a luma change of 12% of the range per pixel; chosen by eye
       on celeba-10k at 64 px, where it marks ~24% of the pixels: eyes, mouth, face and hair outlines).

    Borders are replicated, so the map has the image's size, and it commutes with a left-right flip.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"edge_map takes RGB images (N, 3, H, W), got {got}")
    if min(images.shape[-2:]) < 3:
        raise ValueError(f"edge_map needs images of at least 3x3 pixels, got {tuple(images.shape[-2:])}")
    rgb = images.double() / 255.0 if images.dtype == torch.uint8 else images.double()
    luma = (rgb * torch.tensor(LUMA_WEIGHTS, dtype=torch.float64).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    blur = torch.tensor(BLUR_3X3, dtype=torch.float64).view(1, 1, 3, 3) / 16.0
    luma = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), blur)
    sobel_x = torch.tensor(SOBEL_X, dtype=torch.float64).view(1, 1, 3, 3) / 4.0
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, sobel_x), F.conv2d(padded, sobel_x.transpose(-1, -2))
    return (torch.sqrt(gx * gx + gy * gy) > threshold).to(images.dtype if images.is_floating_point() else torch.float32)


def edge_image(images_uint8: torch.Tensor, threshold: float = EDGE_THRESHOLD) -> torch.Tensor:
    """pix2pix's input for a face: black edges on white, uint8 (N, 3, H, W) (the three channels equal), like
    the sketch datasets of the paper (edges2shoes, edges2handbags)."""
    edges = edge_map(images_uint8, threshold)
    return ((1.0 - edges) * 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()


# ---------------------------------------------------------------------------------------------
# files and augmentation
# ---------------------------------------------------------------------------------------------
def domain_files(data_dir: str | os.PathLike, folder: str) -> list[Path]:
    """The images of one domain folder (sorted); clear errors for a missing or an empty folder."""
    path = Path(data_dir) / folder
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"data_dir {data_dir} does not exist (a two-domain folder holds {LAYOUT})")
    if not path.is_dir():
        present = sorted(p.name for p in Path(data_dir).iterdir() if p.is_dir())
        raise FileNotFoundError(
            f"{path} does not exist: a two-domain folder holds {LAYOUT}; {data_dir} has {present or 'no folders'}"
        )
    return list_image_files(path)  # raises when the folder holds no images


def read_images(files: list[Path], channels: int, size: int, crop: str = "none", what: str = "") -> torch.Tensor:
    """uint8 (N, C, size, size): each file read, cropped by ``crop`` and resized (bicubic) to a square."""
    iterator = tqdm(files, desc=f"decoding {what}", leave=False, disable=len(files) < 200)
    return torch.stack([read_image(path, channels, size, crop) for path in iterator])


def random_crop_and_flip(images: list[torch.Tensor], crop_size: int, flip: bool) -> list[torch.Tensor]:
    """The same random ``crop_size`` crop and (with ``flip``, probability 1/2) left-right flip of every image
    (C, H, W) of ``images`` (one image, or a pair that must stay aligned); global random state."""
    height, width = images[0].shape[-2:]
    top = int(torch.randint(0, height - crop_size + 1, ()))
    left = int(torch.randint(0, width - crop_size + 1, ()))
    mirror = flip and bool(torch.rand(()) < 0.5)
    out = [image[:, top : top + crop_size, left : left + crop_size] for image in images]
    return [image.flip(-1) if mirror else image for image in out]


def check_sizes(load_size: int, crop_size: int) -> None:
    if crop_size < 1 or load_size < crop_size:
        raise ValueError(f"need load_size >= crop_size >= 1 (resize, then crop), got load_size {load_size}, crop_size {crop_size}")


class UnpairedImages(Dataset):
    """(a, b) with a = A[i] and b a random B image (redrawn every time, as in CycleGAN's code), both randomly
    cropped and flipped; ``len`` is that of the larger domain, so an epoch sees every image of both."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, crop_size: int, flip: bool, value_range: tuple[float, float]) -> None:
        self.a, self.b, self.crop_size, self.flip, self.value_range = a, b, crop_size, flip, value_range

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.a[index % len(self.a)]
        b = self.b[index % len(self.b)] if len(self.b) > len(self.a) else self.b[int(torch.randint(len(self.b), ()))]
        (a,) = random_crop_and_flip([a], self.crop_size, self.flip)
        (b,) = random_crop_and_flip([b], self.crop_size, self.flip)
        return to_value_range(a, self.value_range), to_value_range(b, self.value_range)


class PairedImages(Dataset):
    """(input, target) pairs, cropped and flipped together (when ``crop_size`` and ``flip`` say so)."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, crop_size: int | None, flip: bool,
                 value_range: tuple[float, float]) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
        self.inputs, self.targets, self.crop_size, self.flip, self.value_range = inputs, targets, crop_size, flip, value_range

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pair = [self.inputs[index], self.targets[index]]
        if self.crop_size is not None or self.flip:
            pair = random_crop_and_flip(pair, self.crop_size or pair[0].shape[-1], self.flip)
        return to_value_range(pair[0], self.value_range), to_value_range(pair[1], self.value_range)


class TwoDomainDataModule(L.LightningDataModule):
    """What the translation data modules share: batches (a, b), ``image_shape``, fixed test inputs for previews."""

    train_set: Dataset | None
    test_a: torch.Tensor | None  # uint8 test images of domain A (N, C, S, S), and of B
    test_b: torch.Tensor | None

    def __init__(self, data_dir: str, channels: int, batch_size: int, num_workers: int, value_range: tuple[float, float]) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.data_dir, self.channels, self.batch_size, self.num_workers = data_dir, channels, batch_size, num_workers
        self.value_range = check_value_range(value_range)
        self.train_set = self.test_a = self.test_b = None

    #: The side of the square training images (the random crop's, or the pairs'), set by each module.
    image_size: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, size, size) of the training images, linked into the task by the CLI."""
        return (self.channels, self.image_size, self.image_size)

    def set_crops(self, load_size: int, crop_size: int, flip: bool) -> None:
        """Folder modules: resize to ``load_size``, random ``crop_size`` crops, random flips (checked)."""
        check_sizes(load_size, crop_size)
        self.load_size, self.crop_size, self.flip = load_size, crop_size, flip
        self.image_size = crop_size

    def train_dataloader(self) -> DataLoader:
        if len(self.train_set) < self.batch_size:
            raise ValueError(f"{self.data_dir}: {len(self.train_set)} training images, fewer than one batch of {self.batch_size}")
        return make_loader(self.train_set, self.batch_size, self.num_workers, train=True)

    def val_dataloader(self) -> list:
        return []  # GAN training has no validation loss; previews and `genzoo eval` use the test split

    def preview_inputs(self, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``num`` test images of each domain (fixed, for sample grids), in ``value_range``."""
        if self.test_a is None:
            self.setup("fit")
        return to_value_range(self.test_a[:num], self.value_range), to_value_range(self.test_b[:num], self.value_range)


class UnpairedImageDataModule(TwoDomainDataModule):
    """Unpaired two-domain folders for CycleGAN: ``data_dir`` holds trainA/, trainB/ and, optionally, testA/, testB/.

    Args:
        data_dir: e.g. ``../shared/data/horse2zebra-128``.
        load_size, crop_size: training images are resized to load_size, then randomly cropped to crop_size.
        flip: random left-right flips in training.
        channels: 3 (RGB) or 1.
        batch_size: 1 in the paper.
    Without testA/testB the previews use the first training images, resized to crop_size.
    """

    def __init__(self, data_dir: str, load_size: int = 143, crop_size: int = 128, flip: bool = True, channels: int = 3,
                 batch_size: int = 1, num_workers: int = 0, value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        super().__init__(data_dir, channels, batch_size, num_workers, value_range)
        self.set_crops(load_size, crop_size, flip)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        a_files, b_files = (domain_files(self.data_dir, folder) for folder in TRAIN_FOLDERS)
        a = read_images(a_files, self.channels, self.load_size, what=f"{self.data_dir}/trainA")
        b = read_images(b_files, self.channels, self.load_size, what=f"{self.data_dir}/trainB")
        self.train_set = UnpairedImages(a, b, self.crop_size, self.flip, self.value_range)
        if all((Path(self.data_dir) / folder).is_dir() for folder in TEST_FOLDERS):
            self.test_a, self.test_b = (read_images(domain_files(self.data_dir, folder), self.channels, self.crop_size)
                                        for folder in TEST_FOLDERS)
        else:
            self.test_a, self.test_b = (read_images(files[:16], self.channels, self.crop_size) for files in (a_files, b_files))


def paired_files(data_dir: str | os.PathLike, folders: tuple[str, str]) -> tuple[list[Path], list[Path]]:
    """The files of two folders paired by name (``a/x.jpg`` with ``b/x.png``); a clear error naming unmatched files."""
    a_files, b_files = (domain_files(data_dir, folder) for folder in folders)
    a_names, b_names = {p.stem: p for p in a_files}, {p.stem: p for p in b_files}
    only_a, only_b = sorted(a_names.keys() - b_names.keys()), sorted(b_names.keys() - a_names.keys())
    if only_a or only_b:
        raise ValueError(
            f"{data_dir}: {folders[0]} and {folders[1]} must hold pairs with the same file names; "
            f"{len(only_a)} only in {folders[0]} (e.g. {only_a[:3]}), {len(only_b)} only in {folders[1]} (e.g. {only_b[:3]})"
        )
    names = sorted(a_names)
    return [a_names[n] for n in names], [b_names[n] for n in names]


class PairedImageDataModule(TwoDomainDataModule):
    """Paired folders for pix2pix: trainA/x.jpg is the input whose true output is trainB/x.jpg (the same name);
    testA/testB (optional) likewise. Pairs are resized to load_size, then cropped and flipped together.

    Args as :class:`UnpairedImageDataModule` (pix2pix: batch 1 to 10 in the paper).
    """

    def __init__(self, data_dir: str, load_size: int = 286, crop_size: int = 256, flip: bool = True, channels: int = 3,
                 batch_size: int = 1, num_workers: int = 0, value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        super().__init__(data_dir, channels, batch_size, num_workers, value_range)
        self.set_crops(load_size, crop_size, flip)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        a_files, b_files = paired_files(self.data_dir, TRAIN_FOLDERS)
        a, b = (read_images(files, self.channels, self.load_size) for files in (a_files, b_files))
        self.train_set = PairedImages(a, b, self.crop_size, self.flip, self.value_range)
        if all((Path(self.data_dir) / folder).is_dir() for folder in TEST_FOLDERS):
            test_files = paired_files(self.data_dir, TEST_FOLDERS)
        else:
            test_files = (a_files[:16], b_files[:16])
        self.test_a, self.test_b = (read_images(files, self.channels, self.crop_size) for files in test_files)


class EdgesToFacesDataModule(TwoDomainDataModule):
    """pix2pix pairs made from one folder of photos: input = ``edge_image(face)``, target = the face.

    The faces are read as ``ImageFolderDataModule`` reads them (sorted files, ``crop`` box, bicubic resize to
    ``image_size``); the last ``test_size`` files (sorted order) are held out for previews and evaluation
    (``genzoo eval``'s default split for pix2pix, ``last:500``, is the same). Training flips each pair left-right with probability 1/2
    (the edge operator commutes with the flip); aligned faces need no random crops.

    Args:
        data_dir: a folder of face photos, e.g. ``../shared/data/celeba-10k``.
        image_size: side of the square pairs (64).
        crop: ``"celeba"`` (the aligned-CelebA face box, as dcgan-celeba), ``"center"`` or ``"none"``.
        threshold: the edge operator's threshold (see :func:`edge_map`).
    """

    def __init__(self, data_dir: str, image_size: int = 64, crop: str = "celeba", test_size: int = 500, flip: bool = True,
                 threshold: float = EDGE_THRESHOLD, batch_size: int = 16, num_workers: int = 0,
                 value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        super().__init__(data_dir, 3, batch_size, num_workers, value_range)
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        if test_size < 1:
            raise ValueError(f"test_size must be >= 1 (the held-out faces), got {test_size}")
        self.image_size, self.crop, self.test_size, self.flip, self.threshold = image_size, crop, test_size, flip, threshold

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        files = list_image_files(self.data_dir)
        if len(files) <= self.test_size:
            raise ValueError(f"{self.data_dir} holds {len(files)} images: not enough to hold out test_size {self.test_size}")
        faces = read_images(files, 3, self.image_size, self.crop, what=str(self.data_dir))
        edges = edge_image(faces, self.threshold)
        train = slice(0, len(files) - self.test_size)
        test = slice(len(files) - self.test_size, None)
        self.train_set = PairedImages(edges[train], faces[train], None, self.flip, self.value_range)
        self.test_a, self.test_b = edges[test], faces[test]
