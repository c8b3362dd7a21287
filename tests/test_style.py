"""Texture and style family: VGG features (random and ImageNet paths), losses by hand, AdaIN, the four networks,
their training, Gatys optimization, the Deep Image Prior, round trips, bad inputs and the three commands."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import write_image_folder
from genzoo.backbones import IMAGENET_NAME, VGG19_IMAGENET, VGG19_LAYERS, feature_extractor, random_extractor_name
from genzoo.callbacks import ExportCheckpoint
from genzoo.data.style import ContentStyleDataModule, TextureDataModule
from genzoo.hub import load_folder, save_folder
from genzoo.layers import adain_transfer, channel_mean_std
from genzoo.losses.style import adain_style_loss, content_loss, gram_matrix, style_loss, total_variation
from genzoo.metrics.downloads import WeightsUnavailableError, sha256_of
from genzoo.metrics.extractors import state_dict_sha256
from genzoo.models.style import (
    AdaINNet,
    DeepImagePrior,
    ExtractorMismatchWarning,
    TextureNet,
    TransformNet,
    match_color,
)
from genzoo.tasks.style import AdaINTask, TextureNetTask, TransformNetTask

REPO_ROOT = Path(__file__).resolve().parents[1]
SHALLOW = ("relu1_1", "relu2_1")  # cheap layers for the tiny trainings


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# ---- losses by hand ---------------------------------------------------------------------------
def test_gram_matrix_by_hand():
    # Two channels over four positions: G_ij = sum_k F_ik F_jk / (H W).
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 1.0], [0.0, -1.0]])
    gram = gram_matrix(torch.stack(features)[None])
    expected = torch.tensor([[(1 + 4 + 9 + 16) / 4, (2 - 4) / 4], [(2 - 4) / 4, 2 / 4]])
    assert gram.shape == (1, 2, 2) and torch.allclose(gram[0], expected)
    # Independent of the spatial size for a stationary pattern: the same tile repeated gives the same Gram.
    tiled = torch.stack(features)[None].repeat(1, 1, 3, 5)
    assert torch.allclose(gram_matrix(tiled), gram)


def test_style_content_and_relative_losses_by_hand():
    features = torch.tensor([[[[1.0, 3.0]]]])  # one channel, two positions: G = (1 + 9) / 2 = 5
    target = torch.tensor([[[2.0]]])
    assert style_loss(features, target).item() == pytest.approx((5 - 2) ** 2)
    assert style_loss(features, target, relative=True).item() == pytest.approx(9 / 4)  # divided by mean(A^2) = 4
    assert style_loss(features, gram_matrix(features)).item() == 0.0
    other = torch.tensor([[[[0.0, 1.0]]]])
    assert content_loss(features, other).item() == pytest.approx((1 + 4) / 2)
    assert content_loss(features, other, relative=True).item() == pytest.approx(2.5 / 0.5)
    # A (1, C, C) target serves a whole batch.
    batch = torch.cat([features, features * 0])
    assert style_loss(batch, target).item() == pytest.approx(((5 - 2) ** 2 + 2**2) / 2)
    with pytest.raises(ValueError, match="does not fit"):
        style_loss(features, torch.zeros(1, 2, 2))


def test_total_variation_by_hand():
    image = torch.tensor([[0.0, 1.0], [1.0, 1.0]])[None, None]
    # Horizontal differences |1 - 0|, |1 - 1| -> mean 0.5; vertical |1 - 0|, |1 - 1| -> mean 0.5.
    assert total_variation(image).item() == pytest.approx(1.0)
    assert total_variation(torch.full((2, 3, 5, 4), 0.3)).item() == 0.0
    with pytest.raises(ValueError, match="at least 2x2"):
        total_variation(torch.zeros(1, 3, 1, 5))


def test_adain_gives_the_style_statistics():
    content = torch.tensor([[[[0.0, 2.0, 4.0, 6.0]]]])  # mean 3, std sqrt(5)
    style = torch.tensor([[[[10.0, 10.0, 12.0, 12.0]]]])  # mean 11, std 1
    out = adain_transfer(content, style, eps=0.0)
    expected = (content - 3) / 5**0.5 * 1 + 11
    assert torch.allclose(out, expected)
    # Random maps: each channel of the output has the style's mean and std (up to eps), and AdaIN's loss is ~0.
    content, style = rand(2, 5, 9, 7) * 3, rand(2, 5, 6, 11, seed=1) * 0.5 + 2
    out = adain_transfer(content, style)
    mean, std = channel_mean_std(out)
    style_mean, style_std = channel_mean_std(style)
    assert torch.allclose(mean, style_mean, atol=1e-5) and torch.allclose(std, style_std, atol=1e-3)
    assert adain_style_loss(out, style).item() < 1e-6
    # The mean/std loss by hand: means 3 vs 11, stds sqrt(5) vs 1 (with eps 1e-5 in the variances).
    a, b = torch.tensor([[[[0.0, 2.0, 4.0, 6.0]]]]), torch.tensor([[[[10.0, 10.0, 12.0, 12.0]]]])
    expected = (3 - 11) ** 2 + ((5 + 1e-5) ** 0.5 - (1 + 1e-5) ** 0.5) ** 2
    assert adain_style_loss(a, b).item() == pytest.approx(expected, rel=1e-5)


def test_match_color_gives_the_reference_colour_statistics():
    image, reference = rand(3, 12, 10), rand(3, 9, 9, seed=1) * 0.3 + torch.tensor([0.5, 0.2, 0.4]).view(3, 1, 1)
    out = match_color(image, reference)
    assert out.shape == image.shape
    mean = lambda x: x.reshape(3, -1).mean(1)  # noqa: E731
    cov = lambda x: torch.cov(x.reshape(3, -1), correction=0)  # noqa: E731
    assert torch.allclose(mean(out), mean(reference), atol=1e-4) and torch.allclose(cov(out), cov(reference), atol=1e-4)


# ---- the VGG-19 features ------------------------------------------------------------------------
def test_extractor_layer_names_shapes_and_freezing():
    assert VGG19_LAYERS[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1") and VGG19_LAYERS[29] == "relu5_1"
    vgg = feature_extractor("random", layers=("relu4_1", "relu1_1", "relu3_1", "relu2_1"))
    assert vgg.name == random_extractor_name(0) == "vgg19-random-seed0"
    assert vgg.layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # network order
    assert len(vgg.features) == VGG19_LAYERS.index("relu4_1") + 1  # truncated after the deepest layer
    assert "features.0.weight" in vgg.state_dict() and "mean" not in vgg.state_dict()  # torchvision's keys, weights only
    images = rand(2, 3, 32, 40).requires_grad_(True)
    features = vgg(images)
    assert list(features) == list(vgg.layers)
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        "relu1_1": (2, 64, 32, 40), "relu2_1": (2, 128, 16, 20), "relu3_1": (2, 256, 8, 10), "relu4_1": (2, 512, 4, 5)}
    features["relu4_1"].sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0  # gradients reach the image ...
    assert not any(p.requires_grad for p in vgg.parameters())  # ... never the weights
    assert not vgg.train().training
    assert vgg.protocol() == {"extractor": "vgg19-random-seed0", "extractor_sha256": vgg.weights_sha256,
                              "extractor_layers": list(vgg.layers)}
    # The per-filter normalization keeps activations of order one on a real-looking image, at every depth.
    assert all(0.05 < f.mean().item() < 50 for f in features.values())
    with pytest.raises(ValueError, match="unknown VGG-19 layer"):
        feature_extractor("random", layers=("relu6_1",))
    with pytest.raises(ValueError, match="grayscale"):
        vgg(rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="at least 8x8"):
        vgg(rand(1, 3, 4, 32))
    with pytest.raises(ValueError, match="weights must be 'imagenet', 'random'"):
        feature_extractor("vgg16")


RANDOM_HASH_SCRIPT = """
import torch
torch.set_num_threads(2)  # another thread count than the test's one: the weights must not depend on it
from genzoo.backbones import feature_extractor
from genzoo.metrics.extractors import state_dict_sha256
print(state_dict_sha256(feature_extractor("vgg19-random-seed0", layers=("relu4_1",))))
"""


def test_random_extractor_is_bit_identical_across_processes():
    vgg = feature_extractor("random", layers=("relu4_1",))
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", RANDOM_HASH_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == state_dict_sha256(vgg) == vgg.weights_sha256
    # A shallower extractor holds exactly the first layers of the deeper one; another seed other weights.
    shallow = feature_extractor("random", layers=("relu1_2",))
    assert torch.equal(shallow.state_dict()["features.2.weight"], vgg.state_dict()["features.2.weight"])
    assert feature_extractor("random", layers=("relu1_2",), seed=1).weights_sha256 != shallow.weights_sha256


def fake_vgg_file(path: Path, last_index: int = 2) -> Path:
    """torchvision-keyed VGG-19 weights up to features.<last_index> (random), as safetensors."""
    from safetensors.torch import save_file

    shapes, channels, convs = {}, 3, iter([64, 64, 128, 128])
    for index, name in enumerate(VGG19_LAYERS[: last_index + 1]):
        if name.startswith("conv"):
            width = next(convs)
            shapes[index] = (width, channels)
            channels = width
    tensors = {}
    for index, (out_c, in_c) in shapes.items():
        tensors[f"features.{index}.weight"] = rand(out_c, in_c, 3, 3, seed=index) - 0.5
        tensors[f"features.{index}.bias"] = torch.zeros(out_c)
    tensors["classifier.0.weight"] = torch.zeros(2, 2)  # ignored
    save_file(tensors, path)
    return path


def test_imagenet_weights_from_a_local_file_and_the_environment(tmp_path, monkeypatch):
    weights = fake_vgg_file(tmp_path / "vgg19.safetensors")
    vgg = feature_extractor("imagenet", layers=("relu1_2",), path=weights)
    assert vgg.name == IMAGENET_NAME and vgg.weights_sha256 == sha256_of(weights)  # stamped with the file's own hash
    images = rand(1, 3, 8, 8)
    x = (images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    from safetensors.torch import load_file

    w = load_file(weights)
    expected = torch.relu(torch.nn.functional.conv2d(torch.relu(torch.nn.functional.conv2d(x, w["features.0.weight"], padding=1)),
                                                     w["features.2.weight"], padding=1))
    assert torch.allclose(vgg(images)["relu1_2"], expected, atol=1e-5)
    monkeypatch.setenv(VGG19_IMAGENET.env_var, str(weights))
    assert feature_extractor("torchvision-vgg19-imagenet", layers=("relu1_1",)).weights_sha256 == sha256_of(weights)
    with pytest.raises(ValueError, match="lack features.5.bias, features.5.weight"):
        feature_extractor("imagenet", layers=("relu2_1",), path=weights)  # the file stops at conv1_2
    pickle = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, pickle)
    with pytest.raises(ValueError, match="not the published"):  # a .pth is unpickled only with the published hash
        feature_extractor("imagenet", layers=("relu1_1",), path=pickle)


def test_offline_without_weights_names_every_way_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.delenv(VGG19_IMAGENET.env_var, raising=False)
    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torchvision copy either
    with pytest.raises(WeightsUnavailableError) as error:
        feature_extractor("imagenet", layers=("relu1_1",))
    message = str(error.value)
    assert VGG19_IMAGENET.url in message  # torchvision's download
    assert "path=PATH" in message and "--vgg-weights PATH" in message  # a local file
    assert f"{VGG19_IMAGENET.env_var}=" in message  # the environment variable
    assert "offline" in message


# ---- networks: shapes, round trips, bad inputs ----------------------------------------------------------
def test_texture_net_samples_any_size():
    net = TextureNet(image_size=32, **TextureNet.TINY_CONFIG)
    assert net.sample(2, seed=0).shape == (2, 3, 32, 32)
    odd = net.sample(1, size=(20, 33), seed=3)
    assert odd.shape == (1, 3, 20, 33) and 0 <= odd.min() and odd.max() <= 1
    assert torch.equal(net.sample(1, size=(20, 33), seed=3), odd)  # seeded
    with pytest.raises(TypeError, match="n must be"):
        net.sample(1.5)


def test_stylize_checks_its_inputs():
    transform = TransformNet(image_size=32, **TransformNet.TINY_CONFIG)
    assert transform.stylize(rand(3, 22, 30)).shape == (3, 22, 30)  # any size: padded, then cropped
    with pytest.raises(ValueError, match="grayscale"):
        transform.stylize(rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        transform.stylize(rand(1, 3, 32, 32) * 2 - 1)
    with pytest.raises(NotImplementedError, match="does not sample"):
        transform.sample(1)
    adain = AdaINNet(image_size=32, **AdaINNet.TINY_CONFIG)
    content = rand(2, 3, 20, 28)
    assert adain.stylize(content, rand(3, 41, 17, seed=1)).shape == (2, 3, 20, 28)  # a style of another size
    assert adain.stylize(content, rand(2, 3, 16, 16, seed=1)).shape == (2, 3, 20, 28)  # one style per content image
    for alpha in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
            adain.stylize(content, rand(3, 16, 16), alpha=alpha)
    with pytest.raises(ValueError, match="grayscale"):
        adain.stylize(content, rand(1, 16, 16))
    with pytest.raises(ValueError, match="3 style images for 2 content"):
        adain.stylize(content, rand(3, 3, 16, 16))
    with pytest.raises(ValueError, match="sum to 1"):
        adain.stylize(content, [rand(3, 16, 16), rand(3, 8, 8)], style_weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="at least 8x8"):
        adain.stylize(rand(3, 6, 16), rand(3, 16, 16))


def test_adain_options():
    torch.manual_seed(0)
    adain = AdaINNet(image_size=32, **AdaINNet.TINY_CONFIG)
    adain.decoder[-1].bias.data.fill_(0.5)  # a tiny random decoder's output is mostly clamped to 0: lift it into view
    content, style_a, style_b = rand(1, 3, 16, 24), rand(3, 16, 16, seed=1), rand(3, 24, 16, seed=2)
    # alpha 0: the decoder sees the content's own features.
    with torch.no_grad():
        reconstruction = adain.decoder(adain.encode(content)["relu4_1"]).clamp(0, 1)
    assert torch.allclose(adain.stylize(content, style_a, alpha=0.0), reconstruction, atol=1e-6)
    # Interpolation weights (1, 0) give the first style alone; (0.5, 0.5) something in between.
    alone = adain.stylize(content, style_a)
    assert torch.allclose(adain.stylize(content, [style_a, style_b], style_weights=[1.0, 0.0]), alone, atol=1e-6)
    mixed = adain.stylize(content, [style_a, style_b], style_weights=[0.5, 0.5])
    assert not torch.allclose(mixed, alone)
    assert not torch.allclose(adain.stylize(content, style_a, preserve_color=True), alone)


def test_hub_round_trip_records_the_extractor_and_keeps_the_encoder_out(tmp_path):
    torch.manual_seed(0)
    networks = [TextureNet(image_size=32, texture="brick", **TextureNet.TINY_CONFIG),
                TransformNet(image_size=32, style="la_muse", **TransformNet.TINY_CONFIG),
                AdaINNet(image_size=32, **AdaINNet.TINY_CONFIG),
                DeepImagePrior(**DeepImagePrior.TINY_CONFIG)]
    content, style = rand(1, 3, 16, 16), rand(3, 16, 16, seed=1)
    for network in networks:
        folder = tmp_path / type(network).__name__
        save_folder(network, folder)
        loaded = load_folder(folder)
        assert type(loaded) is type(network) and loaded.config == network.config
        assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in network.state_dict().items())
        if isinstance(network, TextureNet):
            assert torch.equal(loaded.sample(1, seed=0), network.sample(1, seed=0))
        elif isinstance(network, TransformNet):
            assert torch.equal(loaded.stylize(content), network.stylize(content))
        elif isinstance(network, AdaINNet):
            assert not any(k.startswith(("encoder", "_encoder", "features")) for k in loaded.state_dict())
            assert torch.equal(loaded.stylize(content, style), network.stylize(content, style))  # encoder rebuilt by name
        if not isinstance(network, DeepImagePrior):
            assert loaded.info["extractor"] == "vgg19-random-seed0" and loaded.config["extractor"] == "vgg19-random-seed0"
    # Using an AdaIN network with other features is allowed, with a warning; without the encoder's layers, refused.
    adain = networks[2]
    with pytest.warns(ExtractorMismatchWarning, match="trained with the vgg19-random-seed0 features"):
        adain.set_encoder(feature_extractor("random", layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1"), seed=1))
    with pytest.raises(ValueError, match="lacks relu3_1, relu4_1"):
        adain.set_encoder(feature_extractor("random", layers=SHALLOW))
    with pytest.raises(NotImplementedError, match="fitted to one image"):
        networks[3].sample(1)


# ---- training ------------------------------------------------------------------------------------
class Losses(L.Callback):
    def __init__(self) -> None:
        self.values: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.values.append(float(outputs["loss"]))


def fit(task: L.LightningModule, data: L.LightningDataModule, steps: int, root: Path, callbacks=()) -> list[float]:
    losses = Losses()
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(root),
                        callbacks=[losses, *callbacks])
    trainer.fit(task, data)
    return losses.values


@pytest.fixture
def style_data(tmp_path) -> dict[str, Path]:
    content = write_image_folder(tmp_path / "content", count=8, size=(40, 36))
    styles = write_image_folder(tmp_path / "styles", count=3, size=(48, 40), seed=1)
    stripes = np.zeros((40, 40, 3), np.uint8)
    stripes[:, ::4] = 255
    stripes[::8, :, 0] = 200
    Image.fromarray(stripes).save(tmp_path / "texture.png")
    return {"content": content, "styles": styles, "texture": tmp_path / "texture.png"}


def test_data_modules_give_unit_range_batches_and_clear_errors(style_data, tmp_path):
    texture = TextureDataModule(str(style_data["texture"]), image_size=32, example_size=20, steps_per_epoch=3)
    texture.setup("fit")
    assert texture.image_shape == (3, 32, 32) and texture.example.shape == (3, 20, 20)  # 40x40 scaled to 20
    batches = list(texture.train_dataloader())
    assert len(batches) == 3 and batches[0][0].shape == (1, 3, 20, 20)
    assert 0 <= batches[0][0].min() and batches[0][0].max() <= 1 and batches[0][0].max() > 0.5
    pairs = ContentStyleDataModule(str(style_data["content"]), str(style_data["styles"]), load_size=36, crop_size=32, batch_size=2)
    pairs.setup("fit")
    content, style = next(iter(pairs.train_dataloader()))
    assert content.shape == style.shape == (2, 3, 32, 32) and 0 <= content.min() and content.max() <= 1
    preview_content, preview_styles = pairs.preview_inputs(4)
    assert preview_content.shape == preview_styles.shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="load_size >= crop_size"):
        ContentStyleDataModule(str(style_data["content"]), str(style_data["styles"]), load_size=16, crop_size=32)
    with pytest.raises(FileNotFoundError, match="neither an image file nor a folder"):
        ContentStyleDataModule(str(style_data["content"]), str(tmp_path / "nothing")).setup("fit")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TextureDataModule(str(tmp_path / "nothing.png")).setup("fit")


def early_and_late(losses: list[float]) -> tuple[float, float]:
    return float(np.mean(losses[:4])), float(np.mean(losses[-4:]))


def test_texture_net_training_lowers_its_loss(style_data, tmp_path):
    L.seed_everything(0)
    task = TextureNetTask(image_shape=(3, 32, 32), scales=3, width=4, batch_size=2, style_layers=SHALLOW, lr=0.05,
                          texture="stripes")
    losses = fit(task, TextureDataModule(str(style_data["texture"]), image_size=32, steps_per_epoch=25), 25, tmp_path)
    early, late = early_and_late(losses)
    assert late < 0.8 * early, losses
    assert task.net.config["extractor"] == "vgg19-random-seed0" and task.net.config["texture"] == "stripes"
    assert "extractor" not in "".join(task.state_dict())  # the frozen VGG is not part of the task's checkpoint


def test_transform_net_training_lowers_its_loss(style_data, tmp_path):
    L.seed_everything(0)
    task = TransformNetTask(image_shape=(3, 32, 32), width=4, n_blocks=1, content_layers=("relu1_1",), style_layers=SHALLOW,
                            lr=1e-2, style="stripes")
    data = ContentStyleDataModule(str(style_data["content"]), str(style_data["texture"]), load_size=36, crop_size=32, batch_size=2)
    early, late = early_and_late(fit(task, data, 25, tmp_path))
    assert late < 0.9 * early  # the tiny network's style term plateaus early (~0.83 here)


def test_adain_training_lowers_its_loss_and_exports_a_loadable_folder(style_data, tmp_path):
    L.seed_everything(0)
    task = AdaINTask(image_shape=(3, 32, 32), decoder_width=4, lr=2e-3, lr_decay=0.0, name="adain-test")
    data = ContentStyleDataModule(str(style_data["content"]), str(style_data["styles"]), load_size=36, crop_size=32, batch_size=2)
    export = tmp_path / "export"
    early, late = early_and_late(fit(task, data, 25, tmp_path, [ExportCheckpoint(str(export))]))
    assert late < 0.9 * early
    import genzoo

    network = genzoo.load(export)
    assert isinstance(network, AdaINNet) and network.info["extractor_sha256"] == task.extractor.weights_sha256
    assert (export / "translations.png").is_file()  # content | style | output rows from the stored network
    assert network.stylize(rand(3, 16, 16), rand(3, 16, 16, seed=1)).shape == (3, 16, 16)


class PixelL1BeforeTheStep(L.Callback):
    """The mean |output - content| of the network the step starts from, beside the loss the step returned."""

    def __init__(self) -> None:
        self.pairs: list[tuple[float, float]] = []
        self.expected = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        content, _ = batch
        with torch.no_grad():
            if isinstance(pl_module, AdaINTask):
                output = pl_module.net.decoder(pl_module.features(content)["relu4_1"])
            else:
                output = pl_module.net(content)
            self.expected = float((output - content).abs().mean())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.pairs.append((self.expected, float(outputs["loss"])))


@pytest.mark.parametrize("kind", ["transform", "adain"])
def test_pixel_warmup_then_the_papers_loss(style_data, tmp_path, kind):
    L.seed_everything(0)
    if kind == "transform":
        task = TransformNetTask(image_shape=(3, 32, 32), width=4, n_blocks=1, content_layers=("relu1_1",),
                                style_layers=SHALLOW, warmup_steps=3)
    else:
        task = AdaINTask(image_shape=(3, 32, 32), decoder_width=4, lr_decay=0.0, warmup_steps=3)
    data = ContentStyleDataModule(str(style_data["content"]), str(style_data["styles"]), load_size=36, crop_size=32, batch_size=2)
    check = PixelL1BeforeTheStep()
    fit(task, data, 5, tmp_path, [check])
    for expected, loss in check.pairs[:3]:  # the warm-up: the pixel L1 to the input
        assert loss == pytest.approx(expected, rel=1e-4)
    for expected, loss in check.pairs[3:]:  # then the paper's loss, another number
        assert loss != pytest.approx(expected, rel=1e-2)
    with pytest.raises(ValueError, match="warmup_steps must be >= 0"):
        AdaINTask(image_shape=(3, 32, 32), decoder_width=4, warmup_steps=-1)


def test_fine_tuning_from_another_extractor_warns(tmp_path):
    save_folder(TransformNet(image_size=32, extractor="vgg19-random-seed1", **TransformNet.TINY_CONFIG), tmp_path / "net")
    with pytest.warns(ExtractorMismatchWarning, match="vgg19-random-seed1"):
        TransformNetTask(image_shape=(3, 32, 32), width=4, n_blocks=1, content_layers=("relu1_1",), style_layers=SHALLOW,
                         init_from=str(tmp_path / "net"))


# ---- per-image optimization ------------------------------------------------------------------------
def test_gatys_synthesis_and_transfer(tmp_path):
    from genzoo.style import transfer
    from genzoo.texture import gram_distance, synthesize

    example = rand(3, 32, 32, seed=5) * 0.2 + torch.linspace(0, 0.8, 32).view(1, 1, 32)  # a ramp under noise
    noise = rand(3, 32, 32, seed=0)  # the synthesis starts from this noise (seed 0)
    texture = synthesize(example, size=(32, 40), steps=8, layers=SHALLOW, progress=False, save_every=4, save_dir=tmp_path)
    assert texture.shape == (3, 32, 40)
    assert gram_distance(texture, example, SHALLOW)["gram_distance"] < 0.5 * gram_distance(noise, example, SHALLOW)["gram_distance"]
    assert sorted(p.name for p in tmp_path.glob("step*.png")) == ["step00004.png", "step00008.png"]
    content = rand(3, 24, 32, seed=2)
    out = transfer(content, example, "gatys", steps=3, optimizer="adam", content_layers=("relu2_1",), style_layers=SHALLOW,
                   progress=False)
    assert out.shape == content.shape and 0 <= out.min() and out.max() <= 1
    with pytest.raises(ValueError, match="optimizer must be one of"):
        transfer(content, example, "gatys", steps=1, optimizer="sgd", style_layers=SHALLOW, progress=False)
    with pytest.raises(ValueError, match="takes no style image"):
        transfer(content, example, TransformNet(**TransformNet.TINY_CONFIG))


def test_deep_image_prior_restores_and_checks(tmp_path):
    from genzoo.prior import restore

    image = torch.linspace(0, 1, 16).view(1, 1, 16).expand(3, 16, 16).contiguous()
    small = dict(width=8, depth=2, skip_width=2, input_channels=4, progress=False, seed=0)
    mask = torch.ones(16, 16)
    mask[4:8, 4:12] = 0
    first = restore(image, "inpaint", mask, steps=1, **small)
    later = restore(image, "inpaint", mask, steps=40, lr=0.05, **small)
    assert later.shape == (3, 16, 16)
    known = mask.bool()
    assert (later - image)[:, known].pow(2).mean() < 0.5 * (first - image)[:, known].pow(2).mean()
    assert restore(image, "sr", scale=2, steps=2, **small).shape == (3, 32, 32)
    assert restore(image, "denoise", steps=2, save_every=1, save_dir=tmp_path, **small).shape == (3, 16, 16)
    assert (tmp_path / "step00002.png").is_file()
    with pytest.raises(ValueError, match="needs mask"):
        restore(image, "inpaint", steps=1, **small)
    with pytest.raises(ValueError, match="a mask is for task='inpaint'"):
        restore(image, "denoise", mask, steps=1, **small)
    with pytest.raises(ValueError, match=r"mask must be \(H, W\) = \(16, 16\)"):
        restore(image, "inpaint", torch.ones(8, 8), steps=1, **small)
    with pytest.raises(ValueError, match="task must be one of"):
        restore(image, "deblur", steps=1, **small)
    with pytest.raises(ValueError, match="grayscale"):
        restore(image[:1], "denoise", steps=1, **small)


# ---- the commands ------------------------------------------------------------------------------
def test_stylize_texture_and_restore_commands(tmp_path, capsys):
    from genzoo.cli import main

    pixels = (rand(24, 32, 3, seed=1) * 255).to(torch.uint8).numpy()
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    Image.fromarray((rand(20, 20, 3, seed=2) * 255).to(torch.uint8).numpy()).save(tmp_path / "style.png")
    mask = np.full((24, 32), 255, np.uint8)
    mask[8:16, 8:20] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    photo, style = str(tmp_path / "photo.png"), str(tmp_path / "style.png")

    main(["stylize", "gatys", "--content", photo, "--style", style, "--out", str(tmp_path / "g.png"), "--steps", "2",
          "--optimizer", "adam", "--figure", str(tmp_path / "g_fig.png")])
    assert Image.open(tmp_path / "g.png").size == (32, 24) and (tmp_path / "g_fig.png").is_file()
    save_folder(AdaINNet(image_size=32, **AdaINNet.TINY_CONFIG), tmp_path / "adain")
    main(["stylize", str(tmp_path / "adain"), "--content", photo, "--style", style, "--style", photo, "--style-weights", "0.7",
          "0.3", "--alpha", "0.5", "--out", str(tmp_path / "a.png")])
    assert Image.open(tmp_path / "a.png").size == (32, 24)
    main(["texture", style, "--out", str(tmp_path / "t.png"), "--size", "24", "--steps", "2", "--figure", str(tmp_path / "t_fig.png")])
    assert Image.open(tmp_path / "t.png").size == (24, 24) and (tmp_path / "t_fig.png").is_file()
    save_folder(TextureNet(image_size=32, **TextureNet.TINY_CONFIG), tmp_path / "texturenet")
    main(["texture", str(tmp_path / "texturenet"), "--out", str(tmp_path / "s.png"), "--size", "40", "--num", "2"])
    assert Image.open(tmp_path / "s_1.png").size == (40, 40)
    main(["restore", photo, "--task", "inpaint", "--mask", str(tmp_path / "mask.png"), "--out", str(tmp_path / "r.png"),
          "--steps", "2", "--width", "4", "--figure", str(tmp_path / "r_fig.png")])
    assert Image.open(tmp_path / "r.png").size == (32, 24) and (tmp_path / "r_fig.png").is_file()
    main(["restore", photo, "--task", "sr", "--scale", "2", "--hr", "--out", str(tmp_path / "sr.png"), "--steps", "2",
          "--width", "4"])
    assert Image.open(tmp_path / "sr.png").size == (32, 24) and "psnr_bicubic" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="gatys takes exactly one --style"):
        main(["stylize", "gatys", "--content", photo, "--style", style, "--style", style, "--out", str(tmp_path / "x.png")])
    with pytest.raises(SystemExit, match="AdaIN's"):
        main(["stylize", "gatys", "--content", photo, "--style", style, "--alpha", "0.5", "--out", str(tmp_path / "x.png")])


# ---- genzoo eval against Gatys -------------------------------------------------------------------
def eval_args(*argv: str):
    import argparse

    from genzoo.evaluate import add_eval_arguments

    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args([*argv, "--no-progress", "--offline", "--gatys-steps", "2"])


def test_eval_of_a_style_network_against_gatys_and_the_photo(style_data, tmp_path):
    from genzoo.evaluate import run_eval
    from genzoo.style import load_image, measure, resize_shorter

    torch.manual_seed(0)
    save_folder(TransformNet(image_size=32, style="stripes", **TransformNet.TINY_CONFIG), tmp_path / "net")
    summary = run_eval(eval_args(str(tmp_path / "net"), "--metrics", "style,content,speed", "--data", str(style_data["content"]),
                                 "--style", str(style_data["texture"]), "--pairs", "2"))
    results = {m["name"]: m for m in summary["metrics"]}
    assert sorted(results) == sorted([f"{kind} loss ({who})" for kind in ("Style", "Content")
                                      for who in ("TransformNet", "Gatys, 2 L-BFGS steps", "photo as is")]
                                     + ["Seconds per image (TransformNet)", "Seconds per image (Gatys, 2 L-BFGS steps)"])
    assert results["Content loss (photo as is)"]["value"] == 0.0  # the photo has its own content
    protocol = results["Style loss (TransformNet)"]["protocol"]
    assert protocol["extractor"] == "vgg19-random-seed0" and protocol["num_real"] == 2 and protocol["input_resolution"] == 32
    assert protocol["style_images"] == "texture.png"  # the style file beside the photos' folder
    # The network's number is measure() of its output on the first photo and the second (32 px squares).
    network = load_folder(tmp_path / "net")
    photos = sorted(style_data["content"].iterdir())[:2]
    style = load_image(style_data["texture"])
    expected = []
    for path in photos:
        photo = resize_shorter(load_image(path), 32)[:, :, 2:34]  # 36 high, 40 wide: 32 x 36, then the centre square
        styled = resize_shorter(style, 32)
        expected.append(measure(network.stylize(photo), content=photo, style=styled)["content_loss"])
    assert results["Content loss (TransformNet)"]["value"] == pytest.approx(float(np.mean(expected)), rel=1e-4)
    with pytest.raises(ValueError, match="has one style"):
        run_eval(eval_args(str(tmp_path / "net"), "--metrics", "style", "--data", str(style_data["content"]), "--style",
                           str(style_data["styles"])))
    with pytest.raises(ValueError, match="--style is needed"):
        run_eval(eval_args(str(tmp_path / "net"), "--metrics", "style", "--data", str(style_data["content"])))
    with pytest.raises(ValueError, match="measured with style, content, speed"):
        run_eval(eval_args(str(tmp_path / "net"), "--metrics", "fid", "--data", str(style_data["content"])))
    with pytest.raises(ValueError, match=r"--pairs must be in \[1, 8\]"):
        run_eval(eval_args(str(tmp_path / "net"), "--metrics", "style", "--data", str(style_data["content"]), "--style",
                           str(style_data["texture"]), "--pairs", "9"))


def test_eval_of_adain_pairs_photos_with_a_folder_of_styles(style_data, tmp_path):
    from genzoo.evaluate import run_eval

    save_folder(AdaINNet(image_size=32, **AdaINNet.TINY_CONFIG), tmp_path / "adain")
    summary = run_eval(eval_args(str(tmp_path / "adain"), "--metrics", "style", "--data", str(style_data["content"]),
                                 "--style", str(style_data["styles"]), "--pairs", "4", "--size", "24", "--figure",
                                 str(tmp_path / "compare.png")))
    assert Image.open(tmp_path / "compare.png").size == (4 * 26 + 2, 4 * 26 + 2)  # rows: photo | style | AdaIN | Gatys
    protocol = summary["metrics"][0]["protocol"]
    assert protocol["styles"] == ["0000.png", "0001.png", "0002.png", "0000.png"]  # photo i with style i mod 3
    assert protocol["style_images"] == "styles" and protocol["input_resolution"] == 24


def test_eval_of_a_texture_network_between_its_floor_and_ceiling(style_data, tmp_path):
    from genzoo.evaluate import run_eval

    save_folder(TextureNet(image_size=32, texture="texture", **TextureNet.TINY_CONFIG), tmp_path / "tex")
    summary = run_eval(eval_args(str(tmp_path / "tex"), "--metrics", "gram,speed", "--data", str(style_data["texture"].parent),
                                 "--num-samples", "3", "--figure", str(tmp_path / "compare.png")))
    results = {m["name"]: m for m in summary["metrics"]}
    # the example (40 px) | two samples at 256 px | two Gatys syntheses (32 px), at their pixel scale
    assert Image.open(tmp_path / "compare.png").size == (40 + 256 + 256 + 32 + 32 + 4 * 4, 256)
    floor = results["Gram distance (random crops of the example (floor))"]
    ceiling = results["Gram distance (uniform noise (ceiling))"]
    assert floor["value"] < ceiling["value"]  # pieces of the stripes are nearer the stripes than noise is
    assert floor["protocol"]["input_resolution"] == 32 and floor["protocol"]["num_generated"] == 3  # 7/8 of 40, by 16
    assert "Gram distance (TextureNet)" in results and "Seconds per image (Gatys, 2 L-BFGS steps)" in results
    with pytest.raises(FileNotFoundError, match="no example texture.png"):
        run_eval(eval_args(str(tmp_path / "tex"), "--metrics", "gram", "--data", str(style_data["content"])))
