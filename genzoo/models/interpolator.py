"""Transformation-based image interpolation (Ganin, "Transformation-based Image Interpolation"; seed 000).

Instead of decoding points on a line in a latent space, an agent walks from a start image to a goal image by
a sequence of small, interpretable transformations of the current image, so every intermediate frame is made
of the previous frame's pixels (warped, recoloured, or partly replaced) and stays close to the image manifold:

    s_{t+1} = T(s_t, a_t),  a_t ~ pi(a | s_t; s_goal)   (eq. 1), and a Bernoulli "stop" unit in pi.

States are images in [0, 1] (the seed's S = [0, 1]^{H x W x C}).

The seed leaves the architectures as TODO; these are genzoo's choices (documented on the cards):

- **Trunk** (shared design of pi, V and the discriminator): stride-2 4x4 convolutions with leaky ReLU, halving
  the image until it is 8x8 or smaller (28 -> 14 -> 7; 64 -> 32 -> 16 -> 8), doubling the channels, then a 1x1
  convolution to 8 channels, flattened, and a hidden layer of ``hidden`` units. pi and V see the current state
  and the goal stacked as channels; the discriminator sees one image. Keeping the spatial layout to the last
  layer (no global pooling) lets pi tell *where* the goal differs from the state.
- **Policy** pi(a | s; s_goal): a Gaussian action of ``action_dim`` dimensions (mean and state-dependent log
  standard deviation) and one stop logit. **Value** V(s; s_goal): the same trunk, one output.
- **Transformer** T(s, a): a small U-Net on the state alone (T never sees the goal: everything it knows about
  where to go comes through the action, as in eq. 1); the action enters at the bottleneck, broadcast over
  space. Its output maps parameterize the enabled transformations, each bounded so that one step is small:
  warp (eq. 2) by a flow of at most ``max_flow`` pixels (tanh); recolouring (eq. 3) with A = I + max_color
  tanh(.), b = max_color tanh(.) from the pooled bottleneck and a per-pixel mask; blending (eq. 4) with a
  synthesized image (sigmoid) that replaces at most ``max_blend`` of any pixel. For policy-gradient training
  of T it also predicts a per-pixel log standard deviation of the flow (eq. 7-8).
- The transformations apply in the order warp, recolour, blend; the result is clamped to [0, 1].

Which transformations are enabled is configuration: ``("warp",)`` for MNIST, all three for CelebA (section 4.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo._checks import check_count, check_tensor
from genzoo.layers.transforms import blend, recolor, warp
from genzoo.models._base import GenerativeNetwork

TRANSFORMS = ("warp", "recolor", "blend")
LOG_STD_RANGE = (-5.0, 1.0)  # of the policy's action distribution: keeps exp() finite and PG steps bounded
FLOW_LOG_STD_RANGE = (-4.0, 1.0)  # of T's flow, in pixels


def downsamplings(image_size: int) -> int:
    """How many stride-2 halvings the trunk applies: until the side is 8 or less, or odd (28 -> 14 -> 7)."""
    count, size = 0, image_size
    while size > 8 and size % 2 == 0:
        size //= 2
        count += 1
    return count


class Trunk(nn.Module):
    """Strided convolutions down to <= 8x8, a 1x1 squeeze to 8 channels, flatten, a hidden layer -> (N, hidden)."""

    def __init__(self, in_channels: int, image_size: int, width: int, hidden: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, size = in_channels, image_size
        for level in range(downsamplings(image_size)):
            out = width * 2**level
            layers += [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels, size = out, size // 2
        layers += [nn.Conv2d(channels, 8, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8 * size * size, hidden), nn.LeakyReLU(0.2)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Policy(nn.Module):
    """pi(a | s; s_goal): Gaussian action (mean, log std) and a Bernoulli stop logit."""

    def __init__(self, channels: int, image_size: int, width: int, hidden: int, action_dim: int) -> None:
        super().__init__()
        self.trunk = Trunk(2 * channels, image_size, width, hidden)
        self.mean = nn.Linear(hidden, action_dim)
        self.log_std = nn.Linear(hidden, action_dim)
        self.stop = nn.Linear(hidden, 1)
        nn.init.constant_(self.log_std.bias, -1.0)  # start with std ~0.37: exploration without swamping the mean
        nn.init.constant_(self.stop.bias, -3.0)  # start rarely stopping (p ~0.05), so early episodes get to move

    def forward(self, state: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.trunk(torch.cat([state, goal], dim=1))
        log_std = self.log_std(h).clamp(*LOG_STD_RANGE)
        return self.mean(h), log_std, self.stop(h).squeeze(1)


class Value(nn.Module):
    """V(s; s_goal): the policy's trunk with one output (the baseline of policy gradients)."""

    def __init__(self, channels: int, image_size: int, width: int, hidden: int) -> None:
        super().__init__()
        self.trunk = Trunk(2 * channels, image_size, width, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, state: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(torch.cat([state, goal], dim=1))).squeeze(1)


class Discriminator(nn.Module):
    """Realism critic of single states: a logit, high for real images (its log-sigmoid is the realism reward)."""

    def __init__(self, channels: int, image_size: int, width: int, hidden: int) -> None:
        super().__init__()
        self.trunk = Trunk(channels, image_size, width, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(images)).squeeze(1)


class Transformer(nn.Module):
    """T(s, a): a U-Net on the state, the action injected at the bottleneck; returns raw parameter maps."""

    def __init__(self, channels: int, image_size: int, width: int, action_dim: int, transforms: tuple[str, ...]) -> None:
        super().__init__()
        self.channels, self.transforms = channels, transforms
        self.down = nn.ModuleList()
        skips, in_channels = [], channels
        for level in range(downsamplings(image_size)):
            out = width * 2**level
            self.down.append(nn.Sequential(nn.Conv2d(in_channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)))
            skips.append(out)
            in_channels = out
        self.action = nn.Linear(action_dim, in_channels)
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * in_channels, in_channels, 3, padding=1), nn.LeakyReLU(0.2))
        self.up = nn.ModuleList()
        for level in reversed(range(len(skips))):
            out = width * 2 ** max(level - 1, 0)
            # Input: the previous level and the encoder's features of the same size (the skip connection).
            self.up.append(nn.Sequential(nn.ConvTranspose2d(in_channels + skips[level], out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)))
            in_channels = out
        # Per-pixel maps: flow (2) and its log std (2); recolour keep-mask logit (1); blend mask logit (1) and image (C).
        self.map_channels = {"flow": 2, "flow_log_std": 2}
        if "recolor" in transforms:
            self.map_channels["recolor_mask"] = 1
        if "blend" in transforms:
            self.map_channels.update(blend_mask=1, synthesized=channels)
        self.maps = nn.Conv2d(in_channels + channels, sum(self.map_channels.values()), 3, padding=1)
        # Per-image recolouring A (C x C) and b (C), from the pooled bottleneck.
        self.color = nn.Linear(skips[-1] if skips else channels, channels * channels + channels) if "recolor" in transforms else None
        # Start near the identity transformation: small outputs everywhere.
        nn.init.normal_(self.maps.weight, std=1e-3)
        nn.init.zeros_(self.maps.bias)
        if self.color is not None:
            nn.init.normal_(self.color.weight, std=1e-3)
            nn.init.zeros_(self.color.bias)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> dict[str, torch.Tensor]:
        features, x = [], state
        for block in self.down:
            x = block(x)
            features.append(x)
        injected = self.action(action)[:, :, None, None].expand_as(x)
        x = self.bottleneck(torch.cat([x, injected], dim=1))
        pooled = x.mean(dim=(2, 3))
        for block, skip in zip(self.up, reversed(features)):
            x = block(torch.cat([x, skip], dim=1))
        maps = self.maps(torch.cat([x, state], dim=1)).split(list(self.map_channels.values()), dim=1)
        raw = dict(zip(self.map_channels, maps))
        if self.color is not None:
            color = self.color(pooled)
            c = self.channels
            raw["color_matrix"] = color[:, : c * c].view(-1, c, c)
            raw["color_bias"] = color[:, c * c :]
        return raw


@dataclass
class Interpolation:
    """What :meth:`TransformationInterpolator.interpolate` returns.

    frames: (steps + 1, C, H, W) in [0, 1] for one pair, (N, steps + 1, C, H, W) for a batch: the start, then the
        state after each step; after the agent stops, the frames repeat its final state.
    stop_step: the number of steps taken (the index of the final state): an int, or an (N,) tensor.
    params: per step, the transformation parameters that produced frame t + 1 (flow in pixels, masks,
        A and b, the synthesized image), each with a leading batch dimension (dropped for one pair).
    """

    frames: torch.Tensor
    stop_step: int | torch.Tensor
    params: list[dict[str, torch.Tensor]] = field(default_factory=list)

    @property
    def final(self) -> torch.Tensor:
        """The last state (C, H, W) or (N, C, H, W)."""
        if self.frames.dim() == 4:
            return self.frames[int(self.stop_step)]
        return self.frames[torch.arange(len(self.frames)), self.stop_step]


class TransformationInterpolator(GenerativeNetwork):
    """The agent (policy, value), the transformer and the realism discriminator, saved together so that
    training can resume from a release. ``interpolate(start, goal)`` is what users call.

    Args:
        image_size, channels: the images' side and channels (28 and 1 for MNIST, 64 and 3 for CelebA).
        transforms: the enabled transformations, a subset of ("warp", "recolor", "blend"); warp is always on.
        max_steps: the step budget of an episode (the seed's figure 4: 15).
        stop_unit: whether the policy's stop unit decides when to end (trained by ``bptt_stop``); without it
            every interpolation takes ``max_steps`` steps.
        width, hidden, action_dim: network sizes.
        max_flow: the largest displacement one step may make, in pixels.
        max_color: bound of A - I and of b per step; max_blend: the largest share of a pixel one blend replaces.
    """

    VALUE_RANGE: ClassVar[tuple[float, float]] = (0.0, 1.0)
    PIPELINE_TAG: ClassVar[str] = "image-to-image"
    TINY_CONFIG = {"width": 4, "hidden": 8, "action_dim": 2, "max_steps": 3}

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        transforms: list[str] | tuple[str, ...] = ("warp",),
        max_steps: int = 8,
        stop_unit: bool = False,
        width: int = 32,
        hidden: int = 128,
        action_dim: int = 32,
        max_flow: float = 2.0,
        max_color: float = 0.1,
        max_blend: float = 0.3,
    ) -> None:
        transforms = tuple(transforms)
        super().__init__(
            image_size=image_size, channels=channels, transforms=list(transforms), max_steps=max_steps, stop_unit=stop_unit,
            width=width, hidden=hidden, action_dim=action_dim, max_flow=max_flow, max_color=max_color, max_blend=max_blend,
        )
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown or "warp" not in transforms or len(set(transforms)) != len(transforms):
            raise ValueError(f"transforms must be distinct names from {TRANSFORMS} including 'warp', got {list(transforms)}")
        check_count(max_steps, "max_steps", what="steps")
        check_count(image_size, "image_size", what="pixels", minimum=4)
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if "recolor" in transforms and channels != 3:
            raise ValueError("recolor needs RGB images (channels 3): its matrix mixes colour channels")
        for name, value, high in (("max_flow", max_flow, None), ("max_color", max_color, None), ("max_blend", max_blend, 1.0)):
            if not value > 0 or (high is not None and value > high):
                raise ValueError(f"{name} must be > 0{'' if high is None else f' and <= {high}'}, got {value}")
        self.transforms = transforms
        self.policy = Policy(channels, image_size, width, hidden, action_dim)
        self.value = Value(channels, image_size, width, hidden)
        self.transformer = Transformer(channels, image_size, width, action_dim, transforms)
        self.discriminator = Discriminator(channels, image_size, width, hidden)

    @classmethod
    def describe(cls, config: dict[str, Any]) -> dict[str, Any]:
        facts = super().describe(config)
        facts.update(transforms=list(config.get("transforms", ["warp"])), max_steps=config.get("max_steps", 8),
                     stop_unit=bool(config.get("stop_unit", False)))
        return facts

    @property
    def image_size(self) -> int:
        return int(self.config["image_size"])

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise NotImplementedError(
            "TransformationInterpolator walks from a start image to a goal image; it does not sample from noise. "
            "Use network.interpolate(start, goal) or `genzoo interpolate NAME --start a.png --goal b.png --out path.gif`."
        )

    # ---- one step ---------------------------------------------------------------------------------
    def transformation(self, raw: dict[str, torch.Tensor], flow: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Bounded transformation parameters from T's raw maps. ``flow`` replaces the mean flow (a sampled one)."""
        max_flow, max_color, max_blend = (float(self.config[k]) for k in ("max_flow", "max_color", "max_blend"))
        params = {"flow": max_flow * torch.tanh(raw["flow"]) if flow is None else flow}
        if "recolor" in self.transforms:
            eye = torch.eye(self.channels, device=raw["color_matrix"].device, dtype=raw["color_matrix"].dtype)
            params["recolor_keep"] = 1.0 - torch.sigmoid(raw["recolor_mask"])
            params["color_matrix"] = eye + max_color * torch.tanh(raw["color_matrix"])
            params["color_bias"] = max_color * torch.tanh(raw["color_bias"])
        if "blend" in self.transforms:
            params["blend_keep"] = 1.0 - max_blend * torch.sigmoid(raw["blend_mask"])
            params["synthesized"] = torch.sigmoid(raw["synthesized"])
        return params

    def flow_distribution(self, raw: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (bounded, pixels) and standard deviation (pixels) of the stochastic flow of eq. (7)-(8)."""
        mean = float(self.config["max_flow"]) * torch.tanh(raw["flow"])
        return mean, raw["flow_log_std"].clamp(*FLOW_LOG_STD_RANGE).exp()

    def apply(self, state: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Warp, then recolour, then blend (the enabled ones), clamped to [0, 1].

        The clamp is straight-through (identity gradient): a hard clamp gives no gradient to pixels a recolouring
        pushed out of range, so once a whole image is dark or saturated nothing can pull it back (a CelebA
        pilot run collapsed to black frames that way). Warps and blends of [0, 1] images stay in range anyway.
        """
        out = warp(state, params["flow"])
        if "recolor" in self.transforms:
            out = recolor(out, params["recolor_keep"], params["color_matrix"], params["color_bias"])
        if "blend" in self.transforms:
            out = blend(out, params["blend_keep"], params["synthesized"])
        return out + (out.clamp(0.0, 1.0) - out).detach()

    # ---- what users call ----------------------------------------------------------------------------
    def check_pair(self, start: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if not isinstance(start, torch.Tensor) or not isinstance(goal, torch.Tensor):
            raise TypeError(f"start and goal must be tensors, got {type(start).__name__} and {type(goal).__name__}")
        if start.shape != goal.shape:
            raise ValueError(f"start and goal must have the same shape, got {tuple(start.shape)} and {tuple(goal.shape)}")
        single = start.dim() == 3
        shape = ("N", self.channels, self.image_size, self.image_size)
        checked = [
            check_tensor(x[None] if single else x, shape, name, value_range=(0.0, 1.0), tolerance=1e-3, device=self.device, dtype=self.dtype)
            for x, name in ((start, "start"), (goal, "goal"))
        ]
        return checked[0], checked[1], single

    def interpolate(self, start: torch.Tensor, goal: torch.Tensor, max_steps: int | None = None) -> Interpolation:
        """Walk from ``start`` to ``goal`` (images in [0, 1], (C, H, W) or (N, C, H, W), of the network's size).

        The agent acts with its mean action and stops when its stop unit says so with probability > 1/2 (models
        trained with a stop unit) or after ``max_steps`` steps (default: the trained budget). Deterministic.
        """
        start, goal, single = self.check_pair(start, goal)
        max_steps = int(self.config["max_steps"]) if max_steps is None else check_count(max_steps, "max_steps", what="steps")
        stop_unit = bool(self.config["stop_unit"])
        state = start
        frames, params_per_step = [start], []
        stopped = torch.zeros(len(start), dtype=torch.bool, device=start.device)
        stop_step = torch.full((len(start),), max_steps, dtype=torch.long, device=start.device)
        with self.inference_mode():
            for step in range(max_steps):
                mean, _, stop_logit = self.policy(state, goal)
                if stop_unit:
                    newly = (stop_logit > 0) & ~stopped
                    stop_step[newly] = step
                    stopped |= newly
                params = self.transformation(self.transformer(state, mean))
                moved = self.apply(state, params)
                state = torch.where(stopped[:, None, None, None], state, moved)
                frames.append(state)
                params_per_step.append({k: v.detach() for k, v in params.items()})
        trajectory = torch.stack(frames, dim=1)
        if single:
            return Interpolation(trajectory[0], int(stop_step[0]), [{k: v[0] for k, v in p.items()} for p in params_per_step])
        return Interpolation(trajectory, stop_step, params_per_step)

    def forward(self, start: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """The final state of :meth:`interpolate` (what the agent reaches)."""
        return self.interpolate(start, goal).final


def crossfade(start: torch.Tensor, goal: torch.Tensor, steps: int) -> torch.Tensor:
    """The pixel cross-fade baseline: (1 - w) start + w goal for w = 0, 1/steps, ..., 1.

    ``start``, ``goal``: (C, H, W) or (N, C, H, W) -> (steps + 1, C, H, W) or (N, steps + 1, C, H, W).
    """
    single = start.dim() == 3
    start, goal = (start[None], goal[None]) if single else (start, goal)
    weights = torch.linspace(0.0, 1.0, steps + 1, device=start.device, dtype=start.dtype).view(1, -1, 1, 1, 1)
    frames = (1 - weights) * start.unsqueeze(1) + weights * goal.unsqueeze(1)
    return frames[0] if single else frames


PAPER = (
    "Yaroslav Ganin, \"Transformation-based Image Interpolation\", MILA, Université de Montréal (unpublished "
    "project report; genzoo's seed 000 is its only description)"
)
PUBLISHED_RESULTS: dict[str, Any] = {}  # the report has no numbers (its MNIST and CelebA sections are TODO)
ARCHITECTURES = (TransformationInterpolator,)
