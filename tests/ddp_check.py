"""A callback for the multi-process test: every rank writes a checksum of its weights when training ends."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import torch


class WeightChecksum(L.Callback):
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        with torch.no_grad():
            checksum = sum(float(p.double().abs().sum()) for p in pl_module.net.parameters())
            buffers = sum(float(b.double().abs().sum()) for b in pl_module.net.buffers() if b.is_floating_point())
            ema = sum(float(p.double().abs().sum()) for p in pl_module.ema.parameters()) if pl_module.ema is not None else None
        record = {"rank": trainer.global_rank, "world_size": trainer.world_size, "checksum": checksum, "buffers": buffers, "ema": ema,
                  "global_step": trainer.global_step}
        out = Path(trainer.default_root_dir) / f"rank{trainer.global_rank}.json"
        out.write_text(json.dumps(record))
