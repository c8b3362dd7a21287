"""Training tasks end to end on tiny networks and synthetic data: fit, export, resume, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

import genzoo
from genzoo.callbacks import ChannelsLast, ExportCheckpoint, SampleGrid, save_grid
from genzoo.data import MNISTDataModule
from genzoo.tasks import DCGANTask, WGANTask

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = dict(image_shape=(1, 28, 28), latent_dim=8, g_width=4, d_width=4)
TASKS = {
    "dcgan": lambda: DCGANTask(**TINY, ema_decay=0.9, name="dcgan-mnist"),
    "wgan-clip": lambda: WGANTask(**TINY, penalty="clip", n_critic=2, ema_decay=0.9),  # bursts: test_wgan_critic_schedule
    "wgan-gp": lambda: WGANTask(**TINY, d_norm="layer", penalty="gp", n_critic=2, optimizer="adam", lr=1e-4),
}


def make_trainer(root: Path, max_epochs: int, callbacks=()) -> L.Trainer:
    return L.Trainer(
        max_epochs=max_epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(root), callbacks=list(callbacks),
    )


def datamodule(fake_mnist: Path) -> MNISTDataModule:
    return MNISTDataModule(str(fake_mnist), batch_size=8, val_size=0, download=False)  # 64 digits: 8 batches


@pytest.mark.parametrize("kind", TASKS)
def test_fit_updates_weights_and_exports_a_loadable_folder(kind, fake_mnist, tmp_path):
    L.seed_everything(0)
    task = TASKS[kind]()
    before = {k: v.detach().clone() for k, v in task.net.named_parameters()}  # parameters: BN statistics move anyway
    trainer = make_trainer(tmp_path, 1, [SampleGrid(num=4), ExportCheckpoint(str(tmp_path / "export"), num_samples=4)])
    trainer.fit(task, datamodule(fake_mnist))
    changed = [k for k, v in task.net.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith("generator.") for k in changed) and any(k.startswith("discriminator.") for k in changed)
    assert all(torch.isfinite(v).all() for v in task.net.state_dict().values() if v.is_floating_point())
    if kind == "wgan-clip":
        assert max(p.abs().max().item() for p in task.net.discriminator.parameters()) <= 0.01 + 1e-9
    network = genzoo.load(tmp_path / "export")
    assert network.info["training"]["batches"] == 8 and network.info["training"]["images_seen"] == 64
    assert "## Training" in (tmp_path / "export" / "README.md").read_text()
    assert (tmp_path / "export" / "samples.png").is_file() and list((tmp_path).rglob("samples/epoch000*.png"))
    # The export holds the EMA generator when there is one (dcgan and wgan-clip keep one here).
    assert (task.ema is not None) == (kind != "wgan-gp")
    exported = network.generator.state_dict()
    source = task.ema.module.state_dict() if task.ema is not None else task.net.generator.state_dict()
    # Released weights are stored in float16 (loaded into float32): equal after the same rounding.
    stored = {k: v.cpu().half().float() if v.is_floating_point() else v.cpu() for k, v in source.items()}
    assert all(torch.equal(exported[k], stored[k]) for k in exported)


def test_save_grid_palette_option(tmp_path):
    from PIL import Image

    images = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    rgb = save_grid(images, tmp_path / "rgb.png", nrow=4)
    small = save_grid(images, tmp_path / "palette.png", nrow=4, palette_colors=16)
    with Image.open(rgb) as a, Image.open(small) as b:
        assert (a.mode, b.mode, a.size) == ("RGB", "P", b.size) and len(b.getcolors()) <= 16
    assert small.stat().st_size < rgb.stat().st_size
    with Image.open(save_grid(images[:, :1], tmp_path / "grey.png", palette_colors=16)) as grey:
        assert grey.mode == "L"  # one channel stays greyscale
    for bad, error in ((1, ValueError), (257, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match="palette_colors"):
            save_grid(images, tmp_path / "bad.png", palette_colors=bad)
    assert not (tmp_path / "bad.png").exists()


def test_wgan_critic_schedule():
    task = WGANTask(**TINY, n_critic=5, critic_burst=True)
    assert task.critic_updates_needed() == 100  # first 25 generator updates
    task.generator_updates.fill_(25)
    assert task.critic_updates_needed() == 5
    task.generator_updates.fill_(500)
    assert task.critic_updates_needed() == 100
    assert WGANTask(**TINY, n_critic=5).critic_updates_needed() == 5


def test_bad_task_arguments():
    with pytest.raises(ValueError, match="batch norm"):
        WGANTask(**TINY, penalty="gp", d_norm="batch")
    with pytest.raises(ValueError, match="penalty"):
        WGANTask(**TINY, penalty="spectral")
    with pytest.raises(ValueError, match="ema_decay"):
        DCGANTask(**TINY, ema_decay=1.5)


@pytest.mark.parametrize("kind", ["dcgan", "wgan-clip", "wgan-gp"])
def test_resume_restores_everything(kind, fake_mnist, tmp_path):
    """2 epochs straight == 1 epoch, checkpoint, fresh process state, resume for 1 more (weights, EMA, counters)."""
    L.seed_everything(0)
    straight = TASKS[kind]()
    make_trainer(tmp_path / "a", 2).fit(straight, datamodule(fake_mnist))

    L.seed_everything(0)
    first_half = TASKS[kind]()
    trainer = make_trainer(tmp_path / "b", 1)
    trainer.fit(first_half, datamodule(fake_mnist))
    checkpoint = tmp_path / "half.ckpt"
    trainer.save_checkpoint(checkpoint)

    torch.manual_seed(12345)  # a different global random state, as in a new process
    L.seed_everything(0)
    resumed = TASKS[kind]()
    trainer = make_trainer(tmp_path / "c", 2)
    trainer.fit(resumed, datamodule(fake_mnist), ckpt_path=str(checkpoint))
    assert trainer.global_step == straight.trainer.global_step

    expected, actual = straight.state_dict(), resumed.state_dict()
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    if kind != "wgan-gp":  # these keep an EMA, updated once per generator update
        assert any(k.startswith("ema.") for k in expected)
        generator_updates = 16 if kind == "dcgan" else int(straight.generator_updates)  # dcgan: 2 epochs x 8 batches
        assert generator_updates > 0 and int(straight.ema.n_averaged) == generator_updates


def test_training_record_survives_resume(fake_mnist, tmp_path):
    L.seed_everything(0)
    trainer = make_trainer(tmp_path, 1, [ExportCheckpoint(str(tmp_path / "first"))])
    trainer.fit(TASKS["dcgan"](), datamodule(fake_mnist))
    trainer.save_checkpoint(tmp_path / "half.ckpt")
    first = genzoo.load(tmp_path / "first").info["training"]

    trainer = make_trainer(tmp_path, 2, [ExportCheckpoint(str(tmp_path / "second"))])
    trainer.fit(TASKS["dcgan"](), datamodule(fake_mnist), ckpt_path=str(tmp_path / "half.ckpt"))
    second = genzoo.load(tmp_path / "second").info["training"]
    assert (first["batches"], second["batches"]) == (8, 16) and second["images_seen"] == 128
    assert second["wall_time_s"] >= first["wall_time_s"] and second["resumed_from"].endswith("half.ckpt")


def run_cli(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'tests'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "genzoo.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def tiny_recipe_args(fake_mnist: Path, root: Path, recipe: str = "recipes/dcgan/mnist.yaml") -> list[str]:
    return [
        "fit", "--config", str(REPO_ROOT / recipe), "--data.data_dir", str(fake_mnist), "--data.batch_size", "8",
        "--model.init_args.g_width", "4", "--model.init_args.d_width", "4", "--model.init_args.latent_dim", "8",
        "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(root),
        "--trainer.enable_progress_bar", "false", "--trainer.callbacks+=ddp_check.WeightChecksum",
    ]


@pytest.mark.parametrize("recipe", ["recipes/dcgan/mnist.yaml", "recipes/wgan/gp-mnist.yaml"])
def test_two_process_ddp_run_of_an_adversarial_recipe(recipe, fake_mnist, tmp_path):
    result = run_cli(
        tiny_recipe_args(fake_mnist, tmp_path / "run", recipe)
        + ["--trainer.devices", "2", "--trainer.strategy", "ddp_find_unused_parameters_true"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2]
    # 64 digits, batch 8 per process: 4 batches each; the replicas must hold identical weights.
    assert records[0]["checksum"] == records[1]["checksum"] and records[0]["ema"] == records[1]["ema"]
    assert records[0]["global_step"] > 0
    assert genzoo.load(tmp_path / "run" / "export").info["training"]["hardware"].find("2 process") >= 0


def test_plain_ddp_is_refused_with_the_fix(fake_mnist, tmp_path):
    result = run_cli(tiny_recipe_args(fake_mnist, tmp_path / "run") + ["--trainer.devices", "2", "--trainer.strategy", "ddp"], cwd=tmp_path)
    assert result.returncode != 0
    assert "ddp_find_unused_parameters_true" in result.stderr


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_mixed_precision_by_trainer_flag(kind, fake_mnist, tmp_path):
    # bf16 autocast runs on CPUs; on GPUs the same flag is 16-mixed or bf16-mixed.
    L.seed_everything(0)
    task = TASKS[kind]()
    trainer = L.Trainer(max_steps=6, accelerator="cpu", devices=1, precision="bf16-mixed", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path))
    trainer.fit(task, datamodule(fake_mnist))
    assert trainer.global_step == 6
    parameters = [p for p in task.net.parameters()]
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in parameters)  # master weights stay fp32


def test_channels_last_training_updates_the_weights_and_exports_the_usual_layout(fake_mnist, tmp_path):
    L.seed_everything(0)
    task = TASKS["dcgan"]()
    before = {k: v.detach().clone() for k, v in task.net.named_parameters()}
    trainer = L.Trainer(max_steps=6, accelerator="cpu", devices=1, precision="bf16-mixed", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path), callbacks=[ChannelsLast(), ExportCheckpoint(str(tmp_path / "export"), num_samples=4)])
    trainer.fit(task, datamodule(fake_mnist))
    convolutions = [p for p in task.net.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convolutions)
    assert any(not p.is_contiguous() for p in convolutions)  # (a one-channel or 1x1 weight is both)
    # The optimizers built before the conversion still update the converted parameters.
    assert all(not torch.equal(p, before[k]) for k, p in task.net.named_parameters() if p.dim() == 4)
    network = genzoo.load(tmp_path / "export")
    assert all(v.is_contiguous() for v in network.state_dict().values())
    stored = {k: v.half().float() for k, v in task.ema.module.state_dict().items() if v.is_floating_point()}
    assert all(torch.equal(network.generator.state_dict()[k], v) for k, v in stored.items())
    # The layout changes how the numbers are stored, not what the network computes.
    usual, channels_last = (DCGANTask(**TINY).net.generator.eval() for _ in range(2))
    for generator in (usual, channels_last):
        generator.load_state_dict(task.net.generator.state_dict())
    z = torch.randn(4, TINY["latent_dim"])
    with torch.no_grad():
        torch.testing.assert_close(channels_last.to(memory_format=torch.channels_last)(z), usual(z), rtol=1e-4, atol=1e-5)


def test_fine_tuning_starts_from_a_released_checkpoint(tmp_path):
    from genzoo.hub import save_folder
    from genzoo.models.dcgan import DCGAN

    torch.manual_seed(3)
    released = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    save_folder(released, tmp_path / "release")
    task = DCGANTask(**TINY, init_from=str(tmp_path / "release"), ema_decay=0.9)
    for key, value in released.state_dict().items():
        assert torch.equal(task.net.state_dict()[key], value), key
    assert torch.equal(task.ema.module.net[0].weight, released.generator.net[0].weight)  # the EMA starts there too
    with pytest.raises(Exception, match="do not match|size mismatch"):
        DCGANTask(**{**TINY, "g_width": 8}, init_from=str(tmp_path / "release"))
