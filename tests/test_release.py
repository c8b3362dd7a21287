"""The release layout: model_cards/ folders, half-size weights, the size budget, one source of truth per fact,
where a released name resolves, and the README's "Add a checkpoint" procedure walked on a tiny model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO_ROOT, is_interpolator, is_stylizer, is_translator, is_upscaler, write_fake_mnist

import genzoo
from genzoo import _registry
from genzoo.cards import (
    CardError,
    PLACEHOLDER,
    fill_placeholders,
    format_number,
    format_seconds,
    render_folder_card,
    traceable_numbers,
    untraceable_numbers,
    weights_dtypes,
)
from genzoo.cli import main
from genzoo.hub import (
    CONFIG_NAME,
    METRICS_NAME,
    WEIGHTS_NAME,
    CheckpointError,
    folder_info,
    model_cards_dir,
    read_metrics,
    sha256_of,
)

NAMES = genzoo.list_models()
MODEL_CARDS = REPO_ROOT / "model_cards"
MB = 1_000_000
HUB_FILE_SUFFIXES = {".json", ".safetensors", ".md", ".png", ".gif"}


# ---- layout and size budget ------------------------------------------------------------------------
def test_model_cards_live_at_the_top_level_one_folder_per_released_name():
    assert model_cards_dir() == MODEL_CARDS
    assert sorted(p.name for p in MODEL_CARDS.iterdir() if p.is_dir()) == NAMES
    assert not (REPO_ROOT / "genzoo" / "model_cards").exists()


@pytest.mark.parametrize("name", NAMES)
def test_folder_holds_exactly_what_its_hub_repo_holds(name):
    folder = MODEL_CARDS / name
    figures = (
        ("crops.png", "curve.png") if is_upscaler(name)
        else ("translations.png",) if is_translator(name) or is_stylizer(name)  # stylizers: content | style | output
        else ("interpolations.png", "returns.png", "walk.gif") if is_interpolator(name) else ("samples.png",)
    )
    for required in (CONFIG_NAME, WEIGHTS_NAME, "README.md", METRICS_NAME, *figures):
        assert (folder / required).is_file(), required
    strays = [p.name for p in folder.iterdir() if p.suffix not in HUB_FILE_SUFFIXES or not p.is_file()]
    assert not strays, f"{name}: files a Hub repo would not hold: {strays}"


def test_size_budget():
    for name in NAMES:
        size = (MODEL_CARDS / name / WEIGHTS_NAME).stat().st_size
        assert size <= 8 * MB, f"{name}: model.safetensors is {size:,} bytes (budget 8 MB): publish it to the Hub only"
        for figure in (MODEL_CARDS / name).glob("*.*"):
            if figure.suffix in (".png", ".gif"):
                assert figure.stat().st_size <= MB, f"{figure}: figures are optimized PNGs or small GIFs (<= 1 MB)"
    # The clone carries every release; 47 MB keeps the whole tracked tree (code, tests, docs: ~3.3 MB) under 48 MiB,
    # so that a GPU machine of ours (64 MiB with the tree) still receives the data a training run carries.
    total = sum(p.stat().st_size for p in MODEL_CARDS.rglob("*") if p.is_file())
    assert total <= 47 * MB, f"model_cards/ holds {total:,} bytes (budget 47 MB): publish new weights to the Hub only"


@pytest.mark.parametrize("name", NAMES)
def test_released_weights_are_half_precision_and_pinned(name):
    path = MODEL_CARDS / name / WEIGHTS_NAME
    assert set(weights_dtypes(path)) <= {"float16", "bfloat16"}, weights_dtypes(path)
    assert sha256_of(path) == _registry.RELEASES[name].sha256, "re-pin it: genzoo card prints the line"


def test_wheel_holds_code_and_metric_weights_but_no_model_cards():
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert "model_cards" not in pyproject.split("[tool.setuptools.package-data]")[1].split("[")[0]


# ---- one source of truth ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_card_is_rendered_from_the_folder_and_up_to_date(name):
    folder = MODEL_CARDS / name
    # strict: every placeholder of the card text names a measured number, a training fact or a config value
    assert (folder / "README.md").read_text() == render_folder_card(folder), f"re-render it: genzoo card {folder}"


@pytest.mark.parametrize("name", NAMES)
def test_card_text_quotes_no_number_from_nowhere(name):
    info = folder_info(MODEL_CARDS / name)
    for field in ("description", "limitations"):
        assert not untraceable_numbers(info[field], info), f"{name} {field}: write a placeholder instead"


@pytest.mark.parametrize("name", NAMES)
def test_every_recorded_number_was_measured_by_genzoo_eval(name):
    metrics = read_metrics(MODEL_CARDS / name)
    assert metrics
    for metric in metrics:
        assert metric["command"].startswith("genzoo eval ") and name in metric["command"], metric["name"]
        assert metric["hardware"] and metric["measured"] and metric["protocol"]["metric"] == metric["type"]


@pytest.mark.parametrize("name", NAMES)
def test_config_info_restates_nothing_derived(name):
    info = json.loads((MODEL_CARDS / name / CONFIG_NAME).read_text())["info"]
    restated = {"image_size", "channels", "latent_dim", "value_range", "paper", "metrics", "architecture", "pipeline_tag"} & set(info)
    assert not restated, f"{name}: config.json info restates {restated}"


def test_a_card_number_that_no_file_states_is_caught():
    info = folder_info(MODEL_CARDS / "dcgan-mnist")
    assert untraceable_numbers("its FID is 166 after 5 epochs", info) == ["166"]
    assert untraceable_numbers("its FID is {metric:fid}; run `genzoo eval --num-samples 123`", info) == []
    with pytest.raises(CardError, match="no metric has that name"):
        fill_placeholders("{metric:lpips}", info)
    assert "not measured yet" in fill_placeholders("{metric:lpips}", info, strict=False)


def test_a_card_may_quote_another_release_by_placeholder():
    other = folder_info(MODEL_CARDS / "dcgan-celeba")
    swd = next(m["value"] for m in other["metrics"] if m["name"] == "SWD")
    assert fill_placeholders("{release:dcgan-celeba:metric:SWD}", {}) == format_number(swd)
    assert fill_placeholders("{release:dcgan-celeba:training:wall_time}", {}) == format_seconds(other["training"]["wall_time_s"])
    for bad, message in (("{release:no-such-model:metric:SWD}", "no released checkpoint folder"),
                         ("{release:dcgan-celeba:metric:lpips}", "no metric has that name"),
                         ("{release:dcgan-celeba:release:dcgan-mnist:metric:fid}", "expected")):
        with pytest.raises(CardError, match=message):
            fill_placeholders(bad, {})


def test_dotted_training_keys_reach_the_record_a_retraining_replaced():
    info = {"training": {"wall_time_s": 60.0, "previous_release": {"wall_time_s": 3676.4, "metrics": {"MS-SSIM diversity": 0.33266}}}}
    assert fill_placeholders("{training:wall_time} / {training:previous_release.wall_time}", info) == "1m 00s / 1h 01m 16s"
    assert fill_placeholders("{training:previous_release.metrics.MS-SSIM diversity}", info) == "0.3327"
    assert "0.33266" in traceable_numbers(info)  # nested values count as stated by the checkpoint's files
    for bad, message in (("{training:first_release.wall_time}", "no 'first_release' section"),
                         ("{training:previous_release.batches}", "no training value 'batches'")):
        with pytest.raises(CardError, match=message):
            fill_placeholders(bad, info)


def test_the_registry_imports_no_family():
    code = "import sys, genzoo; genzoo.list_models(); print(any(m.startswith('genzoo.models.') and m != 'genzoo.models._base' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert "genzoo.models" not in (REPO_ROOT / "genzoo" / "_registry.py").read_text().split('"""')[-1]


# ---- resolving a released name ---------------------------------------------------------------------
def test_load_reports_both_places_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_MODEL_CARDS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    with pytest.raises(CheckpointError) as error:
        genzoo.load("dcgan-mnist", offline=True)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "dcgan-mnist") in message and "genzoo/dcgan-mnist" in message
    assert "GENZOO_MODEL_CARDS" in message
    with pytest.raises(CheckpointError, match="GENZOO_MODEL_CARDS"):
        genzoo.model_info("dcgan-mnist", offline=True)


def test_hub_fallback_fetches_the_pinned_repo_and_checks_its_hash(tmp_path, monkeypatch):
    import genzoo.hub as hub

    snapshot = tmp_path / "snapshot"
    shutil.copytree(MODEL_CARDS / "wgan-gp-mnist", snapshot)
    calls = []

    def fake_download(repo_id, revision=None, offline=None, patterns=None):
        calls.append((repo_id, revision, patterns))
        return snapshot

    monkeypatch.setenv("GENZOO_MODEL_CARDS", str(tmp_path / "nowhere"))
    monkeypatch.setattr(hub, "download_from_hub", fake_download)
    assert genzoo.load("wgan-gp-mnist").info["sha256"] == _registry.RELEASES["wgan-gp-mnist"].sha256
    assert calls[-1][:2] == ("genzoo/wgan-gp-mnist", _registry.RELEASES["wgan-gp-mnist"].revision)
    # model_info fetches only the two JSON files, not the weights
    assert genzoo.model_info("wgan-gp-mnist")["metrics"] == read_metrics(MODEL_CARDS / "wgan-gp-mnist")
    assert calls[-1][2] == [CONFIG_NAME, METRICS_NAME]
    with open(snapshot / WEIGHTS_NAME, "r+b") as handle:  # a tampered download is refused
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(CheckpointError, match="sha256"):
        genzoo.load("wgan-gp-mnist")


def test_load_dtype_and_device_choices():
    network = genzoo.load("dcgan-mnist", dtype="bfloat16")
    assert network.dtype == torch.bfloat16 and network.sample(2, seed=0).dtype == torch.bfloat16
    full = genzoo.load("dcgan-mnist")
    assert full.dtype == torch.float32
    torch.testing.assert_close(network.sample(2, seed=0).float(), full.sample(2, seed=0), atol=0.1, rtol=0)
    with pytest.raises(ValueError, match="dtype must be one of float32, float16, bfloat16"):
        genzoo.load("dcgan-mnist", dtype="int8")
    with pytest.raises(ValueError, match="not a device name torch knows"):
        genzoo.load("dcgan-mnist", device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available on this machine"):
            genzoo.load("dcgan-mnist", device="cuda")


def test_bad_names_say_what_is_wrong():
    with pytest.raises(ValueError, match="the model name is empty"):
        genzoo.load("")
    with pytest.raises(ValueError, match="the model name is empty"):
        genzoo.model_info("  ")
    with pytest.raises(TypeError, match="expected a model name"):
        genzoo.load(3)
    with pytest.raises(TypeError, match="shell-style string"):
        genzoo.list_models(3)
    with pytest.raises(ValueError, match="hf-hub:org/repo"):
        genzoo.load("hf-hub:")


# ---- the README's "Add a checkpoint" procedure, on a tiny model ---------------------------------------
def test_add_a_checkpoint(tmp_path, monkeypatch, capsys):
    data = write_fake_mnist(tmp_path / "data", train_count=64, test_count=32)
    cards = tmp_path / "model_cards"
    folder = cards / "dcgan-tiny"
    # 1. Export from the recipe: the released recipe with tiny overrides, writing the Hub folder.
    main([
        "fit", "--config", str(REPO_ROOT / "recipes/dcgan/mnist.yaml"), "--data.data_dir", str(data),
        "--data.download", "false", "--data.batch_size", "16", "--model.init_args.name", "dcgan-tiny",
        "--model.init_args.g_width", "4", "--model.init_args.d_width", "4", "--model.init_args.latent_dim", "8",
        "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false", "--trainer.logger", "false",
        "--trainer.default_root_dir", str(tmp_path / "run"),
    ])
    shutil.copytree(tmp_path / "run" / "export", folder)
    assert set(weights_dtypes(folder / WEIGHTS_NAME)) == {"float16"}
    # 2. Evaluate into the folder's metrics.json (stamped with command, hardware, date).
    main(["eval", str(folder), "--metrics", "swd,msssim", "--data", str(data), "--dataset", "mnist", "--num-samples", "32", "--no-progress",
          "--no-cache", "--json", str(folder / METRICS_NAME)])
    # 3. Write the card's human text, numbers only as placeholders; the card is re-rendered.
    main(["card", str(folder), "--description", "A tiny DCGAN, trained for {training:epochs} epoch.",
          "--limitations", "Its SWD is {metric:swd}: a smoke test, not a model.", "--dataset", "fake MNIST digits",
          "--license", "cc-by-sa-3.0", "--recipe", "recipes/dcgan/mnist.yaml"])
    printed = capsys.readouterr().out
    assert 'Release("dcgan-tiny", "' in printed and "warning" not in printed
    swd = next(m for m in read_metrics(folder) if m["type"] == "swd")
    card = (folder / "README.md").read_text()
    assert f"Its SWD is {swd['value']:.4g}" in card and "trained for 1 epoch" in card
    assert card == render_folder_card(folder)
    # 4. Pin its hash: then the name loads from model_cards/ with its facts, numbers and card.
    monkeypatch.setitem(_registry.RELEASES, "dcgan-tiny", _registry.Release("dcgan-tiny", sha256_of(folder / WEIGHTS_NAME)))
    monkeypatch.setenv("GENZOO_MODEL_CARDS", str(cards))
    network = genzoo.load("dcgan-tiny", offline=True)
    info = genzoo.model_info("dcgan-tiny", offline=True)
    assert network.info["metrics"] == info["metrics"] and info["dataset"] == "fake MNIST digits"
    assert info["image_size"] == 28 and info["latent_dim"] == 8 and info["family"] == "dcgan"
    assert not untraceable_numbers(info["description"] + info["limitations"], info)
    # A placeholder that names nothing is reported, not silently printed as text.
    main(["card", str(folder), "--limitations", "Its FID is {metric:fid}."])
    assert "{metric:fid} names nothing yet" in capsys.readouterr().out
    assert not PLACEHOLDER.search(render_folder_card(folder, strict=False).split("## Limitations")[1].replace("*{metric:fid}: not measured yet*", ""))


# ---- a non-editable install ---------------------------------------------------------------------------
def test_wheel_install_loads_offline_from_a_clone_or_says_how(tmp_path):
    """`pip install .` (not editable) into a fresh virtual environment: the wheel holds no weights; every
    released name loads offline once GENZOO_MODEL_CARDS points at a clone's model_cards/, and without it
    the error says how to get the weights."""
    # Build the wheel as `pip install .` does, from a copy of the clone (so no build files land in it), with this
    # environment's setuptools; install it into a fresh venv that sees this environment's torch & co.
    pytest.importorskip("setuptools", reason="building the wheel without isolation needs setuptools here")
    source = tmp_path / "clone"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".git", "runs", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheels"), str(source)],
        check=True, cwd=tmp_path,
    )
    wheel = next((tmp_path / "wheels").glob("genzoo-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True, cwd=tmp_path)
    import zipfile

    packed = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in packed if n.endswith("model.safetensors")] and any(n.endswith("classifier-v1.safetensors") for n in packed)
    code = (
        "import json, sys, genzoo, genzoo.hub as hub\n"
        "names = genzoo.list_models()\n"
        "try:\n"
        "    genzoo.load(names[0], offline=True); err = ''\n"
        "except genzoo.CheckpointError as e:\n"
        "    err = str(e)\n"
        "print(json.dumps({'file': genzoo.__file__, 'names': names, 'error': err}))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env.pop("GENZOO_MODEL_CARDS", None)
    env.pop("PYTHONPATH", None)  # the venv must import what it installed, not a source tree
    result = json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path, env=env).stdout)
    assert str(venv) in result["file"], "the venv must import the installed wheel, not the clone"
    assert result["names"] == NAMES
    assert "GENZOO_MODEL_CARDS" in result["error"] and "genzoo/" in result["error"]
    assert not list(venv.rglob("model.safetensors")), "the wheel carries no checkpoint weights"
    loads = (
        "import genzoo, torch\nfor n in genzoo.list_models():\n    m = genzoo.load(n, offline=True)\n"
        "    if hasattr(m, 'translate'):\n        m.translate(torch.rand(1, m.channels, m.image_size, m.image_size) * 2 - 1)\n"
        "    elif hasattr(m, 'upscale'):\n        m.upscale(torch.rand(3, 8, 8), m.scales[0])\n"
        "    elif hasattr(m, 'interpolate'):\n        m.interpolate(*torch.rand(2, m.channels, m.image_size, m.image_size))\n"
        "    elif hasattr(m, 'encode'):\n        m.stylize(torch.rand(3, 16, 16), torch.rand(3, 16, 16))\n"  # AdaIN: any style
        "    elif hasattr(m, 'stylize'):\n        m.stylize(torch.rand(3, 16, 16))\n"
        "    else:\n        m.sample(1, seed=0)\nprint('ok')"
    )
    env["GENZOO_MODEL_CARDS"] = str(MODEL_CARDS)
    out = subprocess.run([str(python), "-c", loads], capture_output=True, text=True, check=True, cwd=tmp_path, env=env)
    assert out.stdout.strip() == "ok"
