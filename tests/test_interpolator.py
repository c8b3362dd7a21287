"""Transformation-based interpolation (seed 000): transformations, the agent's networks, the training procedures, API."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from genzoo.hub import load_folder, save_folder
from genzoo.layers.transforms import blend, gaussian_log_prob, lowres_noise, recolor, warp
from genzoo.models.interpolator import TransformationInterpolator, crossfade
from genzoo.interpolation import trajectory_strip
from genzoo.tasks.interpolator import InterpolatorTask, limited_score_surrogate, reinforce_loss
from test_training import datamodule, make_trainer

TINY = dict(width=4, hidden=8, action_dim=2, max_steps=3)


def images(n=2, channels=3, size=8, seed=0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


# ---- transformations ------------------------------------------------------------------------------------
def test_zero_flow_is_the_identity():
    x = images()
    assert torch.allclose(warp(x, torch.zeros(2, 2, 8, 8)), x, atol=1e-6)


def test_integer_flow_moves_pixels_exactly():
    x = images()
    flow = torch.zeros(2, 2, 8, 8)
    flow[:, 0] = 2.0  # read 2 pixels to the right
    flow[:, 1] = -1.0  # and 1 pixel up
    out = warp(x, flow)
    # out[y, x] = in[y - 1, x + 2] where that exists; elsewhere the nearest border pixel.
    assert torch.allclose(out[:, :, 1:, :-2], x[:, :, :-1, 2:], atol=1e-6)
    assert torch.allclose(out[:, :, 0, :-2], x[:, :, 0, 2:], atol=1e-6)  # above the top: the top row
    assert torch.allclose(out[:, :, 1:, -1], x[:, :, :-1, -1], atol=1e-6)  # beyond the right edge: the last column


def test_half_pixel_flow_interpolates_bilinearly():
    x = images(1, 1)
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 0.5
    out = warp(x, flow)
    assert torch.allclose(out[..., :-1], 0.5 * (x[..., :-1] + x[..., 1:]), atol=1e-6)


def test_recolor_identities_and_hand_case():
    x = images()
    eye, zero = torch.eye(3).expand(2, 3, 3), torch.zeros(2, 3)
    matrix, bias = torch.randn(2, 3, 3), torch.randn(2, 3)
    assert torch.allclose(recolor(x, torch.zeros(2, 1, 8, 8), eye, zero), x, atol=1e-6)  # A = I, b = 0
    assert torch.allclose(recolor(x, torch.ones(2, 1, 8, 8), matrix, bias), x)  # keep everything
    out = recolor(x, torch.zeros(2, 1, 8, 8), matrix, bias)
    assert torch.allclose(out[0, :, 3, 5], matrix[0] @ x[0, :, 3, 5] + bias[0], atol=1e-5)
    half = recolor(x, torch.full((2, 1, 8, 8), 0.5), matrix, bias)
    assert torch.allclose(half, 0.5 * x + 0.5 * out, atol=1e-6)
    with pytest.raises(ValueError, match="matrix"):
        recolor(x, torch.zeros(2, 1, 8, 8), torch.eye(2).expand(2, 2, 2), zero)


def test_blend_keeps_the_input_with_mask_one_and_takes_the_synthesis_with_zero():
    x, d = images(seed=0), images(seed=1)
    assert torch.equal(blend(x, torch.ones(2, 1, 8, 8), d), x)
    assert torch.equal(blend(x, torch.zeros(2, 1, 8, 8), d), d)
    with pytest.raises(ValueError, match="synthesized"):
        blend(x, torch.ones(2, 1, 8, 8), d[:, :1])


def neighbour_correlation(noise: torch.Tensor) -> float:
    a, b = noise[..., :, :-1].flatten(), noise[..., :, 1:].flatten()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def test_lowres_noise_is_spatially_correlated_with_the_requested_scale():
    std = torch.full((64, 2, 32, 32), 0.5)
    generator = torch.Generator().manual_seed(0)
    white = lowres_noise(std, 1, generator)
    smooth = lowres_noise(std, 8, generator)
    assert abs(neighbour_correlation(white)) < 0.05  # per-pixel noise: uncorrelated neighbours
    assert neighbour_correlation(smooth) > 0.8  # 4x4 noise upsampled to 32x32: strongly correlated
    assert abs(float(white.std()) - 0.5) < 0.02  # the std map scales the noise
    # The correlation length follows the factor: a coarser grid gives smoother noise.
    assert neighbour_correlation(lowres_noise(std, 16, generator)) > neighbour_correlation(lowres_noise(std, 2, generator))
    # Reproducible from the generator; a per-pixel std map modulates it locally.
    assert torch.equal(lowres_noise(std, 8, torch.Generator().manual_seed(3)), lowres_noise(std, 8, torch.Generator().manual_seed(3)))
    masked = lowres_noise(torch.cat([torch.zeros(64, 2, 32, 16), std[..., 16:]], dim=3), 4, generator)
    assert masked[..., :12].abs().max() == 0 and masked[..., 20:].abs().mean() > 0.1


def test_gaussian_log_prob_matches_torch_distributions():
    mean, std, sample = torch.randn(3, 5), torch.rand(3, 5) + 0.1, torch.randn(3, 5)
    expected = torch.distributions.Normal(mean, std).log_prob(sample).sum(1)
    assert torch.allclose(gaussian_log_prob(sample, mean, std), expected, atol=1e-5)


# ---- policy gradients -----------------------------------------------------------------------------------
def test_reinforce_gradient_on_a_toy_bandit_matches_the_analytic_one():
    """Reward -(a - c)^2 with a ~ N(mu, sigma): E[r] = -(mu - c)^2 - sigma^2, so dE/dmu = -2 (mu - c), dE/dsigma = -2 sigma."""
    mu = torch.tensor([0.3], requires_grad=True)
    sigma = torch.tensor([0.5], requires_grad=True)
    c, n = 1.0, 400_000
    generator = torch.Generator().manual_seed(0)
    actions = (mu + sigma * torch.randn(n, 1, generator=generator)).detach()
    rewards = -(actions[:, 0] - c) ** 2
    log_likelihood = gaussian_log_prob(actions, mu.expand(n, 1), sigma.expand(n, 1))
    loss = reinforce_loss(log_likelihood[None], rewards[None], torch.ones(1, n))
    loss.backward()
    # The loss is -E[r log pi], so its gradient is minus the performance gradient.
    assert torch.allclose(-mu.grad, torch.tensor([-2 * (0.3 - c)]), atol=0.02)
    assert torch.allclose(-sigma.grad, torch.tensor([-2 * 0.5]), atol=0.02)


def test_gradient_limit_clips_the_score_per_sample_and_is_exact_without_a_limit():
    mean = torch.zeros(4, 3, requires_grad=True)
    std = torch.full((4, 3), 0.1, requires_grad=True)
    sample = torch.tensor([[1.0, 0, 0], [0.01, 0, 0], [0, 2.0, 0], [0, 0, 0.05]])
    limit = 1.0
    limited_score_surrogate(sample, mean, std, limit).sum().backward()
    grad_mean, grad_std = mean.grad.clone(), std.grad.clone()
    score_mean = (sample - 0.0) / 0.01
    assert torch.all(grad_mean.norm(dim=1) <= limit + 1e-5)
    # Directions are kept; small scores pass unchanged.
    assert torch.allclose(grad_mean[0] / grad_mean[0].norm(), score_mean[0] / score_mean[0].norm(), atol=1e-6)
    assert torch.allclose(grad_mean[1], score_mean[1].clamp(max=limit), atol=1e-5) or grad_mean[1].norm() <= limit
    assert torch.all(grad_std.norm(dim=1) <= limit + 1e-5)
    mean.grad, std.grad = None, None
    limited_score_surrogate(sample, mean, std, None).sum().backward()  # the plain log-likelihood's gradient
    assert torch.allclose(mean.grad, score_mean, rtol=1e-4)
    assert torch.allclose(std.grad, (sample.square() - 0.01) / 0.001, rtol=1e-4)


# ---- the network and its API ----------------------------------------------------------------------------
def test_an_untrained_transformer_starts_near_the_identity_and_steps_are_bounded():
    torch.manual_seed(0)
    net = TransformationInterpolator(image_size=16, channels=3, transforms=["warp", "recolor", "blend"], **TINY)
    start, goal = images(2, 3, 16, 0), images(2, 3, 16, 1)
    result = net.interpolate(start, goal)
    assert result.frames.shape == (2, 4, 3, 16, 16) and torch.equal(result.frames[:, 0], start)
    assert torch.equal(result.stop_step, torch.tensor([3, 3]))
    assert (result.frames[:, 1] - start).abs().mean() < 0.05
    for params in result.params:
        assert params["flow"].abs().max() <= net.config["max_flow"]
        assert params["blend_keep"].min() >= 1 - net.config["max_blend"] - 1e-6
        assert (params["color_matrix"] - torch.eye(3)).abs().max() <= net.config["max_color"] + 1e-6
    assert torch.equal(net.interpolate(start, goal).frames, result.frames)  # deterministic
    single = net.interpolate(start[0], goal[0], max_steps=5)
    assert single.frames.shape == (6, 3, 16, 16) and single.stop_step == 5 and single.params[0]["flow"].shape == (2, 16, 16)
    assert torch.equal(single.final, single.frames[5])


def test_out_of_range_results_are_clamped_but_keep_their_gradient():
    """A recolouring that overshoots [0, 1] is shown clamped, yet the loss can still pull it back (no dead pixels)."""
    net = TransformationInterpolator(image_size=8, channels=3, transforms=["warp", "recolor"], **TINY)
    state = torch.full((1, 3, 8, 8), 0.9)
    bias = torch.full((1, 3), 0.5, requires_grad=True)
    params = {"flow": torch.zeros(1, 2, 8, 8), "recolor_keep": torch.zeros(1, 1, 8, 8), "color_matrix": torch.eye(3)[None],
              "color_bias": bias}
    out = net.apply(state, params)
    assert out.max() == 1.0
    out.sum().backward()
    assert torch.allclose(bias.grad, torch.full((1, 3), 64.0))


def test_a_stop_unit_freezes_the_state_and_reports_the_step():
    torch.manual_seed(0)
    net = TransformationInterpolator(image_size=8, channels=1, stop_unit=True, **TINY)
    with torch.no_grad():  # stop at once: a large positive stop logit
        net.policy.stop.bias.fill_(50.0)
    start, goal = images(2, 1, 8, 0), images(2, 1, 8, 1)
    result = net.interpolate(start, goal)
    assert torch.equal(result.stop_step, torch.zeros(2, dtype=torch.long))
    assert all(torch.equal(result.frames[:, t], start) for t in range(4))
    assert torch.equal(result.final, start)
    tiles = trajectory_strip(result.frames, result.stop_step, goal)
    assert tiles.shape == (2 * 5, 1, 8, 8)
    assert torch.equal(tiles[0], start[0]) and torch.equal(tiles[4], goal[0])
    assert all(tiles[i].abs().max() == 0 for i in (1, 2, 3))  # terminated cells are black


def test_crossfade_endpoints_and_midpoint():
    a, b = images(2, 1, 8, 0), images(2, 1, 8, 1)
    frames = crossfade(a, b, 4)
    assert frames.shape == (2, 5, 1, 8, 8)
    assert torch.equal(frames[:, 0], a) and torch.allclose(frames[:, 4], b) and torch.allclose(frames[:, 2], (a + b) / 2)
    assert crossfade(a[0], b[0], 2).shape == (3, 1, 8, 8)


def test_bad_inputs_are_refused_clearly():
    net = TransformationInterpolator(image_size=8, channels=1, **TINY)
    good = images(1, 1, 8)[0]
    with pytest.raises(ValueError, match="same shape"):
        net.interpolate(good, good[:, :4])
    with pytest.raises(ValueError):
        net.interpolate(good * 3, good)  # outside [0, 1]
    with pytest.raises(ValueError):
        net.interpolate(images(1, 3, 8)[0], images(1, 3, 8)[0])  # RGB into an MNIST model
    with pytest.raises(ValueError, match="max_steps"):
        net.interpolate(good, good, max_steps=0)
    with pytest.raises(NotImplementedError, match="interpolate"):
        net.sample(2)
    with pytest.raises(ValueError, match="transforms"):
        TransformationInterpolator(transforms=["blend"])
    with pytest.raises(ValueError, match="RGB"):
        TransformationInterpolator(channels=1, transforms=["warp", "recolor"])
    with pytest.raises(ValueError, match="pg"):
        InterpolatorTask(image_shape=(3, 8, 8), procedure="pg", transforms=["warp", "blend"])
    with pytest.raises(ValueError, match="procedure"):
        InterpolatorTask(procedure="sarsa")
    with pytest.raises(ValueError, match="bptt_stop"):
        InterpolatorTask(procedure="bptt", stop_unit=True)


def test_round_trip_keeps_weights_config_and_interpolations(tmp_path):
    torch.manual_seed(0)
    net = TransformationInterpolator(image_size=16, channels=3, transforms=["warp", "recolor", "blend"], stop_unit=True, **TINY)
    save_folder(net, tmp_path / "interp", weights_dtype="float32")
    loaded = load_folder(tmp_path / "interp")
    assert loaded.config == net.config
    start, goal = images(2, 3, 16, 0), images(2, 3, 16, 1)
    assert torch.equal(loaded.interpolate(start, goal).frames, net.interpolate(start, goal).frames)


# ---- training ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("procedure", ["bptt", "pg", "hybrid", "bptt_stop"])
def test_tiny_training_of_each_procedure_updates_what_it_trains(procedure, fake_mnist, tmp_path):
    L.seed_everything(0)
    task = InterpolatorTask(image_shape=(1, 28, 28), procedure=procedure, gradient_limit=1.0 if procedure == "hybrid" else None, **TINY)
    before = {k: v.detach().clone() for k, v in task.net.named_parameters()}
    make_trainer(tmp_path, 1).fit(task, datamodule(fake_mnist))
    changed = {k for k, v in task.net.named_parameters() if not torch.equal(v, before[k])}
    parts = {k.split(".")[0] for k in changed}
    assert {"policy", "transformer", "discriminator"} <= parts
    assert ("value" in parts) == (procedure != "bptt")  # V is the baseline of policy gradients only
    assert ("policy.stop.weight" in changed) == (procedure == "bptt_stop")
    metrics = task.trainer.logged_metrics
    assert torch.isfinite(metrics["train/return"]) and 0 < float(metrics["train/steps"]) <= 3


def test_tiny_bptt_training_brings_the_final_state_closer_to_the_goal(fake_mnist):
    """A few hundred updates on a fixed pair: the distance the agent leaves to the goal falls."""
    L.seed_everything(0)
    task = InterpolatorTask(image_shape=(1, 28, 28), procedure="bptt", width=8, hidden=32, action_dim=4, max_steps=4, realism_weight=0.0)
    blob = torch.zeros(2, 1, 28, 28)
    blob[0, :, 8:14, 8:14] = 1.0
    blob[1, :, 12:18, 12:18] = 1.0  # the same square, moved 4 pixels down and right
    start, goal = blob[:1], blob[1:]
    opt = torch.optim.Adam(list(task.net.policy.parameters()) + list(task.net.transformer.parameters()), lr=3e-3)
    first = float((task.net.interpolate(start, goal).final - goal).abs().mean())
    for _ in range(150):
        episode = task.rollout(start, goal, torch.Generator().manual_seed(0))
        loss = (episode["final"] - goal).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    last = float((task.net.interpolate(start, goal).final - goal).abs().mean())
    assert last < 0.5 * first


# ---- CLI and evaluation -----------------------------------------------------------------------------------
@pytest.fixture
def tiny_mnist_interpolator(tmp_path):
    torch.manual_seed(0)
    network = TransformationInterpolator(image_size=28, channels=1, stop_unit=True, **TINY)
    network.info = {"name": "tiny-interp", "family": "interpolator", "dataset_id": "mnist"}
    save_folder(network, tmp_path / "interp")
    return tmp_path / "interp"


def test_cli_interpolate_writes_the_animation_and_the_strip(tiny_mnist_interpolator, tmp_path, capsys):
    from PIL import Image

    from conftest import write_image_folder
    from genzoo.cli import main

    digits = sorted(write_image_folder(tmp_path / "digits", count=4, size=(28, 28), mode="L").iterdir())
    out, strip = tmp_path / "walk.gif", tmp_path / "strip.png"
    main(["interpolate", str(tiny_mnist_interpolator), "--start", str(digits[0]), str(digits[1]), "--goal", str(digits[2]),
          str(digits[3]), "--out", str(out), "--grid", str(strip)])
    assert "steps taken" in capsys.readouterr().out
    gif = Image.open(out)
    assert gif.n_frames == TINY["max_steps"] + 1
    assert Image.open(strip).size == ((TINY["max_steps"] + 2) * 30 + 2, 2 * 30 + 2)  # start | 3 steps | goal, 2 rows
    with pytest.raises(SystemExit, match="as many --goal"):
        main(["interpolate", str(tiny_mnist_interpolator), "--start", str(digits[0]), "--goal", str(digits[1]), str(digits[2]),
              "--out", str(out)])
    with pytest.raises(SystemExit, match=".gif"):
        main(["interpolate", str(tiny_mnist_interpolator), "--start", str(digits[0]), "--goal", str(digits[1]), "--out", str(strip)])
    with pytest.raises(SystemExit, match="no image file"):
        main(["interpolate", str(tiny_mnist_interpolator), "--start", str(tmp_path / "nope.png"), "--goal", str(digits[1]),
              "--out", str(out)])
    with pytest.raises(SystemExit, match="not a start-to-goal interpolator"):
        main(["interpolate", "dcgan-mnist", "--start", str(digits[0]), "--goal", str(digits[1]), "--out", str(out)])


def test_interpolate_files_crops_before_resizing(tiny_mnist_interpolator, tmp_path):
    """--crop center sees only the middle of a wide image: a bar in its margins vanishes, and nothing else changes."""
    import numpy as np
    from PIL import Image

    import genzoo
    from genzoo.interpolation import interpolate_files

    network = genzoo.load(str(tiny_mnist_interpolator))
    wide = np.zeros((28, 56), dtype=np.uint8)
    wide[:, :8] = 255  # a bright bar in the left margin, outside the central 28x28 square
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "black.png")
    black_walk = interpolate_files(network, [tmp_path / "black.png"], [tmp_path / "black.png"], tmp_path / "a.gif")
    cropped = interpolate_files(network, [tmp_path / "wide.png"], [tmp_path / "black.png"], tmp_path / "b.gif", crop="center")
    squeezed = interpolate_files(network, [tmp_path / "wide.png"], [tmp_path / "black.png"], tmp_path / "c.gif")
    assert cropped["final_l1"] == black_walk["final_l1"]
    assert squeezed["final_l1"] != black_walk["final_l1"]


def test_eval_measures_the_interpolator_and_both_baselines_on_the_same_pairs(tiny_mnist_interpolator, fake_mnist, tmp_path):
    import json

    from genzoo.cli import main

    main(["eval", str(tiny_mnist_interpolator), "--metrics", "l1,ssim,steps,confidence,fid,swd", "--data", str(fake_mnist),
          "--pairs", "8", "--latent-baseline", "ian-mnist", "--no-cache", "--json", str(tmp_path / "m.json"), "--no-progress"])
    metrics = {m["name"]: m for m in json.loads((tmp_path / "m.json").read_text())["metrics"]}
    methods = ("transformations", "cross-fade", "latent ian-mnist")
    expected = {f"Final {k} ({w})" for k in ("L1", "SSIM") for w in ("transformations", "start as is", "latent ian-mnist")}
    expected |= {"Steps taken (transformations)", "Classifier confidence (real goals)"}
    expected |= {f"{k} ({w})" for k in ("Classifier confidence", "Classifier FID", "SWD") for w in methods}
    assert set(metrics) == expected
    assert all(m["protocol"]["reference"] == "mnist" and m["protocol"]["reference_split"] == "test" for m in metrics.values())
    assert metrics["Classifier confidence (cross-fade)"]["protocol"]["num_generated"] == 8 * (TINY["max_steps"] - 1)
    assert 0 <= metrics["Steps taken (transformations)"]["value"] <= TINY["max_steps"]
    assert 0 < metrics["Final L1 (transformations)"]["value"] < 1
    # The same pairs for every method: an untrained agent barely moves, a cross-fade passes through the average.
    assert metrics["SWD (transformations)"]["value"] != metrics["SWD (cross-fade)"]["value"]
    with pytest.raises(SystemExit, match="measured with"):
        main(["eval", str(tiny_mnist_interpolator), "--metrics", "psnr", "--data", str(fake_mnist)])
    with pytest.raises(SystemExit, match="--pairs 9 needs 18 images"):
        main(["eval", str(tiny_mnist_interpolator), "--metrics", "l1", "--data", str(fake_mnist), "--pairs", "9"])


def test_resume_repeats_the_uninterrupted_run_exactly(fake_mnist, tmp_path):
    """2 epochs straight == 1 epoch, checkpoint, a fresh random state, resume for 1 more (stop decisions, sampled
    actions and pairings all come from the step generator)."""

    def make():
        return InterpolatorTask(image_shape=(1, 28, 28), procedure="bptt_stop", **TINY)

    L.seed_everything(0)
    straight = make()
    make_trainer(tmp_path / "a", 2).fit(straight, datamodule(fake_mnist))

    L.seed_everything(0)
    first_half = make()
    trainer = make_trainer(tmp_path / "b", 1)
    trainer.fit(first_half, datamodule(fake_mnist))
    trainer.save_checkpoint(tmp_path / "half.ckpt")

    torch.manual_seed(12345)
    L.seed_everything(0)
    resumed = make()
    make_trainer(tmp_path / "c", 2).fit(resumed, datamodule(fake_mnist), ckpt_path=str(tmp_path / "half.ckpt"))
    expected, actual = straight.state_dict(), resumed.state_dict()
    assert expected.keys() == actual.keys() and int(actual["episode_batches"]) == 16
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key


def test_two_process_ddp_run_of_the_recipe(fake_mnist, tmp_path):
    import json

    import genzoo
    from test_training import REPO_ROOT, run_cli

    result = run_cli([
        "fit", "--config", str(REPO_ROOT / "recipes/interp/mnist.yaml"), "--data.data_dir", str(fake_mnist),
        "--data.batch_size", "8", "--model.init_args.procedure", "hybrid", "--model.init_args.stop_unit", "true",
        "--model.init_args.width", "4", "--model.init_args.hidden", "8", "--model.init_args.action_dim", "2",
        "--model.init_args.max_steps", "3", "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu",
        "--trainer.default_root_dir", str(tmp_path / "run"), "--trainer.enable_progress_bar", "false",
        "--trainer.callbacks+=ddp_check.WeightChecksum", "--trainer.devices", "2", "--trainer.strategy", "ddp_find_unused_parameters_true",
    ], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2] and records[0]["global_step"] > 0
    assert records[0]["checksum"] == records[1]["checksum"]  # the replicas hold identical weights
    network = genzoo.load(tmp_path / "run" / "export")
    assert network.info["name"] == "interp-mnist" and (tmp_path / "run" / "export" / "interpolations.png").is_file()
