"""Deep Image Prior: restore one image with a randomly initialized ConvNet, no training data.

    genzoo restore photo.png --task inpaint --mask mask.png --out filled.png [--figure fig.png]
    genzoo restore photo.png --task denoise --noise-sigma 25 --out clean.png      (adds the noise itself, to measure)
    genzoo restore small.png --task sr --scale 4 --out big.png [--hr]              (--hr: downscale first, measure PSNR)

Ulyanov, Vedaldi and Lempitsky, "Deep Image Prior", CVPR 2018: the structure of a generator network is a prior
on images. Fit the hourglass ``f_theta`` (``genzoo.models.style.DeepImagePrior``) from a fixed noise input z to the
corrupted image x0 by gradient descent on theta,

    min_theta E(f_theta(z); x0)      denoise: ||f(z) - x0||^2      inpaint: ||(f(z) - x0) * m||^2
                                     sr: ||d(f(z)) - x0||^2, d = bicubic downscaling by the scale

and stop early: the network fits natural structure long before noise, so the number of steps is the
regularization (the paper: ~1800 for denoising, 2000 for x4 super-resolution, a few thousand for inpainting).
As in the paper: z uniform in [0, 0.1) with 32 channels, perturbed at each step by Gaussian noise of std
``input_noise_std`` (1/30 for denoising and super-resolution, none for inpainting), Adam with lr 0.01, the
network kept in training mode (batch norm over the one image). d is the MATLAB-compatible bicubic of the SR
protocol (``genzoo.imresize``), so PSNRs compare with the SR models'. The paper's network (width 128) takes ~2 s
per step for a 256 x 256 image on one CPU core; ``width=64`` is ~4x faster.

Images are float RGB (3, H, W) in [0, 1]; masks (H, W) in [0, 1], 1 = known pixel, 0 = hole.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from genzoo._checks import check_count, check_number, check_seed
from genzoo.models.style import DeepImagePrior, rgb_batch

TASKS = ("denoise", "inpaint", "sr")
DEFAULT_STEPS = {"denoise": 1800, "inpaint": 3000, "sr": 2000}
DEFAULT_INPUT_NOISE = {"denoise": 1.0 / 30, "inpaint": 0.0, "sr": 1.0 / 30}


def check_mask(mask: Any, height: int, width: int) -> torch.Tensor:
    """``mask`` as float (1, 1, H, W) in [0, 1]; it may be (H, W), (1, H, W), (3, H, W) (channels equal) or (1, 1, H, W)."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a tensor (H, W) with 1 at known pixels and 0 in the holes, got {type(mask).__name__}")
    m = mask.float()
    while m.dim() > 2 and m.shape[0] == 1:
        m = m[0]
    if m.dim() == 3 and m.shape[0] == 3:
        m = m.amin(dim=0)  # a pixel is known only where every channel is
    if m.shape != (height, width):
        raise ValueError(f"mask must be (H, W) = ({height}, {width}) like the image, got shape {tuple(mask.shape)}")
    if not torch.isfinite(m).all() or m.min() < 0 or m.max() > 1:
        raise ValueError("mask must have values in [0, 1] (1: known pixel, 0: hole)")
    if m.sum() == 0:
        raise ValueError("the mask marks no pixel as known: there is nothing to fit")
    return m[None, None]


def restore(image: torch.Tensor, task: str = "denoise", mask: torch.Tensor | None = None, scale: int = 4,
            steps: int | None = None, lr: float = 0.01, width: int = 128, skip_width: int = 4, depth: int = 5,
            input_channels: int = 32, input_noise_std: float | None = None, seed: int = 0, progress: bool = True,
            save_every: int | None = None, save_dir: str | os.PathLike | None = None,
            device: str | torch.device | None = None) -> torch.Tensor:
    """Restore ``image`` (3, H, W) in [0, 1] with the Deep Image Prior; returns (3, H, W) in [0, 1], or
    (3, scale H, scale W) for ``task="sr"``.

    Args:
        task: "denoise" (``image`` is noisy), "inpaint" (``mask`` says which pixels are known) or "sr" (``image`` is
            the low-resolution one; the result is ``scale`` times larger).
        steps: Adam steps (default: the paper's, per task; see ``DEFAULT_STEPS``): early stopping is the prior.
        lr, width, skip_width, depth, input_channels, input_noise_std: the paper's settings by default.
        seed: draws the input noise and the network's initial weights (the global random state is left alone).
        save_every, save_dir: write the current result to ``save_dir/step<k>.png`` every that many steps.
    """
    from genzoo.hub import resolve_device
    from genzoo.imresize import imresize

    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    batch, _ = rgb_batch(image, "image", min_size=2)
    if len(batch) != 1:
        raise ValueError("restore fits one image (3, H, W) at a time")
    if mask is not None and task != "inpaint":
        raise ValueError(f"a mask is for task='inpaint', not {task!r}")
    if task == "inpaint" and mask is None:
        raise ValueError("task='inpaint' needs mask: (H, W) with 1 at known pixels and 0 in the holes")
    if task == "sr":
        scale = check_count(scale, "scale", "times")
    steps = check_count(DEFAULT_STEPS[task] if steps is None else steps, "steps", "steps")
    noise_std = check_number(DEFAULT_INPUT_NOISE[task] if input_noise_std is None else input_noise_std, "input_noise_std", 0.0)
    if save_every is not None and save_dir is None:
        raise ValueError("save_every needs save_dir, the folder for the intermediate images")
    device = resolve_device(device)
    observed = batch.to(device).float()
    height, width_px = observed.shape[-2:]
    out_h, out_w = (height * scale, width_px * scale) if task == "sr" else (height, width_px)
    known = check_mask(mask, height, width_px).to(device) if task == "inpaint" else None

    # The network and its noise input, both from ``seed`` (private generators: the caller's random state is untouched).
    fork = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(check_seed(seed))
        network = DeepImagePrior(input_channels=input_channels, channels=3, width=width, skip_width=skip_width, depth=depth)
        divisor = network.divisor
        # The noise grid: the output size rounded up to a multiple of 2**depth, at least 2 x 2**depth (the innermost
        # level's reflection-padded convolutions need 2 x 2 pixels); the output is cropped back.
        grid = tuple(max(2 * divisor, math.ceil(side / divisor) * divisor) for side in (out_h, out_w))
        z = torch.rand(1, input_channels, *grid) * 0.1
        perturbations = torch.Generator().manual_seed(check_seed(seed) + 1)
    network = network.to(device).train()  # batch norm over the one image, as the paper, also for the final output
    z = z.to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=check_number(lr, "lr", minimum=0.0))

    def output(noise_input: torch.Tensor) -> torch.Tensor:
        return network(noise_input)[..., :out_h, :out_w]

    with tqdm(range(steps), desc=f"deep image prior ({task})", disable=not progress) as bar:
        for step in bar:
            noise_input = z
            if noise_std > 0:
                noise_input = z + noise_std * torch.randn(z.shape, generator=perturbations).to(device)
            result = output(noise_input)
            if task == "sr":
                loss = (imresize(result, 1.0 / scale) - observed).pow(2).mean()
            elif task == "inpaint":
                loss = ((result - observed) * known).pow(2).sum() / (known.sum() * 3)
            else:
                loss = (result - observed).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3g}")
            if save_every and (step + 1) % save_every == 0:
                from genzoo.style import save_image

                save_image(result.detach()[0].cpu(), Path(save_dir) / f"step{step + 1:05d}.png")
    with torch.no_grad():
        return output(z)[0].clamp(0, 1).cpu()


def psnr(image: torch.Tensor, reference: torch.Tensor, crop_border: int = 0, mode: str = "y") -> float:
    """PSNR in dB of 8-bit pixels (``genzoo.metrics.PSNR``): on the Y channel (BT.601) with ``crop_border`` pixels
    cropped, the SR protocol; or on RGB (``mode="rgb"``), as denoising results are reported."""
    from genzoo.metrics.psnr_ssim import PSNR

    metric = PSNR(mode=mode, crop_border=crop_border)
    metric.update(image[None].clamp(0, 1), reference[None].clamp(0, 1))
    return float(metric.compute())


def restore_file(path: str | os.PathLike, out: str | os.PathLike, task: str = "denoise", mask: str | os.PathLike | None = None,
                 scale: int = 4, hr: bool = False, noise_sigma: float | None = None, steps: int | None = None,
                 width: int = 128, max_size: int | None = 512, save_every: int | None = None,
                 figure: str | os.PathLike | None = None, seed: int = 0, device: str | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Behind ``genzoo restore``: read ``path`` (and ``mask``, a grayscale image: white = known, black = hole), restore,
    write ``out`` and, with ``figure``, input | result (| reference). With ``hr`` (sr) the file is the high-resolution
    truth: it is cropped to a multiple of ``scale`` and downscaled first, and PSNRs of the result and of bicubic
    upscaling are measured (Y channel, ``scale`` border, as the SR protocol). With ``noise_sigma`` (denoise) Gaussian
    noise of that std on the 0-255 scale is added first (seeded) and PSNRs of the result and of the noisy input are
    measured (RGB). Returns {"out": path, "psnr": ..., ...}."""
    from genzoo.data import read_image
    from genzoo.imresize import imresize
    from genzoo.style import load_image, save_image, side_by_side

    image = load_image(path, max_size if not hr else None)
    reference = None
    report: dict[str, Any] = {}
    if hr:
        if task != "sr":
            raise ValueError("--hr is for --task sr (the image is the high-resolution truth)")
        h, w = (s - s % scale for s in image.shape[-2:])
        reference = image[:, :h, :w]
        image = imresize(reference, 1.0 / scale).clamp(0, 1)
    if noise_sigma is not None:
        if task != "denoise":
            raise ValueError("--noise-sigma is for --task denoise (the image is the clean truth)")
        reference = image
        noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed)) * check_number(noise_sigma, "noise_sigma", 0.0) / 255
        image = (image + noise).clamp(0, 1)
        report["psnr_noisy"] = psnr(image, reference, mode="rgb")
    mask_tensor = None
    if mask is not None:
        mask_tensor = (read_image(mask, 1, None).float() / 255.0 >= 0.5).float()[0]
        if mask_tensor.shape != image.shape[-2:]:
            raise ValueError(f"the mask is {tuple(mask_tensor.shape)} pixels, the image {tuple(image.shape[-2:])}: they must match")
    result = restore(image, task, mask_tensor, scale=scale, steps=steps, width=width, seed=seed, progress=progress,
                     save_every=save_every, save_dir=Path(out).with_name(Path(out).stem + "_steps") if save_every else None,
                     device=device)
    if hr:
        report["psnr"] = psnr(result, reference, crop_border=scale)
        report["psnr_bicubic"] = psnr(imresize(image, float(scale)).clamp(0, 1), reference, crop_border=scale)
    elif reference is not None:
        report["psnr"] = psnr(result, reference, mode="rgb")
    report["out"] = save_image(result, out)
    if figure is not None:
        shown = image * mask_tensor if mask_tensor is not None else image  # the holes shown black
        side_by_side([shown, result] + ([reference] if reference is not None else []), figure)
    return report
