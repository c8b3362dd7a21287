"""Training SRCNN and VDSR: mean squared error on the Y channel of (bicubic input, HR) patch pairs.

One task for both networks (``arch``). Not adversarial: automatic optimization, one loss, every parameter
gets a gradient each step.

* VDSR (Kim et al. 2016), ``optimizer: sgd``: SGD with momentum 0.9 and weight decay 1e-4 at a high
  learning rate, made stable by *adjustable gradient clipping* to theta / lr, so the step lr * g stays
  within theta however large lr is (the paper: lr 0.1, divided by 10 every 20 epochs). ``clip_mode: value``
  clips each gradient element (the paper's wording), ``norm`` the gradient's norm (the widely used PyTorch
  reimplementation's choice). Residual learning is in the network (``VDSR.forward``).
* SRCNN (Dong et al. 2016): the paper's SGD with per-layer rates (1e-4, 1e-4, 1e-5) needs ~10^8 updates.
* ``optimizer: adam`` is what genzoo's released recipes use for both, on a CPU budget; each recipe says
  why (for VDSR: what the paper's SGD did here, measured) and the cards say so.

The loss is the squared error of the restored luma (values in [0, 1]). ``loss: caffe`` is the papers'
Euclidean loss, 1/2 the sum over a patch's pixels averaged over the batch: its gradients are
(patch pixels / 2) times larger than those of the per-pixel mean (``loss: mean``), which is what the
papers' learning rates assume (VDSR's lr 0.1 and clipping theta). With ``mean`` at lr 0.1, VDSR had not
moved from bicubic after 512 updates (Set5 x2 33.69 dB, measured); with ``caffe`` and norm clipping
(theta 0.4) it diverged within 20 updates, as did element-wise clipping (theta 0.01) with ``mean``.

The learning rate drops by ``lr_gamma`` at each optimizer step in ``lr_milestones``. Validation measures
Y-PSNR per scale on whole images (Set5) with the protocol's border crop, for the network and bicubic, so
the run's ``metrics.csv`` holds the training curve the card plots. (Measured on the float Y output
directly; ``genzoo eval`` measures on the saved 8-bit RGB result, the released numbers.)
"""

from __future__ import annotations

import torch

from genzoo.models.sr import SRCNN, VDSR, SuperResolutionNetwork
from genzoo.tasks._base import GenerativeTask

ARCHES = ("vdsr", "srcnn")
OPTIMIZERS = ("sgd", "adam")
LOSSES = ("mean", "caffe")


def y_psnr(prediction: torch.Tensor, target: torch.Tensor, border: int) -> torch.Tensor:
    """PSNR (dB, peak 255) of luma images in [0, 1] (..., H, W) after cropping ``border`` pixels from each side."""
    a = prediction.double().clamp(0, 1)[..., border:-border, border:-border] * 255.0
    b = target.double()[..., border:-border, border:-border] * 255.0
    return 10.0 * torch.log10(255.0**2 / (a - b).pow(2).mean())


class SRTask(GenerativeTask):
    """Args:
    arch: "vdsr" or "srcnn".
    scales: the factors trained (VDSR: [2, 3, 4] in one network; SRCNN: one factor).
    depth, width: VDSR's size. channels1, channels2, mapping_kernel: SRCNN's (9-1-5: mapping_kernel 1).
    optimizer: "sgd" (momentum, weight decay, adjustable clipping) or "adam".
    lr, momentum, weight_decay: optimizer settings.
    clip_theta: adjustable gradient clipping, gradients clipped to theta / lr (None: no clipping).
    clip_mode: "norm" (the gradient's total norm) or "value" (each element, the paper's wording).
    loss: "mean" (squared error per pixel) or "caffe" (1/2 the sum over each patch, mean over the batch).
    lr_milestones, lr_gamma: step decay of the learning rate at these optimizer steps.
    name, init_from: see ``GenerativeTask``.
    """

    family = "sr"
    value_range = (0.0, 1.0)
    needs_unused_parameter_detection = False  # one loss, every parameter gets a gradient each step

    def __init__(
        self,
        arch: str = "vdsr",
        scales: list[int] = (2, 3, 4),
        depth: int = 20,
        width: int = 64,
        channels1: int = 64,
        channels2: int = 32,
        mapping_kernel: int = 1,
        optimizer: str = "sgd",
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        clip_theta: float | None = 0.4,
        clip_mode: str = "norm",
        loss: str = "mean",
        lr_milestones: list[int] = (),
        lr_gamma: float = 0.1,
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        self.save_hyperparameters()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if clip_mode not in ("norm", "value"):
            raise ValueError(f"clip_mode must be 'norm' or 'value', got {clip_mode!r}")
        if arch not in ARCHES or optimizer not in OPTIMIZERS:
            raise ValueError(f"arch must be one of {ARCHES} and optimizer one of {OPTIMIZERS}; got {arch!r}, {optimizer!r}")
        scales = [int(s) for s in scales]
        if arch == "vdsr":
            self.net: SuperResolutionNetwork = VDSR(depth=depth, width=width, scales=scales)
        else:
            if len(scales) != 1:
                raise ValueError(f"SRCNN is trained for one scale, got scales {scales}")
            self.net = SRCNN(scale=scales[0], channels1=channels1, channels2=channels2, mapping_kernel=mapping_kernel)
        self.load_pretrained_weights()

    def configure_optimizers(self):
        hp = self.hparams
        if hp.optimizer == "sgd":
            optimizer = torch.optim.SGD(self.net.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
        else:
            optimizer = torch.optim.Adam(self.net.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(hp.lr_milestones), gamma=hp.lr_gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_before_optimizer_step(self, optimizer) -> None:
        # Adjustable gradient clipping (VDSR, section 3.3): clip to theta / lr, with lr the current rate.
        theta = self.hparams.clip_theta
        if theta is not None:
            lr = optimizer.param_groups[0]["lr"]
            if self.hparams.clip_mode == "norm":
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), theta / lr)
            else:
                torch.nn.utils.clip_grad_value_(self.net.parameters(), theta / lr)

    def training_step(self, batch, batch_idx):
        bicubic, hr, _ = batch
        squared = (self.net(bicubic) - hr).pow(2)
        mse = squared.mean()
        # caffe: Euclidean loss of the papers' Caffe code, 1/(2N) sum of squared errors over a batch of N patches
        loss = 0.5 * squared.sum() / len(hr) if self.hparams.loss == "caffe" else mse
        self.log("loss/mse", mse.detach(), prog_bar=True)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_idx):
        bicubic, hr, scale = batch
        scale = int(scale[0])
        psnr = y_psnr(self.net(bicubic), hr, scale)
        self.log(f"val/psnr_x{scale}", psnr, batch_size=1, prog_bar=True)
        self.log(f"val/psnr_bicubic_x{scale}", y_psnr(bicubic, hr, scale), batch_size=1)

    @torch.no_grad()
    def preview(self, num: int, seed: int = 0) -> torch.Tensor:
        raise NotImplementedError("super-resolution networks have no sample grid; the card shows crops.png instead")
