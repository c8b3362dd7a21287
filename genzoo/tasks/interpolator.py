"""Training the transformation-based interpolator (seed 000, section 4.4): four procedures, chosen in the recipe.

Every batch of images becomes start/goal pairs (a random derangement of the batch) and one episode per pair:
at each step t the policy sees (s_t, s_goal) and emits an action; the transformer turns (s_t, a_t) into
s_{t+1}. Rewards, as the seed lists them:

    r_t      = -step_cost + realism_weight * log D(s_{t+1})      for every step taken,
    terminal = -goal_weight * d(s_final, s_goal) - timeout_cost * [the agent never stopped]  (stop unit only),

with d the mean L1 or L2 pixel distance and log D the discriminator's log-probability that the state is real
(its log-sigmoid). The return G_t sums the rewards from step t on (undiscounted, as the episode is short).
The discriminator learns real images vs states s_1.. s_K of the episodes (the non-saturating GAN loss).

Procedures (``procedure``):

- ``bptt``: pi and T merged into one differentiable recurrent net (pi's mean action feeds T), a fixed number
  of steps; the loss d(s_K, s_goal) * goal_weight - realism_weight * sum_t log D(s_t) is backpropagated
  through all steps. The step and timeout costs are constants here (the seed drops them).
- ``pg``: REINFORCE for everything: pi's Gaussian action and T's flow are sampled, the states carry no
  gradient, and each log-likelihood is weighted by the advantage G_t - V(s_t; s_goal) (eq. 6), V trained on
  ||V - G_t||^2. T's flow is sampled with the low-resolution noise of eq. (8) (``flow_noise_factor``) and
  scored as if drawn per pixel with std sigma_F, as the seed does. Only the flow is stochastic, so ``pg``
  trains warp-only transformers (recolour / blend parameters would get no signal: use ``hybrid`` or ``bptt``).
- ``hybrid``: T by BPTT (the loss above through the states), pi by REINFORCE (its sampled action enters T
  detached), optionally with eq. (9): each sample's gradient of log pi w.r.t. the mean, and w.r.t. the std,
  clipped to norm ``gradient_limit``.
- ``bptt_stop``: ``bptt`` for T and pi's mean action, and a Bernoulli stop unit trained by REINFORCE (with
  the value baseline), with the step cost, the timeout cost and a budget of ``max_steps``.

The stop unit acts whenever the network has one (``stop_unit``): before each step the agent may stop, and
its state is then final. Every random draw comes from ``step_generator()``, so resumed runs repeat exactly.
Logged per batch: ``train/batches`` (batches of episodes so far), ``train/return`` (the batch-averaged return of
whole episodes, the seed's figure 2),
``train/final_distance``, ``train/steps`` and the losses.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from genzoo.interpolation import trajectory_strip
from genzoo.layers.transforms import gaussian_log_prob, lowres_noise
from genzoo.models.interpolator import TransformationInterpolator
from genzoo.tasks._base import GenerativeTask

PROCEDURES = ("bptt", "pg", "hybrid", "bptt_stop")
DISTANCES = ("l1", "l2", "l1_pyramid")


def goal_distance(states: torch.Tensor, goals: torch.Tensor, kind: str) -> torch.Tensor:
    """Distance per image -> (N,): mean L1, mean squared (L2), or L1 averaged over an image pyramid.

    ``l1_pyramid`` (genzoo's choice, one of the seed's "more elaborate" distances) averages the L1 distance of
    the images at full, 1/2, 1/4 and 1/8 resolution (2x2 average pooling). A warp's gradient only sees the
    intensity edges within a pixel or two of each stroke, so with plain L1 a stroke that has to travel
    further gets no signal; the blurred levels give it one. Plain L1 is what evaluation reports.
    """
    if kind == "l1_pyramid":
        levels, total = 0, 0.0
        while True:
            total = total + (states - goals).abs().flatten(1).mean(1)
            levels += 1
            if levels == 4 or min(states.shape[-2:]) < 4:
                return total / levels
            states, goals = F.avg_pool2d(states, 2, ceil_mode=True), F.avg_pool2d(goals, 2, ceil_mode=True)
    difference = states - goals
    return (difference.abs() if kind == "l1" else difference.square()).flatten(1).mean(1)


def limited_score_surrogate(sample: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, limit: float | None) -> torch.Tensor:
    """A per-sample (N,) quantity whose gradient w.r.t. ``mean`` and ``std`` is the score of N(sample; mean, std),
    each part's norm clipped to ``limit`` (eq. 9); with no limit it is the log-likelihood itself.

    The score of a diagonal Gaussian: d log N / d mean = (a - mean) / std^2, d log N / d std = ((a - mean)^2 - std^2) / std^3.
    Only its gradient is meaningful when clipped (its value is then mean . score_mean + std . score_std).
    """
    sample = sample.detach()
    if limit is None:
        return gaussian_log_prob(sample, mean, std)

    def clipped(score: torch.Tensor) -> torch.Tensor:
        norm = score.flatten(1).norm(dim=1).clamp_min(1e-12)
        return score * (limit / norm).clamp(max=1.0).view(-1, *([1] * (score.dim() - 1)))

    score_mean = (sample - mean) / std.square()
    score_std = ((sample - mean).square() - std.square()) / std.pow(3)
    return (mean * clipped(score_mean).detach()).flatten(1).sum(1) + (std * clipped(score_std).detach()).flatten(1).sum(1)


def reinforce_loss(log_likelihoods: torch.Tensor, advantages: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """-E[advantage * log pi]: the surrogate whose gradient is the REINFORCE estimate (eq. 6).

    All (T, N): the per-step log-likelihoods (or surrogates), advantages (constants) and 0/1 weights of the
    steps that were taken. Summed over steps, averaged over episodes.
    """
    return -(advantages.detach() * log_likelihoods * weights).sum(0).mean()


class InterpolatorTask(GenerativeTask):
    """Args:
    image_shape: (channels, size, size) of the training images; linked from the data module by the CLI.
    procedure: "bptt", "pg", "hybrid" or "bptt_stop" (see the module docstring).
    transforms, max_steps, width, hidden, action_dim, max_flow, max_color, max_blend: the network
        (``genzoo.models.interpolator.TransformationInterpolator``); the stop unit is on for ``bptt_stop`` and
        may be switched on for ``pg`` / ``hybrid`` with ``stop_unit``.
    step_cost, timeout_cost, realism_weight, goal_weight, distance: the rewards.
    flow_noise_factor: how much T's flow std map is shrunk before sampling in ``pg`` (eq. 8; 1: white noise).
    gradient_limit: eq. (9)'s tau for pi's policy gradient (None: off).
    gradient_clip: clip the norm of the agent's (pi and T) gradient to this before each update (None: off); BPTT
        through many steps can produce rare huge gradients that throw T's bounded outputs into saturation.
    lr, value_lr, discriminator_lr: Adam learning rates of the agent (pi and T), V and D; betas for all.
    name, init_from: the registered variant this run trains; a released checkpoint to fine-tune from.
    """

    family = "interpolator"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        procedure: str = "bptt",
        transforms: list[str] = ("warp",),
        max_steps: int = 8,
        stop_unit: bool = False,
        width: int = 32,
        hidden: int = 128,
        action_dim: int = 32,
        max_flow: float = 2.0,
        max_color: float = 0.1,
        max_blend: float = 0.3,
        step_cost: float = 0.005,
        timeout_cost: float = 0.05,
        realism_weight: float = 0.01,
        goal_weight: float = 1.0,
        distance: str = "l1",
        flow_noise_factor: int = 4,
        gradient_limit: float | None = None,
        gradient_clip: float | None = None,
        lr: float = 0.0003,
        value_lr: float = 0.001,
        discriminator_lr: float = 0.0002,
        betas: tuple[float, float] = (0.5, 0.999),
        name: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__(name=name, init_from=init_from)
        if procedure not in PROCEDURES:
            raise ValueError(f"procedure must be one of {PROCEDURES}, got {procedure!r}")
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
        stop_unit = stop_unit or procedure == "bptt_stop"
        if procedure == "bptt" and stop_unit:
            raise ValueError("procedure 'bptt' takes a fixed number of steps: train a stop unit with 'bptt_stop'")
        if procedure == "pg" and tuple(transforms) != ("warp",):
            raise ValueError("procedure 'pg' samples only T's flow, so it trains warp-only transformers "
                             f"(transforms ['warp']); got {list(transforms)}: use 'hybrid' or 'bptt' for recolor / blend")
        if flow_noise_factor < 1:
            raise ValueError(f"flow_noise_factor must be >= 1, got {flow_noise_factor}")
        for key, value in (("gradient_limit", gradient_limit), ("gradient_clip", gradient_clip)):
            if value is not None and not value > 0:
                raise ValueError(f"{key} must be > 0 or None, got {value}")
        for key, value in (("step_cost", step_cost), ("timeout_cost", timeout_cost), ("realism_weight", realism_weight), ("goal_weight", goal_weight)):
            if value < 0:
                raise ValueError(f"{key} must be >= 0, got {value}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        channels, size, _ = image_shape
        self.net = TransformationInterpolator(
            image_size=size, channels=channels, transforms=list(transforms), max_steps=max_steps, stop_unit=stop_unit,
            width=width, hidden=hidden, action_dim=action_dim, max_flow=max_flow, max_color=max_color, max_blend=max_blend,
        )
        self.load_pretrained_weights()
        self.preview_pairs: tuple[torch.Tensor, torch.Tensor] | None = None
        # Batches of episodes trained on (saved in checkpoints): the x axis of return curves, comparable across
        # procedures (Lightning's global_step counts every optimizer's steps, 2 or 3 per batch here).
        self.register_buffer("episode_batches", torch.zeros((), dtype=torch.long))

    @property
    def uses_policy_gradient(self) -> bool:
        return self.hparams.procedure != "bptt" or self.net.config["stop_unit"]

    @property
    def preview_columns(self) -> int:
        return int(self.net.config["max_steps"]) + 2  # start, the steps, goal

    def configure_optimizers(self):
        net, hp = self.net, self.hparams
        betas = tuple(hp.betas)
        agent = torch.optim.Adam(list(net.policy.parameters()) + list(net.transformer.parameters()), lr=hp.lr, betas=betas)
        value = torch.optim.Adam(net.value.parameters(), lr=hp.value_lr, betas=betas)
        discriminator = torch.optim.Adam(net.discriminator.parameters(), lr=hp.discriminator_lr, betas=betas)
        return agent, value, discriminator

    # ---- one batch of episodes ----------------------------------------------------------------------
    def rollout(self, start: torch.Tensor, goal: torch.Tensor, generator: torch.Generator) -> dict[str, Any]:
        """Run the episodes of a batch; return what the losses need, per step stacked as (T, N) or lists."""
        net, hp = self.net, self.hparams
        procedure = hp.procedure
        sample_action = procedure in ("pg", "hybrid")
        sample_flow = procedure == "pg"
        stop_unit = bool(net.config["stop_unit"])
        n = len(start)

        state = start
        alive = torch.ones(n, dtype=torch.bool, device=start.device)  # not yet stopped
        records: dict[str, list[torch.Tensor]] = {k: [] for k in (
            "acting", "deciding", "value", "action_ll", "flow_ll", "stop_ll", "realism_logit", "state")}
        for _ in range(int(net.config["max_steps"])):
            state_in = state.detach() if procedure == "pg" else state
            mean, log_std, stop_logit = net.policy(state_in, goal)
            records["deciding"].append(alive.float())
            if self.uses_policy_gradient:
                records["value"].append(net.value(state.detach(), goal))
            if stop_unit:
                stop = torch.rand(n, generator=generator).to(stop_logit.device) < torch.sigmoid(stop_logit.detach())
                records["stop_ll"].append(torch.where(stop, F.logsigmoid(stop_logit), F.logsigmoid(-stop_logit)))
                alive = alive & ~stop
            records["acting"].append(alive.float())
            if sample_action:
                std = log_std.exp()
                action = mean + std * torch.randn(mean.shape, generator=generator).to(mean)
                records["action_ll"].append(limited_score_surrogate(action, mean, std, hp.gradient_limit))
                action = action.detach()  # pi learns by policy gradient only
            else:
                action = mean
            raw = net.transformer(state_in, action)
            flow = None
            if sample_flow:
                flow_mean, flow_std = net.flow_distribution(raw)
                flow = (flow_mean + lowres_noise(flow_std.detach(), hp.flow_noise_factor, generator)).detach()
                records["flow_ll"].append(gaussian_log_prob(flow, flow_mean, flow_std))
            moved = net.apply(state_in, net.transformation(raw, flow=flow))
            if procedure == "pg":
                moved = moved.detach()
            state = torch.where(alive[:, None, None, None], moved, state)
            records["state"].append(state)
            records["realism_logit"].append(net.discriminator(state))
        stacked = {k: torch.stack(v) for k, v in records.items() if v and k != "state"}
        stacked["states"] = records["state"]
        stacked["final"] = state
        stacked["timed_out"] = alive.float() if stop_unit else torch.zeros(n, device=start.device)
        return stacked

    def returns(self, episode: dict[str, Any], goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(G_t for t = 0.. T-1 as (T, N), the final distance (N,)), all detached: the rewards of the seed."""
        hp = self.hparams
        acting = episode["acting"]
        rewards = acting * (-hp.step_cost + hp.realism_weight * F.logsigmoid(episode["realism_logit"].detach()))
        distance = goal_distance(episode["final"].detach(), goal, hp.distance)
        terminal = -hp.goal_weight * distance - hp.timeout_cost * episode["timed_out"]
        # G_t = sum_{u >= t} r_u + terminal: a reversed cumulative sum.
        to_go = rewards.flip(0).cumsum(0).flip(0) + terminal
        return to_go, distance

    def training_step(self, batch, batch_idx):
        images, _ = batch
        hp = self.hparams
        opt_agent, opt_value, opt_d = self.optimizers()
        generator = self.step_generator()
        n = len(images)
        if n < 2:
            return None  # no pair can be made of one image (a last, ragged batch)
        order = torch.randperm(n, generator=generator).to(images.device)
        start, goal = images[order], images[order.roll(1)]  # every image is someone's start and someone else's goal
        if self.preview_pairs is None:
            self.preview_pairs = (start[:8].detach().clone(), goal[:8].detach().clone())

        episode = self.rollout(start, goal, generator)
        returns, distance = self.returns(episode, goal)
        agent_loss = torch.zeros((), device=images.device)
        if hp.procedure != "pg":  # BPTT part: through the states
            realism = (episode["acting"] * F.softplus(-episode["realism_logit"])).sum(0).mean()
            agent_loss = hp.goal_weight * goal_distance(episode["final"], goal, hp.distance).mean() + hp.realism_weight * realism
        value_loss = torch.zeros((), device=images.device)
        if self.uses_policy_gradient:
            advantages = returns - episode["value"].detach()
            for key, weights in (("action_ll", episode["acting"]), ("flow_ll", episode["acting"]), ("stop_ll", episode["deciding"])):
                if key in episode:
                    agent_loss = agent_loss + reinforce_loss(episode[key], advantages, weights)
            value_loss = (episode["deciding"] * (episode["value"] - returns).square()).sum(0).mean()

        opt_agent.zero_grad(set_to_none=True)
        opt_value.zero_grad(set_to_none=True)
        self.manual_backward(agent_loss + value_loss)
        if hp.gradient_clip is not None:
            self.clip_gradients(opt_agent, gradient_clip_val=hp.gradient_clip, gradient_clip_algorithm="norm")
        opt_agent.step()
        if self.uses_policy_gradient:
            opt_value.step()

        # Discriminator: real images vs one random state of each episode.
        step_index = torch.randint(len(episode["states"]), (n,), generator=generator)
        fake = torch.stack([episode["states"][int(t)][i] for i, t in enumerate(step_index)]).detach()
        d_loss = F.softplus(-self.net.discriminator(images)).mean() + F.softplus(self.net.discriminator(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()

        self.episode_batches += 1
        steps = episode["acting"].sum(0)
        self.log_dict(
            {"train/batches": self.episode_batches.float(), "train/return": returns[0].mean(), "train/final_distance": distance.mean(), "train/steps": steps.mean(),
             "loss/agent": agent_loss.detach(), "loss/value": value_loss.detach(), "loss/d": d_loss.detach()},
            prog_bar=True,
        )
        return None

    # ---- what the callbacks use ---------------------------------------------------------------------
    @torch.no_grad()
    def interpolation_figure(self, network: TransformationInterpolator) -> torch.Tensor:
        """Rows of (start, frame 1 .. frame K, goal) for the kept preview pairs; frames after a stop are black."""
        start, goal = self.preview_pairs if self.preview_pairs is not None else (None, None)
        if start is None:
            raise RuntimeError("no training batch seen yet: nothing to preview")
        network = network.to(start.device, torch.float32)
        result = network.interpolate(start.float(), goal.float())
        return trajectory_strip(result.frames, result.stop_step, goal).cpu()

    @torch.no_grad()
    def preview(self, num: int, seed: int = 0) -> torch.Tensor:
        return self.interpolation_figure(self.net)

