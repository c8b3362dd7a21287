"""genzoo: classic generative image models with pretrained checkpoints, on PyTorch Lightning.

    >>> import genzoo
    >>> genzoo.list_models("*mnist*")
    >>> model = genzoo.load("dcgan-mnist")
    >>> images = model.sample(16, seed=0)

Importing genzoo has no side effects: nothing is downloaded and no hardware is touched.
"""

__version__ = "0.1.0"

from genzoo._registry import UnknownModelError, list_models
from genzoo.hub import CheckpointError, load, model_info

__all__ = ["__version__", "load", "list_models", "model_info", "UnknownModelError", "CheckpointError"]
