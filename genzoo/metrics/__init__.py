"""Metrics for generative image models, each number stamped with the protocol that produced it.

    >>> from genzoo.metrics import FID, MNISTClassifierExtractor
    >>> fid = FID(MNISTClassifierExtractor())            # offline MNIST FID, labelled with the extractor
    >>> fid.update(real_images, real=True)               # float (N, 1, 28, 28) in [0, 1]
    >>> fid.update(network.to_unit_range(fakes), real=False)
    >>> print(fid.result(reference="mnist", reference_split="test", seed=0))

Every metric is a torchmetrics ``Metric`` (states reduce across DDP ranks) whose ``result(...)``
returns a :class:`MetricResult`: value + protocol stamp, in the registry / model-card format.
Inputs are float images (N, C, H, W) in [0, 1]; they are quantized to 8 bits as a saved PNG would be.

=====================  =======================================================  ==================
metric                 what                                                     needs weights
=====================  =======================================================  ==================
FID, KID, InceptionScore  feature statistics of a pluggable extractor           extractor's
SWD                    sliced Wasserstein on Laplacian patches (ProGAN)         none
MSSSIMDiversity        mean MS-SSIM of sample pairs                             none
MSSSIM                 mean MS-SSIM of outputs against references (pix2pix)     none
LPIPS, LPIPSDiversity  learned perceptual distance (lpips heads)                ImageNet trunk
PSNR, SSIM             super-resolution protocol (Y channel, border crop)       none
NLL                    likelihood bounds in nats and bits/dim                   none
ReconstructionL1       mean |x - reconstruct(x)| of encoder-decoder models      none
ClassifierConfidence   mean max-softmax of a classifier (MNIST interpolations)  extractor's
=====================  =======================================================  ==================

``genzoo eval`` (``genzoo.evaluate``) runs them on a checkpoint with cached reference statistics.
Importing this package downloads nothing.
"""

from genzoo.metrics.confidence import ClassifierConfidence
from genzoo.metrics.downloads import WeightsUnavailableError
from genzoo.metrics.extractors import (
    EXTRACTORS,
    FeatureExtractor,
    InceptionV3Extractor,
    MNISTClassifierExtractor,
    RandomFeatureExtractor,
    get_extractor,
    register_extractor,
)
from genzoo.metrics.fid import FID, KID, InceptionScore, frechet_distance
from genzoo.metrics.mnist_classifier import MNISTClassifier
from genzoo.metrics.msssim import MSSSIMDiversity, ms_ssim
from genzoo.metrics.nll import NLL, bits_per_dim, dequantization_offset
from genzoo.metrics.perceptual import LPIPS, LPIPSDiversity
from genzoo.metrics.protocol import STAMP_FIELDS, MetricResult, StampedMetric, protocol_stamp
from genzoo.metrics.psnr_ssim import MSSSIM, PSNR, SSIM, rgb_to_y
from genzoo.metrics.reconstruction import ReconstructionL1
from genzoo.metrics.swd import SWD

__all__ = [
    "FID",
    "KID",
    "InceptionScore",
    "SWD",
    "MSSSIM",
    "MSSSIMDiversity",
    "LPIPS",
    "LPIPSDiversity",
    "PSNR",
    "SSIM",
    "NLL",
    "ReconstructionL1",
    "ClassifierConfidence",
    "MetricResult",
    "StampedMetric",
    "STAMP_FIELDS",
    "protocol_stamp",
    "FeatureExtractor",
    "InceptionV3Extractor",
    "MNISTClassifierExtractor",
    "RandomFeatureExtractor",
    "MNISTClassifier",
    "EXTRACTORS",
    "get_extractor",
    "register_extractor",
    "WeightsUnavailableError",
    "frechet_distance",
    "ms_ssim",
    "rgb_to_y",
    "bits_per_dim",
    "dequantization_offset",
]
