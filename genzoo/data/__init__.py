"""LightningDataModules shared by every family. Each yields (images, labels) batches in a stated value range."""

from genzoo.data.images import ImageFolderDataModule, celeba_datamodule, list_image_files, read_image
from genzoo.data.mnist import MNISTDataModule
from genzoo.data.sr import SRDataModule
from genzoo.data.style import ContentStyleDataModule, TextureDataModule
from genzoo.data.translation import EdgesToFacesDataModule, PairedImageDataModule, UnpairedImageDataModule, edge_image, edge_map

__all__ = ["MNISTDataModule", "ImageFolderDataModule", "celeba_datamodule", "list_image_files", "read_image", "SRDataModule",
           "UnpairedImageDataModule", "PairedImageDataModule", "EdgesToFacesDataModule", "edge_map", "edge_image",
           "TextureDataModule", "ContentStyleDataModule"]
