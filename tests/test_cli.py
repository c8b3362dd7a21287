"""The genzoo command: recipes parse, listing, info, sample, card, push --dry-run, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from conftest import network_output
from PIL import Image

import genzoo
from genzoo.cli import checkpoint_table, main
from genzoo.hub import model_cards_dir, save_folder
from genzoo.models.dcgan import DCGAN

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((REPO_ROOT / "recipes").rglob("*.yaml"))


def test_there_are_recipes():
    names = {str(p.relative_to(REPO_ROOT / "recipes")) for p in RECIPES}
    assert {"dcgan/mnist.yaml", "dcgan/celeba.yaml", "wgan/mnist.yaml", "wgan/gp-mnist.yaml"} <= names


def documented_config_chain(recipe: Path) -> list[str]:
    """The subcommand and --config files of the `genzoo ...` command a recipe's header documents.

    Overlay recipes compose on a base (``--config base.yaml --config overlay.yaml``); parsing the
    documented command checks the recipe and its documentation together.
    """
    header = " ".join(line.lstrip("#").strip().rstrip("\\") for line in recipe.read_text().splitlines() if line.startswith("#"))
    match = re.search(r"genzoo (fit|validate|test) (.*)", header)
    if not match:
        return ["fit", "--config", str(recipe)]
    configs = re.findall(r"--config (\S+\.yaml)", match.group(2))
    assert str(recipe.relative_to(REPO_ROOT)) in configs, f"{recipe}: its documented command does not use it"
    return [match.group(1)] + [arg for path in configs for arg in ("--config", str(REPO_ROOT / path))]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(REPO_ROOT / "recipes")))
def test_every_recipe_parses(recipe, capsys):
    # --print_config validates the whole recipe against the task, data module and trainer signatures.
    with pytest.raises(SystemExit) as exit_info:
        main(documented_config_chain(recipe) + ["--print_config"])
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "class_path: genzoo.tasks." in printed and "class_path: genzoo.data." in printed


def test_every_registered_recipe_exists():
    for name in genzoo.list_models():
        assert (REPO_ROOT / genzoo.model_info(name)["recipe"]).is_file(), name


def test_list_and_info(capsys):
    main(["list", "*mnist*"])
    listed = capsys.readouterr().out
    assert "dcgan-mnist" in listed and "dcgan-celeba" not in listed
    main(["info", "dcgan-celeba"])
    info = json.loads(capsys.readouterr().out)
    assert info["image_size"] == 64 and info["channels"] == 3


def test_unknown_model_exits_with_the_close_matches():
    with pytest.raises(SystemExit, match="Did you mean: dcgan-mnist"):
        main(["info", "dcgan-mnst"])
    with pytest.raises(SystemExit, match="Did you mean"):
        main(["sample", "dcgan-celba", "--out", "x.png"])


def test_readme_checkpoint_table_is_generated_from_the_registry():
    readme = (REPO_ROOT / "README.md").read_text()
    start, end = "<!-- checkpoint-table:start -->", "<!-- checkpoint-table:end -->"
    assert start in readme and end in readme
    table = readme.split(start)[1].split(end)[0].strip()
    assert table == checkpoint_table(genzoo.list_models()), "regenerate it with: genzoo list --markdown"


@pytest.fixture
def tiny_folder(tmp_path):
    network = DCGAN(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4)
    network.info = {"name": "tiny", "family": "dcgan"}
    save_folder(network, tmp_path / "tiny", card="old card")
    return tmp_path / "tiny"


def test_sample_writes_a_grid_from_a_folder(tiny_folder, tmp_path):
    out = tmp_path / "grid.png"
    main(["sample", str(tiny_folder), "--num", "16", "--out", str(out), "--seed", "1"])
    assert Image.open(out).size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 tiles of 28 px with 2 px padding


def test_card_is_rerendered_from_config(tiny_folder, capsys):
    main(["card", str(tiny_folder)])
    card = (tiny_folder / "README.md").read_text()
    assert card.startswith("---") and "library_name: genzoo" in card and "# tiny" in card


def test_push_dry_run_lists_files(tiny_folder, capsys):
    main(["push", str(tiny_folder), "--repo-id", "org/tiny", "--dry-run"])
    out = capsys.readouterr().out
    assert "would upload to org/tiny" in out and "model.safetensors" in out and "config.json" in out


def test_bad_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="No such checkpoint folder"):
        main(["sample", str(tmp_path / "nothing" / "here"), "--out", str(tmp_path / "x.png")])


SHIPPED = [name for name in genzoo.list_models() if (model_cards_dir() / name / "model.safetensors").is_file()]


def test_every_released_model_has_its_folder_in_the_clone():
    assert SHIPPED == genzoo.list_models()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_load_offline(name, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    network = genzoo.load(name)
    info = genzoo.model_info(name)
    if hasattr(network, "translate"):  # image-to-image translation: a seeded batch at the training size, each way
        size = info["image_size"]
        inputs = torch.rand(2, network.channels, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
        images = torch.cat([network.translate(inputs, d) for d in info["directions"]])
        assert images.shape == (2 * len(info["directions"]), info["channels"], size, size)
        figures = ("translations.png",)
    elif hasattr(network, "stylize"):  # style transfer: seeded photos (and a seeded style image, for AdaIN)
        images, figures = network_output(network, seed=0), ("translations.png",)
        assert images.shape == (2, 3, 16, 16)
    elif type(network).__name__ == "TransformationInterpolator":  # start-to-goal walks of seeded pairs
        size, steps = info["image_size"], network.config["max_steps"]
        images, figures = network_output(network, seed=0), ("interpolations.png", "returns.png", "walk.gif")
        assert images.shape == (2, steps + 1, info["channels"], size, size)
    elif hasattr(network, "upscale"):  # image-to-image: upscale a seeded image by every scale it was trained for
        image = torch.rand(3, 9, 8, generator=torch.Generator().manual_seed(0))
        outputs = [network.upscale(image, s) for s in info["scales"]]
        assert [o.shape for o in outputs] == [(3, 9 * s, 8 * s) for s in info["scales"]]
        images, figures = torch.stack([o[:, :9, :8] for o in outputs]), ("crops.png", "curve.png")
    else:
        images, figures = network.sample(4, seed=0), ("samples.png",)
        assert images.shape == (4, info["channels"], info["image_size"], info["image_size"])
    low, high = info["value_range"]
    assert images.min() >= low and images.max() <= high
    assert network.info["sha256"] == info["sha256"] and "training" in network.info
    card = (model_cards_dir() / name / "README.md").read_text()
    for section in ("## Training", "Command:", "Hardware:", "Wall time:", *figures):
        assert section in card, section
    for figure in figures:
        assert (model_cards_dir() / name / figure).is_file()


@pytest.mark.skipif("dcgan-mnist" not in SHIPPED, reason="dcgan-mnist is not shipped")
def test_readme_main_job(tmp_path):
    # README: genzoo sample dcgan-mnist --num 64 --out grid.png
    out = tmp_path / "grid.png"
    main(["sample", "dcgan-mnist", "--num", "64", "--out", str(out)])
    assert Image.open(out).size == (8 * 30 + 2, 8 * 30 + 2)
    images = genzoo.load("dcgan-mnist").sample(16)
    assert images.shape == (16, 1, 28, 28) and images.dtype.is_floating_point


def test_steps_refuses_one_step_models(tiny_folder, tmp_path):
    with pytest.raises(SystemExit, match="needs an iterative model"):
        main(["steps", str(tiny_folder), "--out", str(tmp_path / "x.gif")])


@pytest.mark.skipif("draw-mnist-noattn" not in SHIPPED, reason="no DRAW checkpoint is shipped")
def test_steps_writes_gif_and_grid(tmp_path):
    gif, grid = tmp_path / "steps.gif", tmp_path / "steps.png"
    main(["steps", "draw-mnist-noattn", "--num", "4", "--out", str(gif), "--grid", str(grid)])
    with Image.open(gif) as animation:
        assert animation.n_frames == genzoo.load("draw-mnist-noattn").config["steps"]  # a frame per step
    assert Image.open(grid).size[0] > Image.open(grid).size[1]  # a row per sample, a column per step


def test_eval_data_defaults_to_the_environment(monkeypatch):
    from genzoo.cli import build_parser

    monkeypatch.setenv("GENZOO_DATA_DIR", "/some/data")
    assert build_parser().parse_args(["eval", "dcgan-mnist"]).data == "/some/data"


@pytest.mark.skipif("dcgan-mnist" not in SHIPPED, reason="dcgan-mnist is not shipped")
def test_eval_of_a_shipped_checkpoint_offline(shared_data, monkeypatch, tmp_path, capsys):
    # The command, with fewer samples: genzoo eval dcgan-mnist --metrics fid,kid,swd
    monkeypatch.setenv("GENZOO_DATA_DIR", str(shared_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "eval.json"
    main(["eval", "dcgan-mnist", "--metrics", "fid,kid,swd", "--num-samples", "200", "--kid-subset-size", "100",
          "--no-progress", "--no-cache", "--json", str(out)])
    results = {m["type"]: m for m in json.loads(out.read_text())["metrics"]}
    assert set(results) == {"fid", "kid", "swd"}
    assert results["fid"]["protocol"]["extractor"] == "genzoo-mnist-classifier-v1"
    assert results["fid"]["protocol"]["num_generated"] == 200 and results["fid"]["value"] > 0
    assert "FID (genzoo-mnist-classifier-v1)" in capsys.readouterr().out
