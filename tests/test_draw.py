"""DRAW: filterbanks, attention read/write, the bound (KL, ELBO, importance weighting), training,
round trips, bad inputs, the step-by-step animation, and the shipped checkpoints."""

from __future__ import annotations

import json
import math

import pytest
import torch

import genzoo
from genzoo.animation import save_steps_gif, save_steps_grid
from genzoo.hub import load_folder, save_folder
from genzoo.models.draw import (
    DRAW,
    GaussianAttention,
    attention_read,
    attention_write,
    bernoulli_nll,
    filterbank,
    gaussian_kl,
    gaussian_log_density,
)

SHIPPED = ("draw-mnist", "draw-mnist-noattn")


def tiny(**overrides) -> DRAW:
    torch.manual_seed(0)
    kwargs = dict(image_size=28, channels=1, steps=3, enc_size=16, dec_size=16, latent_dim=4, read_n=3, write_n=4)
    return DRAW(**{**kwargs, **overrides})


def binary_digits(n: int = 8, seed: int = 0) -> torch.Tensor:
    """Binary 28x28 'digits': a bright square whose place depends on the index, plus sparse noise."""
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, 28, 28, generator=generator) < 0.03).float()
    for i in range(n):
        top, left = 2 + 3 * (i % 5), 4 + 10 * ((i // 5) % 2)
        x[i, 0, top : top + 10, left : left + 10] = 1.0
    return x


# ---- filterbanks and attention ---------------------------------------------------------------------
def test_filterbank_shape_normalisation_and_centres():
    centre, delta, sigma2 = torch.tensor([14.5, 10.0]), torch.tensor([2.0, 1.5]), torch.tensor([1.0, 0.5])
    bank = filterbank(centre, delta, sigma2, grid_size=5, image_side=28)
    assert bank.shape == (2, 5, 28)
    assert (bank >= 0).all()
    torch.testing.assert_close(bank.sum(-1), torch.ones(2, 5))  # each filter sums to 1 over the pixels
    pixels = torch.arange(1, 29, dtype=torch.float32)
    mean = (bank * pixels).sum(-1)  # centre of mass of each filter (well inside the image)
    expected = centre[:, None] + (torch.arange(1, 6) - 5 / 2 - 0.5) * delta[:, None]  # eq. 19
    torch.testing.assert_close(mean, expected, atol=1e-4, rtol=0)
    variance = (bank * (pixels - mean[..., None]) ** 2).sum(-1)
    torch.testing.assert_close(variance, sigma2[:, None].expand(2, 5), atol=1e-3, rtol=1e-3)
    # Very narrow filters stay finite (softmax normalization, no division by ~0).
    narrow = filterbank(centre, delta, torch.tensor([1e-6, 1e-6]), 5, 28)
    assert torch.isfinite(narrow).all()
    torch.testing.assert_close(narrow.sum(-1), torch.ones(2, 5))


def _full_glimpse(attention: GaussianAttention, log_sigma2: float, log_gamma: float = 0.0):
    # g~ = 0 centres the grid; delta~ = 1 makes it span pixels 1..A exactly (eq. 21-24).
    zeros = torch.zeros(2)
    return attention.filters(zeros, zeros, torch.full((2,), log_sigma2), zeros, torch.full((2,), log_gamma))


def test_full_image_glimpse_reproduces_downsampled_image():
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    # N = 10: stride (28 - 1) / 9 = 3 pixels, so narrow filters pick pixels 1, 4, ..., 28 (1-based).
    fy, fx, gamma = _full_glimpse(GaussianAttention(8, 10, 28, 28), log_sigma2=math.log(1e-3))
    torch.testing.assert_close(attention_read(x, fy, fx, gamma), x[:, :, ::3, ::3], atol=1e-5, rtol=0)
    # N = A: the identity.
    fy, fx, gamma = _full_glimpse(GaussianAttention(8, 28, 28, 28), log_sigma2=math.log(1e-3))
    torch.testing.assert_close(attention_read(x, fy, fx, gamma), x, atol=1e-5, rtol=0)
    # Wide filters on a smooth image: close to bilinear resampling at the same grid (corners aligned).
    coarse = torch.rand(2, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.interpolate(coarse, size=28, mode="bicubic", align_corners=True)
    fy, fx, gamma = _full_glimpse(GaussianAttention(8, 7, 28, 28), log_sigma2=0.0)
    glimpse = attention_read(smooth, fy, fx, gamma)
    reference = torch.nn.functional.interpolate(smooth, size=7, mode="bilinear", align_corners=True)
    assert (glimpse - reference)[..., 1:-1, 1:-1].abs().max() < 0.02  # at most 0.013 over 200 random images
    # gamma scales the glimpse.
    fy, fx, gamma = _full_glimpse(GaussianAttention(8, 10, 28, 28), math.log(1e-3), log_gamma=math.log(2.0))
    torch.testing.assert_close(attention_read(x, fy, fx, gamma), 2 * x[:, :, ::3, ::3], atol=1e-5, rtol=0)


def test_attention_write_is_the_adjoint_of_read():
    # <gamma F_Y x F_X^T, w> = gamma^2 <x, (1/gamma) F_Y^T w F_X>
    attention = GaussianAttention(8, 5, 28, 28)
    fy, fx, gamma = attention(torch.randn(3, 8))
    x, w = torch.randn(3, 2, 28, 28), torch.randn(3, 2, 5, 5)
    left = (attention_read(x, fy, fx, gamma) * w).sum(dim=(1, 2, 3))
    right = gamma**2 * (x * attention_write(w, fy, fx, gamma)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(left, right, rtol=1e-4, atol=1e-4)


def test_write_attention_starts_mass_preserving():
    # At initialization (h_dec = 0) a constant patch writes about that constant over the whole image.
    net = tiny(write="attention", write_n=5)
    update = net.writer.attention(torch.zeros(1, 16))
    canvas = attention_write(torch.full((1, 1, 5, 5), 2.0), *update)
    assert 1.6 < canvas[0, 0, 4:24, 4:24].mean() < 2.4


# ---- the bound -----------------------------------------------------------------------------------
def test_kl_closed_form_matches_monte_carlo():
    generator = torch.Generator().manual_seed(0)
    mu, log_sigma = torch.tensor([0.0, 1.5, -0.7, 0.3]), torch.tensor([0.0, -0.5, 0.4, -1.2])
    z = mu + log_sigma.exp() * torch.randn(400_000, 4, generator=generator)
    zeros = torch.zeros_like(z)
    monte_carlo = (gaussian_log_density(z, mu, log_sigma) - gaussian_log_density(z, zeros, zeros)).mean(0)
    closed = gaussian_kl(mu, log_sigma)
    torch.testing.assert_close(closed[0], torch.tensor(0.0))
    torch.testing.assert_close(monte_carlo, closed, atol=0.01, rtol=0.01)
    normal = torch.distributions.Normal(mu, log_sigma.exp())
    torch.testing.assert_close(gaussian_log_density(z[:5], mu, log_sigma), normal.log_prob(z[:5]))
    kl = torch.distributions.kl_divergence(normal, torch.distributions.Normal(0.0, 1.0))
    torch.testing.assert_close(closed, kl)


def test_bernoulli_nll_is_summed_binary_cross_entropy_in_nats():
    logits, x = torch.zeros(2, 1, 28, 28), binary_digits(2)
    torch.testing.assert_close(bernoulli_nll(logits, x), torch.full((2,), 784 * math.log(2.0)))


def test_elbo_and_importance_weighted_bound_bracket_the_exact_likelihood():
    # One step with a one-dimensional latent: -log p(x) = -log integral p(x|z) N(z; 0, 1) dz is a
    # quadrature. ELBO >= IWAE_K >= exact, and IWAE approaches the exact value as K grows.
    net = tiny(steps=1, latent_dim=1, read="linear", write="linear").eval()
    with torch.no_grad():
        net.writer.linear.weight.mul_(20.0)  # make p(x|z) depend strongly on z
    x = binary_digits(4)
    grid = torch.linspace(-8, 8, 4001)
    with torch.no_grad():
        logits = net.decode(grid.view(1, -1, 1))  # (4001, 1, 28, 28)
        log_px_z = -torch.stack([bernoulli_nll(logits, xi.expand_as(logits)) for xi in x])  # (4, 4001)
        log_joint = log_px_z - 0.5 * grid**2 - 0.5 * math.log(2 * math.pi)
        exact = -(torch.logsumexp(log_joint.double(), dim=1) + math.log(grid[1] - grid[0])).float()
    # Each bound holds in expectation over z ~ Q: average a few seeds.
    elbo_avg = torch.stack([net.nll(x, 1, seed=s) for s in range(20)]).mean(0)
    iwae_10_avg = torch.stack([net.nll(x, 10, seed=s) for s in range(20)]).mean(0)
    iwae_2000 = net.nll(x, 2000, seed=0)
    assert elbo_avg.shape == iwae_2000.shape == (4,)
    assert (elbo_avg > iwae_10_avg + 1.0).all(), (elbo_avg, iwae_10_avg)  # loose here, ~10 nats above
    assert (iwae_10_avg > exact - 0.05).all(), (iwae_10_avg, exact)
    torch.testing.assert_close(iwae_2000, exact, atol=0.1, rtol=0)
    assert torch.equal(net.nll(x, 10, seed=0), net.nll(x, 10, seed=0))  # seeded
    assert not torch.equal(net.nll(x, 1, seed=0), net.nll(x, 1, seed=1))


def test_forward_is_reconstruction_plus_kl():
    net = tiny().eval()
    x = binary_digits(3)
    noise = torch.randn(3, 3, 4)
    reconstruction, kl = net.loss_terms(x, noise)
    assert (kl >= 0).all()
    torch.testing.assert_close(net(x, noise), reconstruction + kl)


# ---- training --------------------------------------------------------------------------------------
@pytest.mark.parametrize("read,write", [("attention", "attention"), ("linear", "linear"), ("conv", "conv")])
def test_a_few_steps_reduce_the_loss_on_tiny_data(read, write):
    net = tiny(read=read, write=write)
    x = binary_digits(16)
    noise = torch.randn(30, 3, 16, 4, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    with torch.no_grad():
        before = net(x, noise[0]).mean()
    for step in range(30):
        loss = net(x, noise[step]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = net(x, noise[0]).mean()
    assert torch.isfinite(after)
    assert after < before - 50, (before.item(), after.item())  # from ~543 nats (p = 0.5 everywhere)


def test_every_parameter_gets_a_gradient():
    for read, write in [("attention", "attention"), ("linear", "linear"), ("conv", "conv")]:
        net = tiny(read=read, write=write)
        net(binary_digits(2)).sum().backward()
        missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing, (read, write, missing)


def test_task_trains_tests_and_exports(fake_mnist, tmp_path):
    import lightning as L

    from genzoo.callbacks import ExportCheckpoint
    from genzoo.data import MNISTDataModule
    from genzoo.tasks import DRAWTask

    data = MNISTDataModule(str(fake_mnist), batch_size=16, val_size=16, value_range=(0.0, 1.0), download=False)
    task = DRAWTask(steps=2, enc_size=8, dec_size=8, latent_dim=3, read_n=2, write_n=3, name="draw-mnist",
                    eval_importance_samples=4, eval_output=str(tmp_path / "eval.json"))
    trainer = L.Trainer(max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                        callbacks=[ExportCheckpoint(num_samples=4)], limit_val_batches=1)
    L.seed_everything(0)
    trainer.fit(task, datamodule=data)
    assert trainer.global_step == 4
    network = load_folder(tmp_path / "export")
    assert network.info["family"] == "draw" and tuple(network.info["value_range"]) == (0.0, 1.0)
    assert network.config["steps"] == 2
    data_binary = MNISTDataModule(str(fake_mnist), batch_size=16, val_size=16, value_range=(0.0, 1.0),
                                  binarize="stochastic", download=False)
    trainer.test(task, datamodule=data_binary, verbose=False)
    results = json.loads((tmp_path / "eval.json").read_text())
    assert results["images"] == 16
    assert results["iwae4_nats"] <= results["nelbo_nats"] + 5.0
    assert math.isclose(results["nelbo_bits_per_dim"], results["nelbo_nats"] / (784 * math.log(2)), rel_tol=1e-9)


# ---- API ------------------------------------------------------------------------------------------
def test_sample_steps_reconstruct_and_seed():
    net = tiny()
    images = net.sample(5, seed=3)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    steps = net.sample(5, seed=3, return_steps=True)
    assert steps.shape == (3, 5, 1, 28, 28)
    torch.testing.assert_close(steps[-1], images)
    assert not torch.equal(images, net.sample(5, seed=4))
    x = binary_digits(4)
    recon = net.reconstruct(x, seed=0)
    assert recon.shape == x.shape and torch.equal(recon, net.reconstruct(x, seed=0))
    assert net.reconstruct(x, seed=0, return_steps=True).shape == (3, 4, 1, 28, 28)
    assert net.training  # sample() and reconstruct() restore the mode
    assert net.value_range == (0.0, 1.0)


def test_round_trip(tmp_path):
    net = tiny(read="attention", write="attention")
    net.info = {"name": "draw-mnist", "value_range": [0.0, 1.0]}
    sha256 = save_folder(net, tmp_path / "draw", card="card")
    loaded = load_folder(tmp_path / "draw", expected_sha256=sha256)
    assert type(loaded) is DRAW and loaded.config == net.config
    assert torch.equal(loaded.sample(3, seed=1), net.sample(3, seed=1))
    x = binary_digits(3)
    assert torch.equal(loaded.nll(x, 3, seed=0), net.nll(x, 3, seed=0))


def test_bad_inputs_give_clear_errors():
    net = tiny()
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        net.nll(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        net.reconstruct(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="binary"):
        net.nll(torch.full((2, 1, 28, 28), 0.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        net.reconstruct(torch.full((2, 1, 28, 28), 2.0))
    with pytest.raises(ValueError, match="num_importance_samples"):
        net.nll(binary_digits(2), 0)
    with pytest.raises(ValueError, match="positive"):
        net.sample(0)
    with pytest.raises(TypeError, match="positive integer"):  # a wrong type is a TypeError that says what is expected
        net.sample(2.5)
    assert net.sample(torch.tensor(2).numpy().item()).shape[0] == 2
    with pytest.raises(ValueError, match="read must be one of"):
        DRAW(read="glimpse")
    with pytest.raises(ValueError, match="divisible by 4"):
        DRAW(image_size=30, read="conv")
    with pytest.raises(ValueError, match=r"\(T, N, 4\)"):
        net.decode(torch.zeros(3, 2, 5))


# ---- animation ------------------------------------------------------------------------------------
def test_steps_gif_and_grid(tmp_path):
    from PIL import Image

    steps = tiny().sample(6, seed=0, return_steps=True)
    gif = save_steps_gif(steps, tmp_path / "a" / "steps.gif", nrow=3, scale=2)
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 3
        assert image.size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))  # 3 x 2 grid of 28 px + 2 px padding
    grid = save_steps_grid(steps, tmp_path / "steps.png")
    with Image.open(grid) as image:
        assert image.size == (3 * 30 + 2, 6 * 30 + 2)  # a row per image, a column per step
    long = torch.rand(20, 2, 1, 28, 28)
    with Image.open(save_steps_grid(long, tmp_path / "long.png", max_columns=5)) as image:
        assert image.size == (5 * 30 + 2, 2 * 30 + 2)
    with pytest.raises(ValueError, match=r"\(T, n, C, H, W\)"):
        save_steps_gif(torch.rand(2, 1, 28, 28), tmp_path / "bad.gif")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        save_steps_grid(torch.rand(2, 1, 1, 28, 28) * 2 - 1, tmp_path / "bad.png")


def test_steps_gif_levels_round_to_evenly_spaced_values(tmp_path):
    from PIL import Image, ImageSequence

    steps = torch.rand(4, 9, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    full = save_steps_gif(steps, tmp_path / "full.gif")
    coarse = save_steps_gif(steps, tmp_path / "coarse.gif", levels=5)
    with Image.open(coarse) as image:
        values = set()
        for frame in ImageSequence.Iterator(image):
            values |= set(frame.convert("L").getdata())
    assert values <= {0, 64, 128, 191, 255} and len(values) > 2  # 255 * k / 4, rounded; padding is white
    assert coarse.stat().st_size < full.stat().st_size
    with pytest.raises(ValueError, match="levels"):
        save_steps_gif(steps, tmp_path / "bad.gif", levels=1)
    with pytest.raises(ValueError, match="at most 256"):
        save_steps_gif(steps, tmp_path / "bad.gif", levels=300)


# ---- released checkpoints -----------------------------------------------------------------------
def test_released_variants():
    for name in SHIPPED:
        info = genzoo.model_info(name)
        assert info["family"] == "draw" and tuple(info["value_range"]) == (0.0, 1.0)
        network = DRAW(**{**info["config"], **DRAW.TINY_CONFIG})
        assert network.sample(2, seed=0).shape == (2, 1, 28, 28)
    assert genzoo.model_info("draw-mnist")["config"]["read"] == "attention"
    assert genzoo.model_info("draw-mnist-noattn")["config"]["read"] == "linear"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_loads_offline_with_its_nll(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    network = genzoo.load(name, offline=True)
    assert isinstance(network, DRAW) and network.info["name"] == name
    bounds = {m["protocol"]["nll_bound"]: m for m in network.info["metrics"] if m["type"] == "nll"}
    assert set(bounds) == {"elbo", "iwae-100"}
    assert bounds["elbo"]["protocol"]["reference_transform"].startswith("binarized (stochastic")
    # Both are upper bounds on -log p(x); the importance-weighted one is the tighter, and bits/dim match nats.
    assert bounds["iwae-100"]["value"] < bounds["elbo"]["value"]
    assert bounds["elbo"]["bits_per_dim"] == pytest.approx(bounds["elbo"]["value"] / (784 * math.log(2)))
    steps = network.sample(4, seed=0, return_steps=True)
    assert steps.shape == (network.steps, 4, 1, 28, 28)
