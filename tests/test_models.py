"""The whole zoo, parametrized over the registry with tiny variants (timm's tests/test_models.py idea)."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import released_config, tiny_network

import genzoo
from genzoo.hub import load_folder, save_folder
from genzoo.models import get_architecture

NAMES = genzoo.list_models()


def test_registry_is_not_empty():
    assert {"dcgan-mnist", "wgan-gp-mnist", "dcgan-celeba"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_config_is_json_and_metadata_complete(name):
    network = tiny_network(name)
    assert json.loads(json.dumps(network.config)) == network.config
    info = genzoo.model_info(name)
    for key in ("family", "paper", "dataset", "image_size", "channels", "value_range", "latent_dim", "license", "recipe",
                "metrics", "training", "description", "limitations", "sha256", "hub_repo"):
        assert info.get(key) not in (None, "", []), key
    # Derived facts come from the network's own config, so they cannot disagree with it.
    config = released_config(name)["config"]
    assert info["image_size"] == config["image_size"] and info["channels"] == config["channels"]
    assert tuple(info["value_range"]) == get_architecture(info["architecture"]).VALUE_RANGE


@pytest.mark.parametrize("name", NAMES)
def test_sample_shape_range_and_seed(name):
    info = genzoo.model_info(name)
    network = tiny_network(name)
    images = network.sample(3, seed=7)
    assert images.shape == (3, info["channels"], info["image_size"], info["image_size"])
    assert images.dtype == torch.float32
    low, high = info["value_range"]
    assert images.min() >= low and images.max() <= high
    assert torch.equal(images, network.sample(3, seed=7))
    assert not torch.equal(images, network.sample(3, seed=8))


ADVERSARIAL = [n for n in NAMES if released_config(n)["architecture"] == "DCGAN"]


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_forward_backward_reaches_every_parameter(name):
    network = tiny_network(name).train()
    images = network.sample(4, seed=0)  # sample() must not leave the network in eval mode
    assert network.training
    z = torch.randn(4, network.latent_dim, requires_grad=False)
    fake = network.generator(z)
    score = network.discriminator(fake)
    assert score.shape == (4,)
    score.sum().backward()
    missing = [n for n, p in network.named_parameters() if p.grad is None]
    assert not missing, missing
    assert images.shape == fake.shape


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, tmp_path):
    network = tiny_network(name)
    sha256 = save_folder(network, tmp_path / name, card="card")
    loaded = load_folder(tmp_path / name, expected_sha256=sha256)
    assert type(loaded) is type(network) and loaded.config == network.config
    for key, value in network.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert torch.equal(network.sample(2, seed=3), loaded.sample(2, seed=3))
    assert loaded.info["name"] == name


def test_wrong_latent_and_image_shapes_are_named():
    network = tiny_network("dcgan-mnist")
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        network(torch.randn(2, 9))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        network.discriminator(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="image sizes"):
        get_architecture("DCGAN")(image_size=48)
    with pytest.raises(ValueError, match="positive"):
        network.sample(0)


def test_constructor_rejects_non_json_arguments():
    from genzoo.models._base import GenerativeNetwork

    with pytest.raises(TypeError, match="JSON-able"):
        GenerativeNetwork(activation=torch.nn.ReLU())


def test_unknown_name_lists_close_matches():
    with pytest.raises(genzoo.UnknownModelError, match="dcgan-mnist"):
        genzoo.load("dcgan-mnst")
    with pytest.raises(genzoo.UnknownModelError, match="Unknown model"):
        genzoo.model_info("no-such-thing")


def test_list_models_pattern():
    assert genzoo.list_models("*mnist*") == [n for n in NAMES if "mnist" in n]
    assert genzoo.list_models("zzz*") == []
