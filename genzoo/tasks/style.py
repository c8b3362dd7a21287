"""Training the texture and style networks: texture networks, perceptual-loss transform networks, AdaIN.

All three minimize losses measured in a frozen VGG-19's features (``genzoo.backbones``; the random-weight extractor
by default, ImageNet weights with ``extractor: imagenet`` and a weights file), with Adam, one plain update per
batch (automatic optimization: there is one network to train):

* ``TextureNetTask`` (Ulyanov et al. 2016): samples from ``batch_size`` fresh noises; loss = the sum over
  ``style_layers`` of the Gram-matrix loss to the example texture (the data module's batch). The paper: Adam, 5
  scales, batch 16 (8 here by default), Gram layers relu1_1 .. relu5_1 (relu1_1 .. relu4_1 here).
* ``TransformNetTask`` (Johnson et al. 2016): loss = ``content_weight`` x feature loss to the photo at
  ``content_layers`` (the paper: relu2_2) + ``style_weight`` x the Gram loss to the style image at ``style_layers``
  + ``tv_weight`` x total variation. The paper: Adam lr 1e-3, batch 4, 256 px crops, 40k steps (2 epochs of COCO).

The Gram and feature losses of both are ``relative`` (each layer's term divided by its target's mean square, see
``genzoo.losses.style``), as in ``genzoo.style.gatys``: the same weights then suit either extractor, and a network's
loss is comparable with the optimization's (``genzoo.style.measure``).
* ``AdaINTask`` (Huang and Belongie 2017): t = AdaIN(f(c), f(s)); g = decoder(t); loss = ||f(g) - t||^2 at relu4_1
  (the content loss is against the AdaIN target, not the photo's features) + ``style_weight`` x the mean/std loss
  at relu1_1 .. relu4_1. The paper: Adam lr 1e-4 with lr / (1 + 5e-5 step) decay, style weight 10, batch 8.

The extractor is held outside the task's module tree (a frozen backbone never enters a checkpoint; Lightning does
not move it, so each step moves it to the batch's device, which costs nothing once it is there). Its name is
written into the network's config (``extractor``); fine-tuning (``init_from``) a network trained with another
extractor warns. The losses are computed in float32 (the Gram matrices of large activations overflow float16).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from genzoo.backbones import feature_extractor
from genzoo.layers.adain import adain_transfer
from genzoo.losses.style import adain_style_loss, content_loss, gram_matrix, style_loss, total_variation
from genzoo.models.style import ENCODER_LAYERS, AdaINNet, StyleNetwork, TextureNet, TransformNet
from genzoo.tasks._base import GenerativeTask

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # genzoo.style.DEFAULT_STYLE_LAYERS: see there why not relu5_1


class StyleTask(GenerativeTask):
    """What the three tasks share: the extractor, Adam with AdaIN's inverse-time decay, fine-tuning, export facts."""

    family = "style"
    value_range = (0.0, 1.0)
    needs_unused_parameter_detection = False  # one network, all of whose parameters get gradients
    net: StyleNetwork

    def build_extractor(self, extractor: str, extractor_path: str | None, layers: Sequence[str], seed: int = 0) -> None:
        built = feature_extractor(extractor, layers=layers, path=extractor_path, seed=seed)
        object.__setattr__(self, "extractor", built)  # outside the module tree: never in a checkpoint, never trained

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.extractor.to(images.device)(images.float())

    def load_pretrained_weights(self) -> None:
        """Fine-tune a released (or local) network; one trained with other features is accepted with a warning."""
        if self.init_from is None:
            return
        from genzoo.hub import load

        pretrained = load(self.init_from)
        pretrained.check_extractor(self.extractor)
        self.net.load_state_dict(pretrained.state_dict(), strict=True)

    def configure_optimizers(self):
        hp = self.hparams
        optimizer = torch.optim.Adam(self.net.parameters(), lr=hp.lr)
        # AdaIN's code decays the rate as lr / (1 + decay * step); decay 0 keeps it constant.
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1.0 + hp.lr_decay * step))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def network_info(self) -> dict[str, Any]:
        return {**super().network_info(), "extractor_sha256": self.extractor.weights_sha256}

    @staticmethod
    def check_weights(**weights: float) -> None:
        for name, value in weights.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")


class TextureNetTask(StyleTask):
    """Args:
    image_shape: (3, size, size) of the training samples; linked from the data module by the CLI.
    scales, width, noise_channels: the network (see ``genzoo.models.style.TextureNet``). texture: its name.
    batch_size: samples drawn per step (the data module's batch is the one example).
    style_layers: VGG layers of the Gram loss (relu1_1 .. relu4_1).
    extractor: "random" (``vgg19-random-seed<extractor_seed>``) or "imagenet" (with ``extractor_path`` or the usual
        places, see ``genzoo.backbones.feature_extractor``).
    lr, lr_decay: Adam's rate and its decay lr / (1 + lr_decay * step).
    name, init_from: see ``GenerativeTask``.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (3, 128, 128), scales: int = 5, width: int = 8,
                 noise_channels: int = 3, texture: str = "texture", batch_size: int = 8,
                 style_layers: Sequence[str] = STYLE_LAYERS, extractor: str = "random", extractor_path: str | None = None,
                 extractor_seed: int = 0, lr: float = 1e-2, lr_decay: float = 0.0, name: str | None = None,
                 init_from: str | None = None) -> None:
        super().__init__(name=name, init_from=init_from)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.save_hyperparameters()
        self.build_extractor(extractor, extractor_path, style_layers, extractor_seed)
        self.net = TextureNet(image_size=image_shape[1], scales=scales, width=width, noise_channels=noise_channels,
                              texture=texture, extractor=self.extractor.name)
        self.load_pretrained_weights()

    def training_step(self, batch, batch_idx):
        example = batch[0]  # (1, 3, h, w): the texture
        size = self.hparams.image_shape[1]
        with torch.no_grad():
            targets = {layer: gram_matrix(f) for layer, f in self.features(example).items()}
        generator = self.step_generator()  # one stream for every scale's noise: a resumed run draws the same
        noise = [torch.randn(shape, generator=generator).to(self.device)
                 for shape in self.net.noise_shapes(self.hparams.batch_size, size, size)]
        samples = self.net(noise)[..., :size, :size]
        features = self.features(samples)
        loss = sum(style_loss(features[layer], targets[layer], relative=True) for layer in self.extractor.layers)
        self.log_dict({"loss/style": loss.detach(), "lr": self.optimizers().param_groups[0]["lr"]}, prog_bar=True)
        return loss


def pixel_l1(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """mean |output - content| in float32: the warm-up loss, and AdaIN's identity loss."""
    return (output.float() - content.float()).abs().mean()


class _StylizationTask(StyleTask):
    """Previews for the image-to-image tasks: rows of (content, style, output)."""

    preview_columns = 3

    def stylize_batch(self, network: StyleNetwork, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pixel_warmup(self, output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """The warm-up loss: mean |output - content|, before the paper's loss takes over at ``warmup_steps``.

        Why: with the random-weight extractor the feature losses alone teach a network from scratch to keep a
        photo's content far too slowly for a CPU budget (pilots: after 400 batches the transform net's relative
        content loss was still ~2.4, worse than a blank image, and AdaIN's decoder made the same blobs for every
        photo). A network that first reproduces (transform net) or decodes (AdaIN) its input starts the paper's
        training from photos, not from noise: enough for the released transform nets, not for AdaIN's decoder
        (recipes/style/adain.yaml).
        """
        loss = pixel_l1(output, content)
        self.log_dict({"loss/pixel_warmup": loss.detach(), "loss": loss.detach()}, prog_bar=True)
        return loss

    def on_train_batch_start(self, batch, batch_idx) -> None:
        # At the switch, a fresh Adam for the new loss: its moments were estimated on pixel-L1 gradients thousands of
        # times smaller than AdaIN's loss gives, and the first steps on the new loss then threw the decoder into a
        # constant image it did not leave (pilot: collapsed at the switch, step 300).
        if self.global_step == self.hparams.get("warmup_steps", 0) > 0:
            self.optimizers().optimizer.state.clear()

    @torch.no_grad()
    def translation_figure(self, network: StyleNetwork, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Rows of (content, style, output) in [0, 1]; the export callback calls it with the stored network."""
        content, style = content.to(network.device, network.dtype), style.to(network.device, network.dtype)
        output = self.stylize_batch(network, content, style)
        return torch.stack([content, style, output], dim=1).flatten(0, 1).float().cpu()

    @torch.no_grad()
    def preview(self, num: int, seed: int = 0) -> torch.Tensor:
        content, style = self.trainer.datamodule.preview_inputs(max(1, num // self.preview_columns))
        return self.translation_figure(self.net, content, style)


class TransformNetTask(_StylizationTask):
    """Args:
    image_shape: (3, size, size) of the training crops; linked from the data module by the CLI.
    width, n_blocks: the network (see ``genzoo.models.style.TransformNet``). style: the style's name.
    content_layers, style_layers: VGG layers of the feature loss (Johnson: relu2_2) and of the Gram loss.
    content_weight, style_weight, tv_weight: the losses' weights (the relative losses of ``genzoo.style.gatys``, with
        its weights by default).
    warmup_steps: first train the network to return its input (pixel L1) for this many steps, then the paper's
        loss (not in the paper; see ``pixel_warmup``).
    extractor, extractor_path, extractor_seed, lr, lr_decay, name, init_from: see ``TextureNetTask``.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (3, 256, 256), width: int = 32, n_blocks: int = 5,
                 style: str = "style", content_layers: Sequence[str] = ("relu2_2",),
                 style_layers: Sequence[str] = STYLE_LAYERS, content_weight: float = 1.0,
                 style_weight: float = 10.0, tv_weight: float = 1.0, warmup_steps: int = 0, extractor: str = "random",
                 extractor_path: str | None = None, extractor_seed: int = 0, lr: float = 1e-3, lr_decay: float = 0.0,
                 name: str | None = None, init_from: str | None = None) -> None:
        super().__init__(name=name, init_from=init_from)
        self.check_weights(content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                           warmup_steps=warmup_steps)
        self.save_hyperparameters()
        self.build_extractor(extractor, extractor_path, (*content_layers, *style_layers), extractor_seed)
        self.net = TransformNet(image_size=image_shape[1], width=width, n_blocks=n_blocks, style=style,
                                extractor=self.extractor.name)
        self.load_pretrained_weights()

    def stylize_batch(self, network: TransformNet, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return network.stylize(content)

    def training_step(self, batch, batch_idx):
        content, style = batch
        hp = self.hparams
        if self.global_step < hp.warmup_steps:
            return self.pixel_warmup(self.net(content), content)
        with torch.no_grad():
            content_features = self.features(content)
            style_grams = {layer: gram_matrix(f).mean(0, keepdim=True) for layer, f in self.features(style).items()}
        output = self.net(content)
        features = self.features(output)
        content_term = sum(content_loss(features[layer], content_features[layer], relative=True) for layer in hp.content_layers)
        style_term = sum(style_loss(features[layer], style_grams[layer], relative=True) for layer in hp.style_layers)
        tv_term = total_variation(output)
        loss = hp.content_weight * content_term + hp.style_weight * style_term + hp.tv_weight * tv_term
        self.log_dict({"loss/content": content_term.detach(), "loss/style": style_term.detach(), "loss/tv": tv_term.detach(),
                       "loss": loss.detach()}, prog_bar=True)
        return loss


class AdaINTask(_StylizationTask):
    """Args:
    image_shape: (3, size, size) of the training crops; linked from the data module by the CLI.
    decoder_width: the decoder (see ``genzoo.models.style.AdaINNet``; the paper: 64).
    style_weight: weight of the mean/std style loss (the paper: 10).
    warmup_steps: first train the decoder to invert the encoder (decoder(f(content)) against the content, pixel L1)
        for this many steps, then the paper's loss (not in the paper; see ``pixel_warmup``).
    identity_weight: after the warm-up, keep that pixel L1 in the loss with this weight: the identity loss of Park
        and Lee (SANet, CVPR 2019), which keeps the decoder an inverse of the encoder, so the content's structure
        survives; 0: the paper's loss alone.
    extractor, extractor_path, extractor_seed: the encoder's weights (see ``TextureNetTask``).
    lr, lr_decay: Adam's rate and its decay lr / (1 + lr_decay * step) (the paper's code: 1e-4, 5e-5).
    name, init_from: see ``GenerativeTask``.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (3, 256, 256), decoder_width: int = 64, style_weight: float = 10.0,
                 warmup_steps: int = 0, identity_weight: float = 0.0, extractor: str = "random", extractor_path: str | None = None,
                 extractor_seed: int = 0, lr: float = 1e-4, lr_decay: float = 5e-5, name: str | None = None,
                 init_from: str | None = None) -> None:
        super().__init__(name=name, init_from=init_from)
        self.check_weights(style_weight=style_weight, warmup_steps=warmup_steps, identity_weight=identity_weight)
        self.save_hyperparameters()
        self.build_extractor(extractor, extractor_path, ENCODER_LAYERS, extractor_seed)
        self.net = AdaINNet(image_size=image_shape[1], decoder_width=decoder_width, extractor=self.extractor.name)
        self.net.set_encoder(self.extractor)  # the same frozen VGG encodes and measures
        self.load_pretrained_weights()

    def stylize_batch(self, network: AdaINNet, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if network is not self.net:
            network.set_encoder(self.extractor)  # the stored copy: the encoder this task trained with (no rebuild)
        return network.stylize(content, style)

    def training_step(self, batch, batch_idx):
        content, style = batch
        with torch.no_grad():
            content_features = self.features(content)["relu4_1"]
        if self.global_step < self.hparams.warmup_steps:
            return self.pixel_warmup(self.net.decoder(content_features), content)
        with torch.no_grad():
            style_features = self.features(style)
            target = adain_transfer(content_features, style_features["relu4_1"])
        output = self.net.decoder(target)
        features = self.features(output)
        content_term = content_loss(features["relu4_1"], target)
        style_term = sum(adain_style_loss(features[layer], style_features[layer]) for layer in ENCODER_LAYERS)
        loss = content_term + self.hparams.style_weight * style_term
        logged = {"loss/content": content_term.detach(), "loss/style": style_term.detach()}
        if self.hparams.identity_weight > 0:
            identity_term = pixel_l1(self.net.decoder(content_features), content)
            loss = loss + self.hparams.identity_weight * identity_term
            logged["loss/identity"] = identity_term.detach()
        self.log_dict({**logged, "loss": loss.detach(), "lr": self.optimizers().param_groups[0]["lr"]}, prog_bar=True)
        return loss
