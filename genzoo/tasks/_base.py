"""What every genzoo training task shares: resumable randomness, a deliberate DDP check, EMA, export.

A task is a LightningModule that owns the losses, optimizers and training step of one family and
holds its network in ``self.net`` (a ``GenerativeNetwork``). The callbacks in ``genzoo.callbacks``
rely on two methods of this base: ``preview`` (images for sample grids) and ``export_network`` (the
network to save as a Hub folder).
"""

from __future__ import annotations

import copy
import random
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genzoo.models._base import GenerativeNetwork

RNG_KEY = "genzoo_rng_state"


def make_ema(module: nn.Module, decay: float | None) -> AveragedModel | None:
    """An exponential moving average of ``module`` (weights and batch-norm statistics), or None."""
    if decay is None:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
    ema = AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    # The copy is never trained: keep it out of autograd (and so out of DDP's gradient bookkeeping).
    ema.requires_grad_(False)
    return ema


class GenerativeTask(L.LightningModule):
    """Base of the training tasks. Subclasses build ``self.net`` and, optionally, ``self.ema``
    (an EMA of the part of ``self.net`` that ``ema_target`` names)."""

    family: str = ""
    value_range: tuple[float, float] = (-1.0, 1.0)  # of the images the network produces
    net: GenerativeNetwork
    ema: AveragedModel | None  # set in __init__: a class-level default would shadow the registered submodule
    ema_target: str = "generator"
    #: Adversarial tasks leave one network's parameters unused in each update, which plain DDP cannot handle.
    needs_unused_parameter_detection: bool = True

    def __init__(self, name: str | None = None, init_from: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.init_from = init_from
        self.ema = None

    # ---- building -------------------------------------------------------------------------
    def load_pretrained_weights(self) -> None:
        """Start from a released genzoo checkpoint (fine-tuning); shapes must match exactly."""
        if self.init_from is None:
            return
        from genzoo.hub import load

        pretrained = load(self.init_from)
        self.net.load_state_dict(pretrained.state_dict(), strict=True)

    # ---- randomness -----------------------------------------------------------------------
    def step_generator(self) -> torch.Generator:
        """A CPU generator seeded from (run seed, global step, rank).

        Noise drawn from it depends only on where training is, not on what ran before, so a resumed
        run draws exactly the noise the uninterrupted run would, and each DDP rank draws its own.
        """
        seed = (torch.initial_seed() * 1_000_003 + self.global_step * 9_973 + self.global_rank) % (2**63)
        return torch.Generator().manual_seed(seed)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning restores weights, optimizers, schedulers and counters; the global random state
        # (which shuffles the data) is ours to keep, so that a resumed run sees the same batches.
        # Only tensors and plain Python values, so the checkpoint still loads with torch.load(weights_only=True).
        name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
        state = {
            "torch": torch.get_rng_state(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gaussian],
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        checkpoint[RNG_KEY] = state

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(RNG_KEY)
        if state is None:
            return
        torch.set_rng_state(state["torch"])
        name, keys, position, has_gauss, cached_gaussian = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian))
        random.setstate(state["python"])
        if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])

    # ---- distributed ----------------------------------------------------------------------
    def on_fit_start(self) -> None:
        model = self.trainer.model
        if (
            self.needs_unused_parameter_detection
            and isinstance(model, DistributedDataParallel)
            and not model.find_unused_parameters
        ):
            raise RuntimeError(
                f"{type(self).__name__} updates its networks in turn, so each backward pass leaves some parameters "
                "without gradients, and plain DDP would hang or fail on the next step. Train with "
                "--trainer.strategy ddp_find_unused_parameters_true (one gradient all-reduce per update, "
                "covering only the network that was updated)."
            )

    # ---- EMA ------------------------------------------------------------------------------
    def update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(getattr(self.net, self.ema_target))

    # ---- what the callbacks use -------------------------------------------------------------
    def export_network(self) -> GenerativeNetwork:
        """A copy of the network to release, with EMA weights swapped in when an EMA was kept."""
        network = copy.deepcopy(self.net).cpu()
        if self.ema is not None:
            getattr(network, self.ema_target).load_state_dict(self.ema.module.state_dict())
        network.info = self.network_info()
        return network.eval()

    def network_info(self) -> dict[str, Any]:
        """The checkpoint facts the export writes into config.json: name and family, and, when ``name`` is
        released with a local folder, that folder's dataset, licence, recipe and card text (so a retrained
        checkpoint keeps its card; its numbers come from the new training record and evaluation)."""
        from genzoo._registry import CARD_FACTS
        from genzoo.hub import CONFIG_NAME, model_cards_dir, read_config

        info: dict[str, Any] = {"name": self.name or self.family, "family": self.family}
        released = model_cards_dir() / str(self.name)
        if self.name and (released / CONFIG_NAME).is_file():
            facts = read_config(released).get("info", {})
            info.update({key: facts[key] for key in CARD_FACTS if key in facts})
        return info

    @torch.no_grad()
    def preview(self, num: int, seed: int = 0) -> torch.Tensor:
        """``num`` images in [0, 1] from fixed noise (the EMA generator when there is one)."""
        network = self.export_network() if self.ema is not None else self.net
        images = network.sample(num, seed=seed)
        return network.to_unit_range(images).cpu()
