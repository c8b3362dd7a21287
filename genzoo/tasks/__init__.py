"""Training tasks: one LightningModule per family (losses, optimizers, the training step)."""

from genzoo.tasks._base import GenerativeTask
from genzoo.tasks.classifier import ClassifierTask
from genzoo.tasks.dcgan import DCGANTask
from genzoo.tasks.draw import DRAWTask
from genzoo.tasks.wgan import WGANTask

__all__ = ["GenerativeTask", "DCGANTask", "WGANTask", "DRAWTask", "ClassifierTask"]
from genzoo.tasks.ian import IANTask  # noqa: F401  (IAN family)
from genzoo.tasks.interpolator import InterpolatorTask  # noqa: F401  (transformation-based interpolation)
from genzoo.tasks.sr import SRTask  # noqa: F401  (super-resolution: SRCNN, VDSR)
from genzoo.tasks.stylegan import StyleGANTask  # noqa: F401  (StyleGAN-lite)
from genzoo.tasks.translation import CycleGANTask, Pix2PixTask  # noqa: F401  (image-to-image: CycleGAN, pix2pix)
from genzoo.tasks.style import AdaINTask, TextureNetTask, TransformNetTask  # noqa: F401  (texture and style family)
