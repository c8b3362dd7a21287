"""IAN (Brock et al. 2017): MDC blocks, losses, IAF, editing operations, training, round trip, bad inputs."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from genzoo import editing
from genzoo.hub import load_folder, save_folder
from genzoo.layers import MDCBlock, MinibatchDiscrimination
from genzoo.losses.ian import (
    GENERATED,
    REAL,
    RECONSTRUCTED,
    beta_nll,
    conv_kernels,
    feature_l2_loss,
    flow_kl,
    kernel_matrix,
    orthogonal_regularization,
    ternary_discriminator_loss,
    ternary_generator_loss,
)
from genzoo.models.ian import IAN, TINY, RandomizedMADE
from genzoo.tasks.ian import IANTask

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny(**overrides) -> IAN:
    kwargs = dict(image_size=32, channels=3, **TINY)
    kwargs.update(overrides)
    return IAN(**kwargs)


def calibrated(net: IAN, seed: int = 0) -> IAN:
    """Fill the batch-norm statistics with a few train-mode passes, so eval mode is not a near-constant map."""
    generator = torch.Generator().manual_seed(seed)
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net.generator(torch.randn(32, net.latent_dim, generator=generator))
            net.discriminator.features(torch.rand(32, net.channels, net.image_size, net.image_size, generator=generator) * 2 - 1)
    return net.eval()


# ---- MDC -----------------------------------------------------------------------------------
@pytest.mark.parametrize("c, n, s", [(3, 8, 2), (16, 16, 3), (5, 7, 1)])
def test_mdc_weight_count_matches_the_formula(c, n, s):
    block = MDCBlock(c, n, s)
    assert sum(p.numel() for p in block.parameters()) == n * (9 * c + s + 1)


def test_mdc_is_the_weighted_sum_of_dilated_banks_and_the_mean_filter():
    torch.manual_seed(0)
    block = MDCBlock(4, 6, scales=3)
    with torch.no_grad():
        block.coefficients.copy_(torch.randn(6, 4))
    x = torch.randn(2, 4, 11, 11)
    k = block.coefficients
    expected = sum(
        F.conv2d(x, block.weight, padding=d, dilation=d) * k[:, d - 1].view(1, -1, 1, 1) for d in (1, 2, 3)
    ) + F.conv2d(x, block.weight.mean((2, 3), keepdim=True)) * k[:, 3].view(1, -1, 1, 1)
    torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-5)
    assert block(x).shape == (2, 6, 11, 11)


def test_generator_has_more_mdc_blocks_in_later_layers_and_none_when_switched_off():
    net = IAN(image_size=64, channels=3, **TINY)
    counts = [sum(isinstance(m, MDCBlock) for m in stage.modules()) for stage in net.generator.stages]
    assert counts == [0, 1, 1, 2]
    off = IAN(image_size=64, channels=3, mdc=False, **TINY)
    assert not any(isinstance(m, MDCBlock) for m in off.modules())
    assert sum(isinstance(m, torch.nn.Conv2d) for m in off.generator.stages.modules()) == 4  # plain 3x3 in their place


# ---- orthogonal regularization ---------------------------------------------------------------
def test_orthogonal_regularization_hand_computed():
    w = torch.tensor([[1.0, 1.0], [0.0, 1.0]])  # W W^T - I = [[1, 1], [1, 0]]
    assert orthogonal_regularization([w]).item() == pytest.approx(3.0)


def test_orthogonal_regularization_is_zero_for_orthogonal_kernels_and_positive_otherwise():
    torch.manual_seed(0)
    conv, deconv = torch.nn.Conv2d(4, 8, 3), torch.nn.ConvTranspose2d(16, 8, 4)
    torch.nn.init.orthogonal_(conv.weight)  # rows of the (8, 4 * 3 * 3) matrix orthonormal
    rows = torch.empty(8, 16 * 4 * 4)
    torch.nn.init.orthogonal_(rows)
    with torch.no_grad():  # a transposed conv's weight is (in, out, kh, kw): its rows are per output channel
        deconv.weight.copy_(rows.view(8, 16, 4, 4).transpose(0, 1))
    torch.testing.assert_close(kernel_matrix(deconv.weight, transposed=True), rows)
    assert orthogonal_regularization([kernel_matrix(conv.weight)]).item() < 1e-4
    assert orthogonal_regularization(conv_kernels(deconv)).item() < 1e-4
    with torch.no_grad():
        conv.weight.mul_(1.5)
    assert orthogonal_regularization([kernel_matrix(conv.weight)]).item() > 1.0
    assert orthogonal_regularization([torch.randn(8, 36)]).item() > 1.0


def test_orthogonal_regularization_covers_every_generator_kernel_and_is_differentiable():
    net = tiny()
    kernels = conv_kernels(net.generator)
    convs = [m for m in net.generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, MDCBlock))]
    assert len(kernels) == len(convs)
    penalty = orthogonal_regularization(kernels)
    penalty.backward()
    assert net.generator.stages[0][0].weight.grad is not None


# ---- ternary loss, feature L2, beta NLL, KL -----------------------------------------------------
def test_ternary_loss_targets():
    assert (REAL, GENERATED, RECONSTRUCTED) == (0, 1, 2)
    big = 20.0
    one_hot = lambda k: torch.nn.functional.one_hot(torch.full((5,), k), 3).float() * big
    # A discriminator that is right about all three kinds has (almost) zero loss ...
    assert ternary_discriminator_loss(one_hot(REAL), one_hot(GENERATED), one_hot(RECONSTRUCTED)).item() < 1e-6
    # ... and one that swaps generated and reconstructed is penalized by ~big on each.
    assert ternary_discriminator_loss(one_hot(REAL), one_hot(RECONSTRUCTED), one_hot(GENERATED)).item() == pytest.approx(2 * big, rel=1e-3)
    # Undecided logits: 3 x log 3 for D, 2 x log 3 for G.
    zeros = torch.zeros(5, 3)
    assert ternary_discriminator_loss(zeros, zeros, zeros).item() == pytest.approx(3 * math.log(3))
    assert ternary_generator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(3))
    # The generator wants both of its kinds of images classified REAL.
    assert ternary_generator_loss(one_hot(REAL), one_hot(REAL)).item() < 1e-6
    assert ternary_generator_loss(one_hot(GENERATED), one_hot(RECONSTRUCTED)).item() == pytest.approx(2 * big, rel=1e-3)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        ternary_generator_loss(torch.zeros(5, 2), zeros)


def test_feature_l2_is_the_mean_of_layer_mses_and_pulls_only_the_reconstruction():
    a = [torch.zeros(2, 3, requires_grad=True), torch.zeros(2, 1, 4, 4, requires_grad=True)]
    b = [torch.ones(2, 3, requires_grad=True), torch.full((2, 1, 4, 4), 3.0, requires_grad=True)]
    loss = feature_l2_loss(a, b)
    assert loss.item() == pytest.approx((1 + 9) / 2)
    loss.backward()
    assert a[0].grad is not None and b[0].grad is None
    with pytest.raises(ValueError):
        feature_l2_loss(a, b[:1])


def test_beta_nll_matches_torch_distributions():
    torch.manual_seed(0)
    x = torch.rand(50) * 0.9 + 0.05
    alpha, beta = torch.rand(50) * 3 + 0.5, torch.rand(50) * 3 + 0.5
    expected = -torch.distributions.Beta(alpha, beta).log_prob(x).mean()
    assert beta_nll(x, alpha, beta).item() == pytest.approx(expected.item(), rel=1e-5)


def test_flow_kl_without_flow_estimates_the_gaussian_kl():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[0.5, -1.0, 0.0]]), torch.tensor([[0.2, -0.5, 1.0]])
    analytic = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum().item()
    noise = torch.randn(200_000, 3)
    z = mu + (0.5 * logvar).exp() * noise
    estimate = flow_kl(z, noise, logvar.expand_as(z), torch.zeros(len(z))).item()
    assert estimate == pytest.approx(analytic, abs=0.02)


# ---- IAF with a randomized MADE ------------------------------------------------------------
def test_made_is_autoregressive_in_its_shuffled_order_and_iaf_logdet_is_exact():
    made = RandomizedMADE(6, 32, torch.Generator().manual_seed(3))
    assert sorted(made.degrees.tolist()) == list(range(1, 7)) and made.degrees.tolist() != list(range(1, 7))
    assert not list(made.parameters())  # fixed: buffers only, never trained
    z = torch.randn(6)
    jac_m, jac_s = torch.autograd.functional.jacobian(lambda v: made(v[None]), z)
    degrees = made.degrees
    allowed = degrees[:, None] > degrees[None, :]  # output i may depend on input j only if deg j < deg i
    for jac in (jac_m[0], jac_s[0]):
        assert (jac[~allowed].abs() < 1e-7).all()
        assert jac[allowed].abs().sum() > 0

    net = tiny(latent_dim=6, iaf_steps=2)
    last = torch.randn(1, net.discriminator.flat_features)
    noise = torch.randn(1, 6)

    def flow(z0):
        z = z0[None]
        for step in net.encoder.flows:
            m, s = step(z)
            g = torch.sigmoid(s + 1.0)
            z = g * z + (1 - g) * m
        return z[0]

    z, mu, logvar, logdet = net.encoder(last, noise)
    z0 = mu + (0.5 * logvar).exp() * noise
    jacobian = torch.autograd.functional.jacobian(flow, z0[0].detach())
    assert logdet.item() == pytest.approx(torch.linalg.slogdet(jacobian)[1].item(), abs=1e-4)
    torch.testing.assert_close(z[0], flow(z0[0]))


def test_iaf_switch():
    assert len(tiny().encoder.flows) == 1 and len(tiny(iaf=False).encoder.flows) == 0
    z, mu, _, logdet = tiny(iaf=False).encoder(torch.randn(2, tiny().discriminator.flat_features), None)
    torch.testing.assert_close(z, mu)
    assert (logdet == 0).all()


# ---- beta output and minibatch discrimination -------------------------------------------------
def test_beta_output_is_autoregressive_over_rgb():
    net = calibrated(tiny())
    h = net.generator.features(torch.randn(2, net.latent_dim))
    previous = torch.rand(2, 3, 32, 32)
    changed = previous.clone()
    changed[:, 0] = torch.rand(2, 32, 32)  # change R only
    a_r, _ = net.generator.beta_parameters(h, 0, previous)
    assert torch.equal(a_r, net.generator.beta_parameters(h, 0, changed)[0])  # R does not see R
    assert not torch.equal(net.generator.beta_parameters(h, 1, previous)[0], net.generator.beta_parameters(h, 1, changed)[0])
    changed_b = previous.clone()
    changed_b[:, 2] = 0.0  # B's own value is never an input
    for c in range(3):
        assert torch.equal(net.generator.beta_parameters(h, c, previous)[0], net.generator.beta_parameters(h, c, changed_b)[0])
    image, params = net.generator(torch.randn(2, net.latent_dim), target=torch.zeros(2, 3, 32, 32))
    assert image.shape == (2, 3, 32, 32) and len(params) == 3 and all((a > 0).all() and (b > 0).all() for a, b in params)
    assert image.min() >= -1 and image.max() <= 1
    plain = tiny(beta_output=False)
    assert plain.generator(torch.randn(2, plain.latent_dim), target=torch.zeros(2, 3, 32, 32))[1] == []


def test_minibatch_discrimination_statistics():
    layer = MinibatchDiscrimination(5, kernels=3, kernel_dim=2)
    same = torch.ones(4, 5)
    out = layer(same)
    assert out.shape == (4, 8)
    torch.testing.assert_close(out[:, 5:], torch.full((4, 3), 3.0))  # each sample has 3 identical neighbours
    far = torch.eye(4, 5) * 1e4
    assert out.shape == layer(far).shape and layer(far)[:, 5:].max() < 1e-3
    assert tiny(minibatch_discrimination=False).discriminator.minibatch is None


# ---- the Neural Photo Editor ------------------------------------------------------------------
def test_interpolation_mask_and_edit_formula_on_synthetic_tensors():
    x = torch.rand(2, 3, 8, 8)
    x_hat = torch.rand(2, 3, 8, 8)
    delta = torch.zeros(2, 3, 8, 8)
    delta[:, :, 2:4, 2:4] = 0.5
    delta[1, 0] = -3.0  # channel mean of sample 1: (-3 + 0.5 + 0.5) / 3 in the square, -1 elsewhere
    m = editing.interpolation_mask(delta, sigma=0)  # no blur: M = min(|mean_c delta|, 1)
    assert m.shape == (2, 1, 8, 8)
    expected = delta.mean(1, keepdim=True).abs().clamp(max=1)
    torch.testing.assert_close(m, expected)
    y = editing.apply_edit(x, x_hat, delta, m)
    torch.testing.assert_close(y, x_hat + m * delta + (1 - m) * (x - x_hat))
    # Where M = 0 the photo is untouched; where M = 1 the edited reconstruction replaces it.
    torch.testing.assert_close(y[0, :, 0, 0], x[0, :, 0, 0])
    torch.testing.assert_close(y[1, :, 0, 0], (x_hat + delta)[1, :, 0, 0])
    # Blurring spreads the mask beyond the changed square and keeps it in [0, 1].
    blurred = editing.interpolation_mask(delta[:1], sigma=1.5)
    assert m[0, 0, 1, 1] == 0 and blurred[0, 0, 1, 1] > 0 and blurred.max() <= 1 and blurred.min() >= 0
    # A constant change survives the blur unchanged.
    torch.testing.assert_close(editing.interpolation_mask(torch.full((1, 3, 9, 9), 0.3), sigma=2.0), torch.full((1, 1, 9, 9), 0.3))


@pytest.mark.parametrize("beta_output", [True, False])
def test_a_paint_step_moves_the_painted_region_toward_the_colour(beta_output):
    torch.manual_seed(0)
    net = calibrated(tiny(beta_output=beta_output))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(32, 32)
    mask[8:16, 8:20] = 1
    colour = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)  # pure red, in [-1, 1]
    result = editing.paint(net, x, (1.0, 0.0, 0.0), mask, step_size=0.05, steps=3)
    region = mask.bool()
    before = ((result.reconstruction - colour) ** 2)[:, :, region].mean()
    after = ((result.edited_reconstruction - colour) ** 2)[:, :, region].mean()
    assert after < before
    assert not torch.equal(result.latent, net.encode(x))
    # The returned image follows the masking formula.
    delta = result.edited_reconstruction - result.reconstruction
    torch.testing.assert_close(result.mask, editing.interpolation_mask(delta, 2.0))
    torch.testing.assert_close(result.image, editing.apply_edit(x, result.reconstruction, delta, result.mask))
    assert net.paint(x, (1.0, 0.0, 0.0), mask, step_size=0.05, steps=3).shape == x.shape
    assert not net.training


# ---- API, round trip, bad inputs ----------------------------------------------------------------
def test_api_shapes_and_determinism():
    net = calibrated(tiny())
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    z = net.encode(x)
    assert z.shape == (3, net.latent_dim)
    torch.testing.assert_close(net.reconstruct(x), net.decode(z))
    path = net.interpolate(x, x.flip(0), steps=5)
    assert path.shape == (3, 5, 3, 32, 32)
    torch.testing.assert_close(path[:, 0], net.reconstruct(x), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(path[:, -1], net.reconstruct(x.flip(0)), rtol=1e-4, atol=1e-5)
    assert net.interpolate(x[0], x[1], steps=4).shape == (4, 3, 32, 32)
    torch.testing.assert_close(net.sample(4, seed=7), net.sample(4, seed=7))
    assert not torch.equal(net.sample(4, seed=7), net.sample(4, seed=8))


@pytest.mark.parametrize("size, channels", [(28, 1), (64, 3)])
def test_round_trip_through_a_folder(size, channels, tmp_path):
    net = calibrated(IAN(image_size=size, channels=channels, **TINY))
    net.info = {"name": "ian-tiny", "value_range": [-1.0, 1.0]}
    save_folder(net, tmp_path / "ian")
    loaded = load_folder(tmp_path / "ian")
    assert isinstance(loaded, IAN) and loaded.config == net.config
    x = torch.rand(2, channels, size, size) * 2 - 1
    torch.testing.assert_close(loaded.encode(x), net.encode(x))
    torch.testing.assert_close(loaded.sample(3, seed=1), net.sample(3, seed=1))
    # The MADE's shuffle is part of the checkpoint, not re-drawn.
    torch.testing.assert_close(loaded.encoder.flows[0].degrees, net.encoder.flows[0].degrees)


def test_all_ablations_off_still_builds_and_round_trips(tmp_path):
    net = tiny(mdc=False, iaf=False, beta_output=False, minibatch_discrimination=False)
    save_folder(net, tmp_path / "ablated")
    loaded = load_folder(tmp_path / "ablated")
    torch.testing.assert_close(loaded.sample(2, seed=0), net.sample(2, seed=0))


def test_bad_inputs_are_clear_errors():
    net = tiny()
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        net.encode(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        net.encode(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="NaN"):
        net.encode(torch.full((1, 3, 32, 32), float("nan")))
    with pytest.raises(TypeError):
        net.encode([[0.0]])
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        net.decode(torch.zeros(2, 9))
    with pytest.raises(ValueError, match="positive"):
        net.sample(0)
    with pytest.raises(ValueError, match="steps"):
        net.interpolate(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32), steps=1)
    with pytest.raises(ValueError, match="same shape"):
        net.interpolate(torch.zeros(1, 3, 32, 32), torch.zeros(2, 3, 32, 32))
    x, mask = torch.zeros(1, 3, 32, 32), torch.ones(32, 32)
    with pytest.raises(ValueError, match="3 values"):
        editing.paint(net, x, (1.0, 0.0), mask)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        editing.paint(net, x, (255, 0, 0), mask)
    with pytest.raises(ValueError, match="empty"):
        editing.paint(net, x, (1.0, 0.0, 0.0), torch.zeros(32, 32))
    with pytest.raises(ValueError, match="mask must be"):
        editing.paint(net, x, (1.0, 0.0, 0.0), torch.ones(16, 16))
    with pytest.raises(ValueError, match="image sizes"):
        IAN(image_size=48)
    with pytest.raises(ValueError, match="mdc_blocks"):
        IAN(image_size=64, mdc_blocks=[1, 1], **TINY)
    with pytest.raises(ValueError, match="scale"):
        MDCBlock(3, 3, scales=0)


# ---- training ---------------------------------------------------------------------------------
class _Images(L.LightningDataModule):
    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = images

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.images, torch.zeros(len(self.images))), batch_size=8, shuffle=True)

    def val_dataloader(self):
        return DataLoader(TensorDataset(self.images[:8], torch.zeros(8)), batch_size=8)


def test_tiny_training_steps_update_the_right_weights(tmp_path):
    torch.manual_seed(0)
    task = IANTask(image_shape=(3, 32, 32), **TINY)
    before = {k: v.clone() for k, v in task.net.state_dict().items()}
    trainer = L.Trainer(
        accelerator="cpu", max_steps=6, limit_val_batches=1, val_check_interval=3, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )
    images = torch.rand(32, 3, 32, 32) * 2 - 1
    trainer.fit(task, datamodule=_Images(images))
    after = task.net.state_dict()
    changed = lambda prefix: any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))
    assert changed("generator.") and changed("discriminator.") and changed("encoder.head.")
    # The randomized MADE is never trained.
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder.flows."))
    metrics = trainer.callback_metrics
    for key in ("loss/d", "loss/g", "loss/pixel_l1", "loss/feature_l2", "loss/kl", "loss/beta_nll", "loss/ortho", "val/recon_l1"):
        assert torch.isfinite(metrics[key]), key
    # The optimizers split the parameters: D's optimizer holds D only, the other G and the encoder head.
    opt_g, opt_d = task.optimizers()
    d_params = {id(p) for p in task.net.discriminator.parameters()}
    assert {id(p) for g in opt_d.optimizer.param_groups for p in g["params"]} == d_params
    assert not d_params & {id(p) for g in opt_g.optimizer.param_groups for p in g["params"]}


def test_ema_generator_is_updated_once_per_batch_and_exported(tmp_path):
    torch.manual_seed(0)
    task = IANTask(image_shape=(3, 32, 32), **TINY, ema_decay=0.5)
    trainer = L.Trainer(accelerator="cpu", max_steps=6, limit_val_batches=1, val_check_interval=3, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path)
    trainer.fit(task, datamodule=_Images(torch.rand(32, 3, 32, 32) * 2 - 1))
    assert int(task.ema.n_averaged) == 3  # 6 optimizer steps = 3 batches, one generator update each
    live, averaged = task.net.generator.state_dict(), task.ema.module.state_dict()
    assert any(not torch.equal(live[k], averaged[k]) for k in live)
    exported = task.export_network()
    # The export swaps the EMA generator in and keeps the live discriminator and encoder.
    assert all(torch.equal(exported.generator.state_dict()[k], averaged[k].cpu()) for k in averaged)
    assert all(torch.equal(v, task.net.encoder.state_dict()[k]) for k, v in exported.encoder.state_dict().items())
    with pytest.raises(ValueError, match="ema_decay"):
        IANTask(image_shape=(3, 32, 32), **TINY, ema_decay=1.0)


def test_discriminator_update_uses_only_the_ternary_loss():
    """One batch from the same weights and noise with very different generator/encoder loss weights:
    the discriminator must end up identical (its update sees the ternary loss only, and the
    generator/encoder optimizer never moves it)."""
    torch.manual_seed(0)
    real = torch.rand(8, 3, 32, 32) * 2 - 1

    def d_after_one_step(**weights):
        task = IANTask(image_shape=(3, 32, 32), **TINY, **weights)
        torch.manual_seed(1)
        task.net = IAN(image_size=32, channels=3, **TINY)  # the same initial weights for both runs
        trainer = L.Trainer(accelerator="cpu", max_steps=2,  # 2 optimizer steps = 1 batch
                            logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False)
        images = real

        class One(L.LightningDataModule):
            def train_dataloader(self):
                return DataLoader(TensorDataset(images, torch.zeros(8)), batch_size=8)

        trainer.fit(task, datamodule=One())
        return {k: v for k, v in task.net.discriminator.state_dict().items()}

    a = d_after_one_step(feature_weight=1.0, pixel_weight=1.0, kl_weight=1.0)
    b = d_after_one_step(feature_weight=50.0, pixel_weight=0.0, kl_weight=0.0)
    torch.manual_seed(1)
    initial = IAN(image_size=32, channels=3, **TINY).discriminator.state_dict()
    assert any(not torch.equal(a[k], initial[k]) for k in a)  # D did take a step
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=key)


def test_recipes_train_a_tiny_copy_and_export(fake_mnist, tmp_path):
    from genzoo.cli import main

    root = tmp_path / "run"
    main([
        "fit", "--config", str(REPO_ROOT / "recipes/ian/mnist.yaml"), "--data.data_dir", str(fake_mnist),
        "--data.val_size", "16", "--data.batch_size", "8", "--model.latent_dim", "8", "--model.g_width", "4",
        "--model.d_width", "4", "--model.iaf_hidden", "16", "--trainer.max_steps", "4", "--trainer.val_check_interval", "2",
        "--trainer.limit_val_batches", "1", "--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false",
        "--trainer.logger", "false",
    ])
    exported = load_folder(root / "export")
    assert isinstance(exported, IAN) and exported.info["family"] == "ian"
    assert exported.reconstruct(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    assert (root / "export" / "samples.png").is_file()
