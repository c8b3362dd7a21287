"""StyleGAN-lite: AdaIN, equalized LR, minibatch std, truncation, style mixing, noise, training, resume, DDP."""

from __future__ import annotations

import json
import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F

import genzoo
from genzoo.callbacks import ExportCheckpoint
from genzoo.data import MNISTDataModule
from genzoo.hub import load_folder, save_folder
from genzoo.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, adain, adain_transfer, channel_mean_std
from genzoo.models.stylegan import StyleGAN
from genzoo.tasks import StyleGANTask
from test_training import REPO_ROOT, make_trainer, run_cli

TINY = dict(image_size=32, channels=1, **StyleGAN.TINY_CONFIG)
TINY_TASK = dict(image_shape=(1, 32, 32), latent_dim=8, w_dim=8, mapping_layers=2, max_width=8, width_base=64,
                 name="stylegan-lite-mnist")


def tiny_network(seed: int = 0) -> StyleGAN:
    torch.manual_seed(seed)
    network = StyleGAN(**TINY)
    with torch.no_grad():  # a trained-looking network: noise that matters, styles that differ, w_avg off zero
        for layer in network.generator.synthesis.layers:
            layer.noise.weight.normal_()
        network.generator.w_avg.normal_()
    return network


# ---- layers ---------------------------------------------------------------------------------
def test_adain_by_hand():
    # One channel holding [0, 2]: mean 1, std 1, so normalized [-1, 1]; style mean 5, std 2 gives [3, 7].
    content = torch.tensor([0.0, 2.0]).view(1, 1, 1, 2)
    out = adain(content, torch.tensor(5.0).view(1, 1, 1, 1), torch.tensor(2.0).view(1, 1, 1, 1), eps=0.0)
    assert torch.allclose(out.flatten(), torch.tensor([3.0, 7.0]))


def test_adain_output_has_the_styles_channel_statistics():
    generator = torch.Generator().manual_seed(0)
    content = torch.randn(2, 3, 8, 8, generator=generator) * 4 + 1
    style = torch.randn(2, 3, 5, 7, generator=generator) * torch.tensor([0.5, 2.0, 3.0]).view(1, 3, 1, 1) - 2
    out = adain_transfer(content, style)
    out_mean, out_std = channel_mean_std(out)
    style_mean, style_std = channel_mean_std(style)
    assert torch.allclose(out_mean, style_mean, atol=1e-5) and torch.allclose(out_std, style_std, atol=1e-4)
    with pytest.raises(ValueError, match="N, C, H, W"):
        channel_mean_std(torch.zeros(3, 8, 8))


def test_equalized_layers_scale_at_run_time():
    torch.manual_seed(0)
    linear = EqualizedLinear(400, 300, lr_multiplier=0.01, gain=math.sqrt(2), bias_init=1.0)
    assert linear.weight_scale == pytest.approx(math.sqrt(2) * 0.01 / math.sqrt(400))
    # Stored weights are N(0, 1 / lr_multiplier^2); the effective weights have He's std gain / sqrt(fan_in).
    assert linear.weight.std().item() == pytest.approx(100.0, rel=0.02)
    effective = linear.weight * linear.weight_scale
    assert effective.std().item() == pytest.approx(math.sqrt(2) / 20, rel=0.02)
    x = torch.randn(5, 400)
    assert torch.allclose(linear(x), F.linear(x, effective, linear.bias * 0.01), atol=1e-5)
    assert torch.allclose(linear.bias * 0.01, torch.ones(300))  # bias_init is the effective bias

    conv = EqualizedConv2d(16, 8, 3, gain=2.0)
    assert conv.weight_scale == pytest.approx(2.0 / math.sqrt(16 * 9))
    x = torch.randn(2, 16, 6, 6)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.weight_scale, conv.bias, padding=1), atol=1e-5)


def test_minibatch_stddev_by_hand():
    layer = MinibatchStdDev(group_size=2, eps=0.0)
    # Groups are samples {0, 2} and {1, 3}: group {0, 2} differs by 2 everywhere (std 1), group {1, 3} not at all.
    x = torch.stack([torch.zeros(3, 2, 2), torch.ones(3, 2, 2), torch.full((3, 2, 2), 2.0), torch.ones(3, 2, 2)])
    out = layer(x)
    assert out.shape == (4, 4, 2, 2) and torch.equal(out[:, :3], x)
    assert out[:, 3].flatten(1).amax(1).tolist() == [1.0, 0.0, 1.0, 0.0]
    assert layer(torch.randn(3, 2, 4, 4)).shape == (3, 3, 4, 4)  # a batch not divisible by the group: one group


# ---- the network's contract -------------------------------------------------------------------
def test_truncation_zero_gives_the_average_w_image_for_every_z():
    network = tiny_network()
    images = network.sample(4, seed=1, truncation=0.0, noise="off")
    average = network.synthesize(network.generator.w_avg[None], noise="off")
    assert all(torch.equal(image, images[0]) for image in images)
    assert torch.allclose(images[0], average[0], atol=1e-5)  # another batch size: float rounding only
    assert not torch.allclose(network.sample(2, seed=1, noise="off")[0], network.sample(2, seed=1, noise="off")[1])
    # The same seed draws the same latents and noise; truncation 1 is the plain sample.
    assert torch.equal(network.sample(3, seed=5), network.sample(3, seed=5, truncation=1.0))


def test_mixing_with_crossover_0_or_num_layers_gives_the_pure_sources():
    network = tiny_network()
    generator = torch.Generator().manual_seed(2)
    z_a, z_b = torch.randn(3, 8, generator=generator), torch.randn(3, 8, generator=generator)
    pure_a = network.synthesize(network.map(z_a), seed=9)
    pure_b = network.synthesize(network.map(z_b), seed=9)
    assert torch.allclose(network.mix(z_a, z_b, crossover=network.num_layers, seed=9), pure_a, atol=1e-6)
    assert torch.allclose(network.mix(z_a, z_b, crossover=0, seed=9), pure_b, atol=1e-6)
    middle = network.mix(z_a, z_b, crossover=4, seed=9)
    assert not torch.allclose(middle, pure_a) and not torch.allclose(middle, pure_b)
    ws = network.mixed_styles(network.map(z_a), network.map(z_b), range(4, network.num_layers))
    assert torch.equal(ws[:, :4], network.generator.broadcast(network.map(z_a))[:, :4])
    assert torch.equal(ws[:, 4:], network.generator.broadcast(network.map(z_b))[:, 4:])


def test_noise_scale_zero_makes_the_output_independent_of_the_noise():
    network = tiny_network()
    w = network.map(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)))
    assert not torch.allclose(network.synthesize(w, seed=1), network.synthesize(w, seed=2))
    with torch.no_grad():
        for layer in network.generator.synthesis.layers:
            layer.noise.weight.zero_()
    assert torch.equal(network.synthesize(w, seed=1), network.synthesize(w, seed=2))
    assert torch.equal(network.synthesize(w, seed=1), network.synthesize(w, noise="off"))


def test_explicit_noise_and_per_layer_styles():
    network = tiny_network()
    w = network.map(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)))
    noise = [torch.randn(2, *shape) for shape in network.noise_shapes()]
    per_layer = network.generator.broadcast(w).clone()
    assert torch.equal(network.synthesize(w, noise=noise), network.synthesize(per_layer, noise=noise))
    assert len(noise) == network.num_layers == 8  # 4, 8, 16, 32 px: two styled layers each


def test_style_regions_split_the_layers():
    for size, expected in ((32, {"coarse": range(0, 4), "middle": range(4, 6), "fine": range(6, 8)}),
                           (64, {"coarse": range(0, 4), "middle": range(4, 8), "fine": range(8, 10)})):
        network = StyleGAN(**{**TINY, "image_size": size})
        assert network.style_regions() == expected
        assert [i for r in expected.values() for i in r] == list(range(network.num_layers))


def test_mixing_grid_layout():
    network = tiny_network()
    grid = network.mixing_grid([1, 2], [3, 4, 5], region="middle", noise_seed=0)
    assert grid.shape == (3 * 4, 1, 32, 32)
    cells = grid.view(3, 4, 1, 32, 32)
    assert torch.equal(cells[0, 0], torch.ones(1, 32, 32))  # the empty corner is white

    def styles(seed: int) -> torch.Tensor:
        return network.map(torch.randn(1, 8, generator=torch.Generator().manual_seed(seed)))

    noise = [t.expand(1, -1, -1, -1) for t in network.generator.make_noise(1, torch.Generator().manual_seed(0), network.generator.w_avg)]
    assert torch.allclose(cells[0, 2], network.synthesize(styles(4), noise=noise)[0], atol=1e-5)  # source B_2
    assert torch.allclose(cells[2, 0], network.synthesize(styles(2), noise=noise)[0], atol=1e-5)  # source A_2
    mixed = network.mixed_styles(styles(2), styles(5), network.style_regions()["middle"])
    assert torch.allclose(cells[2, 3], network.synthesize(mixed, noise=noise)[0], atol=1e-5)


def test_interpolation_in_w_space_ends_at_the_sources():
    network = tiny_network()
    generator = torch.Generator().manual_seed(1)
    z_a, z_b = torch.randn(2, 8, generator=generator), torch.randn(2, 8, generator=generator)
    path = network.interpolate_w(z_a, z_b, steps=5, seed=3)
    assert path.shape == (2, 5, 1, 32, 32)
    assert torch.allclose(path[:, 0], network.synthesize(network.map(z_a), seed=3), atol=1e-5)
    assert torch.allclose(path[:, -1], network.synthesize(network.map(z_b), seed=3), atol=1e-5)


def test_bad_inputs_are_named():
    network = tiny_network()
    with pytest.raises(ValueError, match="truncation"):
        network.sample(2, truncation=-0.5)
    with pytest.raises(ValueError, match=r"w must be styles of shape \(N, 8\)"):
        network.synthesize(torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"per-layer styles"):
        network.synthesize(torch.zeros(2, 5, 8))
    with pytest.raises(ValueError, match=r"z must be latents of shape \(N, 8\)"):
        network.map(torch.zeros(2, 9))
    with pytest.raises(ValueError, match="crossover"):
        network.mix(torch.zeros(1, 8), torch.zeros(1, 8), crossover=9)
    with pytest.raises(ValueError, match="noise must be"):
        network.sample(1, noise="loud")
    with pytest.raises(ValueError, match="noise must be"):
        network.synthesize(torch.zeros(1, 8), noise=[torch.zeros(1, 1, 4, 4)])
    with pytest.raises(ValueError, match="region"):
        network.mixing_grid([1], [2], region="everything")
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN(image_size=48)
    with pytest.raises(ValueError, match="expected images of shape"):
        network.discriminator(torch.zeros(2, 3, 32, 32))


def test_round_trip_keeps_w_avg(tmp_path):
    network = tiny_network()
    save_folder(network, tmp_path / "folder", weights_dtype="float32")
    loaded = load_folder(tmp_path / "folder")
    assert torch.equal(loaded.generator.w_avg, network.generator.w_avg)
    assert torch.equal(loaded.sample(2, seed=4, truncation=0.7), network.sample(2, seed=4, truncation=0.7))


# ---- training -------------------------------------------------------------------------------
def mnist32(fake_mnist) -> MNISTDataModule:
    return MNISTDataModule(str(fake_mnist), batch_size=8, val_size=0, download=False, image_size=32)  # 8 batches


def test_tiny_training_updates_everything_and_exports(fake_mnist, tmp_path):
    L.seed_everything(0)
    task = StyleGANTask(**TINY_TASK, r1_every=2)
    before = {k: v.detach().clone() for k, v in task.net.state_dict().items()}
    make_trainer(tmp_path, 1, [ExportCheckpoint(str(tmp_path / "export"), num_samples=4)]).fit(task, mnist32(fake_mnist))
    after = task.net.state_dict()
    unchanged = [k for k in after if torch.equal(after[k], before[k])]
    assert unchanged == [], unchanged  # every weight of both networks, and w_avg, moved
    assert int(task.discriminator_updates) == 8 and int(task.ema.n_averaged) == 8
    network = genzoo.load(tmp_path / "export")
    # The export holds the EMA generator (with the EMA of w_avg), rounded to the released float16.
    for key, value in task.ema.module.state_dict().items():
        assert torch.equal(network.generator.state_dict()[key], value.half().float()), key
    assert network.sample(2, seed=0, truncation=0.7).shape == (2, 1, 32, 32)


def test_bad_task_arguments():
    for bad in ({"mixing_probability": 1.5}, {"r1_gamma": -1.0}, {"w_avg_beta": 1.0}, {"ema_decay": 1.0}):
        with pytest.raises(ValueError):
            StyleGANTask(**TINY_TASK, **bad)


def test_resume_restores_everything_including_w_avg_and_ema(fake_mnist, tmp_path):
    """2 epochs straight == 1 epoch, checkpoint, a fresh random state, resume for 1 more."""
    L.seed_everything(0)
    straight = StyleGANTask(**TINY_TASK, r1_every=3)
    make_trainer(tmp_path / "a", 2).fit(straight, mnist32(fake_mnist))

    L.seed_everything(0)
    first_half = StyleGANTask(**TINY_TASK, r1_every=3)
    trainer = make_trainer(tmp_path / "b", 1)
    trainer.fit(first_half, mnist32(fake_mnist))
    trainer.save_checkpoint(tmp_path / "half.ckpt")

    torch.manual_seed(12345)
    L.seed_everything(0)
    resumed = StyleGANTask(**TINY_TASK, r1_every=3)
    trainer = make_trainer(tmp_path / "c", 2)
    trainer.fit(resumed, mnist32(fake_mnist), ckpt_path=str(tmp_path / "half.ckpt"))

    expected, actual = straight.state_dict(), resumed.state_dict()
    assert expected.keys() == actual.keys()
    assert {"net.generator.w_avg", "ema.module.w_avg", "discriminator_updates"} <= set(expected)
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    assert int(straight.ema.n_averaged) == 16


def test_bf16_mixed_precision_by_flag(fake_mnist, tmp_path):
    L.seed_everything(0)
    task = StyleGANTask(**TINY_TASK, r1_every=2)
    trainer = L.Trainer(max_steps=8, accelerator="cpu", devices=1, precision="bf16-mixed", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path))
    trainer.fit(task, mnist32(fake_mnist))
    assert int(task.discriminator_updates) == 4
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in task.net.parameters())


def test_two_process_ddp_run_of_the_recipe(fake_mnist, tmp_path):
    result = run_cli([
        "fit", "--config", str(REPO_ROOT / "recipes/stylegan/mnist.yaml"), "--data.data_dir", str(fake_mnist),
        "--data.batch_size", "8", "--model.init_args.latent_dim", "8", "--model.init_args.w_dim", "8",
        "--model.init_args.mapping_layers", "2", "--model.init_args.max_width", "8", "--model.init_args.width_base", "64",
        "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(tmp_path / "run"),
        "--trainer.enable_progress_bar", "false", "--trainer.callbacks+=ddp_check.WeightChecksum",
        "--trainer.devices", "2", "--trainer.strategy", "ddp_find_unused_parameters_true",
    ], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2] and records[0]["global_step"] > 0
    # Replicas hold identical weights, EMA and w_avg (averaged over both ranks' batches, though their latents differ).
    assert all(records[0][key] == records[1][key] for key in ("checksum", "buffers", "ema"))
    network = genzoo.load(tmp_path / "run" / "export")
    assert network.generator.w_avg.abs().sum() > 0


def test_sample_command_takes_truncation(tmp_path):
    from PIL import Image

    from genzoo.cli import main
    from genzoo.models.dcgan import DCGAN

    network = tiny_network()
    network.info = {"name": "tiny-stylegan", "family": "stylegan"}
    save_folder(network, tmp_path / "style")
    main(["sample", str(tmp_path / "style"), "--num", "4", "--out", str(tmp_path / "a.png"), "--seed", "1", "--truncation", "0.5"])
    main(["sample", str(tmp_path / "style"), "--num", "4", "--out", str(tmp_path / "b.png"), "--seed", "1"])
    assert Image.open(tmp_path / "a.png").size == (2 * 34 + 2, 2 * 34 + 2)  # 2x2 tiles of 32 px, 2 px padding
    assert Image.open(tmp_path / "a.png").tobytes() != Image.open(tmp_path / "b.png").tobytes()
    dcgan = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    save_folder(dcgan, tmp_path / "dcgan")
    with pytest.raises(SystemExit, match="has no truncation"):
        main(["sample", str(tmp_path / "dcgan"), "--num", "4", "--out", str(tmp_path / "c.png"), "--truncation", "0.5"])


def test_eval_measures_a_stylegan_as_a_sampler_not_as_a_texture_network(tmp_path, capsys):
    # StyleGAN has noise inputs like the texture networks; `genzoo eval` must still take it for a sampler.
    from PIL import Image

    from genzoo.cli import main

    network = tiny_network()
    network.info = {"name": "tiny-stylegan", "family": "stylegan"}
    save_folder(network, tmp_path / "style")
    (tmp_path / "faces").mkdir()
    generator = torch.Generator().manual_seed(0)
    for index in range(16):
        pixels = torch.randint(0, 256, (32, 32, 3), generator=generator, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(tmp_path / "faces" / f"{index}.png")
    main(["eval", str(tmp_path / "style"), "--metrics", "swd", "--data", str(tmp_path / "faces"),
          "--num-samples", "16", "--offline", "--no-progress", "--device", "cpu"])
    assert "SWD:" in capsys.readouterr().out
