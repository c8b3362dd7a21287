"""Image-to-image translation (CycleGAN, pix2pix): networks, pools, edges, losses, data, training, resume, DDP, CLI, eval."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch

import genzoo
from conftest import write_image_folder
from genzoo.callbacks import ExportCheckpoint, SampleGrid
from genzoo.data import EdgesToFacesDataModule, PairedImageDataModule, UnpairedImageDataModule, edge_map
from genzoo.data.translation import edge_image
from genzoo.hub import load_folder, save_folder
from genzoo.losses import cycle_consistency_loss, identity_loss, lsgan_discriminator_loss, lsgan_generator_loss
from genzoo.models.translation import CycleGAN, PatchGANDiscriminator, Pix2Pix, ResnetGenerator, UNetGenerator
from genzoo.tasks import CycleGANTask, Pix2PixTask
from genzoo.tasks.translation import ImagePool, LinearDecay
from test_training import REPO_ROOT, make_trainer, run_cli

TINY_CYCLEGAN = dict(image_shape=(3, 32, 32), ngf=4, ndf=4, n_blocks=1, d_layers=2, domain_a="horse", domain_b="zebra",
                     pool_size=3, lr_constant_steps=3, lr_decay_steps=6, name="cyclegan-horse2zebra")
TINY_PIX2PIX = dict(image_shape=(3, 32, 32), ngf=4, ndf=4, depth=3, d_layers=2, domain_a="edges", domain_b="face",
                    lr_constant_steps=2, lr_decay_steps=4, name="pix2pix-celeba-edges")


@pytest.fixture
def two_domains(tmp_path) -> Path:
    """A tiny CycleGAN layout: 6 A and 8 B training images (36x40: not square), 3 and 4 test images."""
    root = tmp_path / "two"
    for folder, count, seed in (("trainA", 6, 0), ("trainB", 8, 1), ("testA", 3, 2), ("testB", 4, 3)):
        write_image_folder(root / folder, count=count, size=(36, 40), seed=seed)
    return root


@pytest.fixture
def faces(tmp_path) -> Path:
    return write_image_folder(tmp_path / "faces", count=12, size=(40, 48), seed=5)


def unpaired(root: Path, batch_size: int = 2) -> UnpairedImageDataModule:
    return UnpairedImageDataModule(str(root), load_size=36, crop_size=32, batch_size=batch_size)  # 8 pairs: 4 batches


def edges_to_faces(folder: Path) -> EdgesToFacesDataModule:
    return EdgesToFacesDataModule(str(folder), image_size=32, crop="center", test_size=4, batch_size=4)  # 8 pairs: 2 batches


# ---- networks -------------------------------------------------------------------------------
@pytest.mark.parametrize("n_layers", [2, 3])
def test_patchgan_receptive_field_by_backpropagation(n_layers):
    # Back-propagate from one output score: the input pixels with a gradient are the patch it sees. No norm layer,
    # since instance norm (and batch norm in training) would couple every pixel.
    torch.manual_seed(0)
    discriminator = PatchGANDiscriminator(3, ndf=4, n_layers=n_layers, norm="none")
    image = torch.randn(1, 3, 200, 200, requires_grad=True)
    scores = discriminator(image)
    scores[0, 0, scores.shape[2] // 2, scores.shape[3] // 2].backward()
    rows, cols = image.grad[0].abs().sum(0).nonzero(as_tuple=True)
    side = int(rows.max() - rows.min() + 1)
    assert side == int(cols.max() - cols.min() + 1) == discriminator.receptive_field()
    if n_layers == 3:
        assert side == 70  # the papers' 70x70 PatchGAN


def test_generators_keep_the_input_size():
    resnet = ResnetGenerator(3, 3, ngf=4, n_blocks=2)
    assert resnet(torch.randn(2, 3, 36, 44)).shape == (2, 3, 36, 44)
    unet = UNetGenerator(3, 3, ngf=4, depth=3)
    out = unet(torch.randn(2, 3, 24, 40))
    assert out.shape == (2, 3, 24, 40) and out.abs().max() <= 1.0  # tanh output
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in resnet.modules()) == 2 + 2 * 2  # c7s1 x2, 2 per block


def test_translate_checks_its_inputs():
    cyclegan = CycleGAN(image_size=32, **CycleGAN.TINY_CONFIG)
    images = torch.rand(2, 3, 32, 36) * 2 - 1
    assert cyclegan.translate(images, "b2a").shape == (2, 3, 32, 36)
    assert cyclegan.translate(images[0]).shape == (3, 32, 36)  # one image without a batch dimension
    with pytest.raises(ValueError, match=r"divisible by 4, got 30x36"):
        cyclegan.translate(torch.zeros(1, 3, 30, 36))
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        cyclegan.translate(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="direction must be 'a2b' or 'b2a'"):
        cyclegan.translate(images, "horse2zebra")
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        cyclegan.translate(images * 3)
    with pytest.raises(NotImplementedError, match="does not sample from noise"):
        cyclegan.sample(2)
    pix2pix = Pix2Pix(image_size=32, **Pix2Pix.TINY_CONFIG)
    with pytest.raises(ValueError, match="divisible by 8"):
        pix2pix.translate(torch.zeros(1, 3, 32, 36))
    with pytest.raises(ValueError, match="pix2pix learns one direction"):
        pix2pix.translate(torch.zeros(1, 3, 32, 32), "b2a")
    with pytest.raises(ValueError, match="divisible by 64"):
        Pix2Pix(image_size=32, depth=6)


def test_metadata_names_the_directions():
    info = CycleGAN.describe(CycleGAN(image_size=32, domain_a="horse", domain_b="zebra", **CycleGAN.TINY_CONFIG).config)
    assert info["directions"] == {"a2b": "horse -> zebra", "b2a": "zebra -> horse"}
    assert info["pipeline_tag"] == "image-to-image" and info["value_range"] == [-1.0, 1.0] and info["size_divisor"] == 4
    info = Pix2Pix.describe(Pix2Pix(image_size=64, ngf=4, ndf=4, domain_a="edges", domain_b="face").config)
    assert info["directions"] == {"a2b": "edges -> face"} and info["size_divisor"] == 64  # depth log2(64) = 6


def test_save_load_round_trip(tmp_path):
    for network in (CycleGAN(image_size=32, **CycleGAN.TINY_CONFIG), Pix2Pix(image_size=32, **Pix2Pix.TINY_CONFIG)):
        folder = tmp_path / type(network).__name__
        save_folder(network, folder, weights_dtype="float32")
        loaded = load_folder(folder)
        assert type(loaded) is type(network) and loaded.config == network.config
        assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in network.state_dict().items())
        images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
        assert torch.equal(network.translate(images), loaded.translate(images))  # eval mode: no dropout


# ---- pools, edges, losses --------------------------------------------------------------------
def test_pool_fills_first_then_returns_stored_images_half_the_time():
    pool = ImagePool(4, (1, 1, 1))
    generator = torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first, generator), first) and int(pool.count) == 4  # filling: shown as they are
    assert torch.equal(pool.images, first)
    stored_shown, new = 0, 0
    for step in range(250):
        batch = torch.full((4, 1, 1, 1), 100.0 + step)
        out = pool.query(batch, generator)
        stored_shown += int((out != batch).sum())
        new += 4
    assert 0.4 < stored_shown / new < 0.6  # an older image half the time
    assert int(pool.count) == 4 and pool.images.min() >= 100.0  # the first images were swapped out long ago
    # The same generator seed makes the same choices.
    again = [ImagePool(2, (1, 1, 1)) for _ in range(2)]
    outs = [[p.query(torch.full((2, 1, 1, 1), float(i)), torch.Generator().manual_seed(i)) for i in range(6)] for p in again]
    assert all(torch.equal(a, b) for a, b in zip(*outs))
    assert torch.equal(ImagePool(0, (1, 1, 1)).query(first, generator), first)  # size 0: no history


def test_edge_operator_is_deterministic_sized_and_finds_a_step():
    image = torch.zeros(1, 3, 20, 24, dtype=torch.uint8)
    image[..., 12:] = 200  # a vertical step at column 12
    edges = edge_map(image)
    assert edges.shape == (1, 1, 20, 24) and set(edges.unique().tolist()) <= {0.0, 1.0}
    assert edges[0, 0, :, 11:13].all() and not edges[0, 0, :, :9].any() and not edges[0, 0, :, 15:].any()
    photos = torch.randint(0, 256, (3, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert torch.equal(edge_map(photos), edge_map(photos.clone()))
    assert torch.equal(edge_map(photos.flip(-1)), edge_map(photos).flip(-1))  # commutes with the training flips
    assert torch.equal(edge_map(photos.float() / 255), edge_map(photos))  # uint8 and [0, 1] floats agree
    inputs = edge_image(photos)
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 3, 16, 16) and torch.equal(inputs[:, 0], inputs[:, 2])
    with pytest.raises(ValueError, match=r"RGB images \(N, 3, H, W\)"):
        edge_map(torch.zeros(1, 1, 8, 8))


def test_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 1.0])
    # 1/2 [mean((1-1)^2, (0.5-1)^2) + mean(0^2, 1^2)] = 1/2 [0.125 + 0.5]
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.3125)
    assert lsgan_generator_loss(fake).item() == pytest.approx(0.5)  # mean((0-1)^2, (1-1)^2)
    a, b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    reconstructed_a = torch.tensor([0.0, 0.0, 0.0, 1.0]).view(1, 1, 2, 2)  # mean |.| = 0.25
    assert cycle_consistency_loss(a, reconstructed_a, b, b * 0.5).item() == pytest.approx(0.25 + 0.5)
    assert identity_loss(a, a, b, b).item() == 0.0
    assert identity_loss(a, a + 0.1, b, b - 0.2).item() == pytest.approx(0.3)


def test_linear_decay_schedule():
    decay = LinearDecay(constant_steps=4, decay_steps=4)
    assert [decay(step) for step in range(10)] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert LinearDecay(5, 0)(100) == 1.0
    with pytest.raises(ValueError):
        LinearDecay(-1, 4)


# ---- data -----------------------------------------------------------------------------------
def test_unpaired_data_crops_flips_and_serves_both_domains(two_domains):
    module = unpaired(two_domains)
    module.setup("fit")
    assert module.image_shape == (3, 32, 32) and len(module.train_set) == 8  # the larger domain
    L.seed_everything(0)
    a, b = module.train_set[0]
    assert a.shape == b.shape == (3, 32, 32) and -1.0 <= a.min() and a.max() <= 1.0
    L.seed_everything(0)
    assert all(torch.equal(x, y) for x, y in zip((a, b), module.train_set[0]))  # seeded by the global state
    test_a, test_b = module.preview_inputs(2)
    assert test_a.shape == test_b.shape == (2, 3, 32, 32)


def test_bad_folders_are_named(two_domains, tmp_path):
    with pytest.raises(FileNotFoundError, match="trainB does not exist"):
        write_image_folder(tmp_path / "half" / "trainA", count=2)
        unpaired(tmp_path / "half").setup()
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    (tmp_path / "empty" / "trainB").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        unpaired(tmp_path / "empty").setup()
    (two_domains / "trainA" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot read image .*broken.jpg"):
        unpaired(two_domains).setup()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        unpaired(tmp_path / "nowhere").setup()
    with pytest.raises(ValueError, match="load_size >= crop_size"):
        UnpairedImageDataModule(str(two_domains), load_size=30, crop_size=32)


def test_paired_folders_pair_by_name(tmp_path):
    root = tmp_path / "pairs"
    write_image_folder(root / "trainA", count=4, size=(32, 32))
    write_image_folder(root / "trainB", count=4, size=(32, 32), seed=1)
    module = PairedImageDataModule(str(root), load_size=36, crop_size=32, batch_size=2)
    module.setup()
    assert len(module.train_set) == 4 and module.train_set[0][0].shape == (3, 32, 32)
    (root / "trainB" / "0003.png").rename(root / "trainB" / "other.png")
    with pytest.raises(ValueError, match=r"same file names; 1 only in trainA \(e.g. \['0003'\]\), 1 only in trainB"):
        PairedImageDataModule(str(root), load_size=36, crop_size=32).setup()


def test_edges_to_faces_holds_out_the_last_faces(faces):
    module = edges_to_faces(faces)
    module.setup()
    assert len(module.train_set) == 8 and module.image_shape == (3, 32, 32)
    edges, face = module.train_set.inputs[0], module.train_set.targets[0]
    assert torch.equal(edges, edge_image(face[None])[0])  # the input is the operator applied to the target
    assert module.test_a.shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="not enough to hold out"):
        EdgesToFacesDataModule(str(faces), image_size=32, test_size=12).setup()


# ---- training -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cyclegan", "pix2pix"])
def test_tiny_training_updates_weights_and_exports(kind, two_domains, faces, tmp_path):
    L.seed_everything(0)
    task = CycleGANTask(**TINY_CYCLEGAN) if kind == "cyclegan" else Pix2PixTask(**TINY_PIX2PIX)
    data = unpaired(two_domains) if kind == "cyclegan" else edges_to_faces(faces)
    before = {k: v.detach().clone() for k, v in task.net.named_parameters()}
    make_trainer(tmp_path, 2, [SampleGrid(num=6), ExportCheckpoint(str(tmp_path / "export"))]).fit(task, data)
    unchanged = [k for k, v in task.net.named_parameters() if torch.equal(v, before[k])]
    assert unchanged == [], unchanged  # every generator and discriminator weight moved
    network = genzoo.load(tmp_path / "export")
    assert network.info["family"] == "translation" and network.info["training"]["batches"] == (8 if kind == "cyclegan" else 4)
    assert (tmp_path / "export" / "translations.png").is_file() and list(tmp_path.rglob("samples/epoch001*.png"))
    assert network.translate(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    # The schedule was stepped once per batch: constant, then decaying (cyclegan: 8 batches, 3 constant, 6 decaying).
    batches, hp = network.info["training"]["batches"], task.hparams
    expected = 2e-4 * LinearDecay(hp.lr_constant_steps, hp.lr_decay_steps)(batches)
    assert 0 < expected < 2e-4 and all(opt.param_groups[0]["lr"] == pytest.approx(expected) for opt in task.optimizers())


@pytest.mark.parametrize("kind", ["cyclegan", "pix2pix"])
def test_resume_restores_everything_including_pools_and_schedules(kind, two_domains, faces, tmp_path):
    """2 epochs straight == 1 epoch, checkpoint, a fresh random state, resume for 1 more."""

    def make():
        if kind == "cyclegan":
            return CycleGANTask(**TINY_CYCLEGAN), unpaired(two_domains)
        return Pix2PixTask(**{**TINY_PIX2PIX, "pool_size": 3}), edges_to_faces(faces)

    L.seed_everything(0)
    straight, data = make()
    make_trainer(tmp_path / "a", 2).fit(straight, data)

    L.seed_everything(0)
    first_half, data = make()
    trainer = make_trainer(tmp_path / "b", 1)
    trainer.fit(first_half, data)
    trainer.save_checkpoint(tmp_path / "half.ckpt")

    torch.manual_seed(12345)
    L.seed_everything(0)
    resumed, data = make()
    trainer = make_trainer(tmp_path / "c", 2)
    trainer.fit(resumed, data, ckpt_path=str(tmp_path / "half.ckpt"))

    expected, actual = straight.state_dict(), resumed.state_dict()
    assert expected.keys() == actual.keys()
    pools = [k for k in expected if k.startswith("pool")]
    assert pools and all(int(expected[k]) > 0 for k in pools if k.endswith("count"))
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    for a, b in zip(straight.lr_schedulers(), resumed.lr_schedulers()):
        assert a.state_dict()["last_epoch"] == b.state_dict()["last_epoch"] > 0 and a.get_last_lr() == b.get_last_lr()


def test_bad_task_arguments():
    for bad in ({"gan_loss": "hinge"}, {"lambda_cycle": -1.0}, {"pool_size": -1}, {"lr_decay_steps": -1}, {"norm": "layer"}):
        with pytest.raises(ValueError):
            CycleGANTask(**{**TINY_CYCLEGAN, **bad})
    with pytest.raises(ValueError, match="lambda_l1"):
        Pix2PixTask(**{**TINY_PIX2PIX, "lambda_l1": -1.0})


def recipe_args(recipe: str, data: Path, root: Path, extra: list[str]) -> list[str]:
    return ["fit", "--config", str(REPO_ROOT / recipe), "--data.data_dir", str(data), "--trainer.max_epochs", "1",
            "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false",
            *extra]


def test_two_process_ddp_run_of_the_cyclegan_recipe(two_domains, tmp_path):
    tiny = ["--data.load_size", "36", "--data.crop_size", "32", "--model.init_args.ngf", "4", "--model.init_args.ndf", "4",
            "--model.init_args.n_blocks", "1", "--model.init_args.d_layers", "2", "--trainer.callbacks+=ddp_check.WeightChecksum",
            "--trainer.devices", "2", "--trainer.strategy", "ddp_find_unused_parameters_true"]
    result = run_cli(recipe_args("recipes/cyclegan/horse2zebra.yaml", two_domains, tmp_path / "run", tiny), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2] and records[0]["global_step"] > 0
    assert records[0]["checksum"] == records[1]["checksum"]  # the replicas hold identical weights
    network = genzoo.load(tmp_path / "run" / "export")
    assert network.info["name"] == "cyclegan-horse2zebra" and network.info["domains"] == {"a": "horse", "b": "zebra"}
    assert "2 process" in network.info["training"]["hardware"]


# ---- CLI and evaluation ------------------------------------------------------------------------
@pytest.fixture
def tiny_cyclegan_folder(tmp_path) -> Path:
    torch.manual_seed(0)
    network = CycleGAN(image_size=32, domain_a="horse", domain_b="zebra", **CycleGAN.TINY_CONFIG)
    network.info = {"name": "tiny-cyclegan", "family": "translation"}
    save_folder(network, tmp_path / "cyclegan")
    return tmp_path / "cyclegan"


def test_translate_command_writes_images_and_a_grid(tiny_cyclegan_folder, two_domains, tmp_path, capsys):
    from PIL import Image

    from genzoo.cli import main

    main(["translate", str(tiny_cyclegan_folder), "--input", str(two_domains / "testB"), "--output", str(tmp_path / "out"),
          "--direction", "b2a", "--grid", str(tmp_path / "grid.png")])
    assert "translated zebra -> horse" in capsys.readouterr().out
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == [f"{i:04d}_b2a.png" for i in range(4)]
    assert Image.open(written[0]).size == (32, 32)  # resized to the network's training size
    assert Image.open(tmp_path / "grid.png").size == (2 * 34 + 2, 4 * 34 + 2)  # input | output, a row per image
    main(["translate", str(tiny_cyclegan_folder), "--input", str(two_domains / "testA" / "0000.png"), "--output", str(tmp_path / "one.png")])
    assert Image.open(tmp_path / "one.png").size == (32, 32)
    with pytest.raises(SystemExit, match="--direction must be one of a2b, b2a"):
        main(["translate", str(tiny_cyclegan_folder), "--input", str(two_domains / "testA"), "--output", str(tmp_path / "x"),
              "--direction", "sideways"])


def test_eval_of_a_cyclegan_on_tiny_folders(tiny_cyclegan_folder, two_domains, tmp_path):
    from genzoo.cli import main

    main(["eval", str(tiny_cyclegan_folder), "--metrics", "swd,cycle", "--data", str(two_domains), "--json", str(tmp_path / "m.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())["metrics"]
    names = [m["name"] for m in metrics]
    assert names == ["SWD a2b (horse -> zebra)", "SWD a2b untranslated (horse vs zebra)", "Cycle L1 a->b->a (horse)",
                     "SWD b2a (zebra -> horse)", "SWD b2a untranslated (zebra vs horse)", "Cycle L1 b->a->b (zebra)"]
    assert all({"command", "hardware", "measured", "protocol"} <= set(m) for m in metrics)
    assert metrics[0]["protocol"]["num_real"] == metrics[0]["protocol"]["num_generated"] == 3  # min(testA, testB)
    assert metrics[0]["value"] != metrics[1]["value"] and metrics[0]["protocol"]["reference_split"] == "testB"
    with pytest.raises(SystemExit, match="measured with swd, cycle"):
        main(["eval", str(tiny_cyclegan_folder), "--metrics", "fid", "--data", str(two_domains)])


def test_eval_of_a_pix2pix_on_a_tiny_folder(faces, tmp_path):
    from genzoo.cli import main

    network = Pix2Pix(image_size=32, domain_a="edges", domain_b="face", **Pix2Pix.TINY_CONFIG)
    network.info = {"name": "tiny-pix2pix", "family": "translation"}
    save_folder(network, tmp_path / "pix2pix")
    main(["eval", str(tmp_path / "pix2pix"), "--metrics", "l1,psnr,ssim,msssim", "--data", str(faces), "--split", "last:4",
          "--json", str(tmp_path / "m.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())["metrics"]
    assert [m["type"] for m in metrics] == ["recon_l1", "psnr", "ssim", "ms_ssim"]
    assert all(m["protocol"]["reference_split"] == "last:4" and "edge_image" in m["protocol"]["inputs"] for m in metrics)
    assert 0 < metrics[0]["value"] < 1 and metrics[0]["name"] == "L1 (edges -> face)"
