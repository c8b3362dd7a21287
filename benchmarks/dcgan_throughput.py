"""DCGAN training throughput: genzoo's DCGANTask under a Lightning Trainer vs a plain PyTorch loop.

Both sides train identical networks (genzoo.models.DCGAN) with the same batch, data, Adam settings and
update order (one discriminator then one generator update per batch). Runs alternate (plain, genzoo,
plain, genzoo, ...) so that a busy machine slows both alike; the median of each side is reported.

    python benchmarks/dcgan_throughput.py                      # MNIST-sized DCGAN, CPU
    python benchmarks/dcgan_throughput.py --device cuda --image-size 64 --channels 3 --width 64
    python benchmarks/dcgan_throughput.py --precision bf16-mixed --channels-last   # the fast settings, both sides

``--precision bf16-mixed`` is bf16 autocast (Lightning's flag; ``torch.autocast`` in the plain loop);
``--channels-last`` converts the networks' weights to channels-last memory format (genzoo's ``ChannelsLast``
callback; ``Module.to(memory_format=...)`` in the plain loop).

Prints a table and adds the result, under a label naming the settings, to benchmarks/results/dcgan_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from genzoo.callbacks import ChannelsLast
from genzoo.losses import discriminator_bce_loss, generator_bce_loss
from genzoo.models.dcgan import DCGAN
from genzoo.tasks import DCGANTask


def make_loader(args: argparse.Namespace) -> DataLoader:
    count = args.batch_size * (args.warmup + args.batches)
    images = torch.rand(count, args.channels, args.image_size, args.image_size) * 2 - 1
    return DataLoader(TensorDataset(images, torch.zeros(count, dtype=torch.long)), batch_size=args.batch_size, shuffle=True, drop_last=True)


def plain_loop(args: argparse.Namespace) -> float:
    """Batches per second of a hand-written loop doing exactly what DCGANTask.training_step does."""
    torch.manual_seed(0)
    device = torch.device(args.device)
    net = DCGAN(image_size=args.image_size, channels=args.channels, latent_dim=100, g_width=args.width, d_width=args.width).to(device)
    if args.channels_last:
        net.to(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")
    opt_g = torch.optim.Adam(net.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(net.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = None
    for index, (real, _) in enumerate(make_loader(args)):
        if index == args.warmup:
            synchronize(device)
            start = time.perf_counter()
        real = real.to(device)
        z = torch.randn(real.shape[0], 100, generator=torch.Generator().manual_seed(index)).to(real)
        with autocast:
            fake = net.generator(z)
            d_loss = discriminator_bce_loss(net.discriminator(real), net.discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with autocast:
            g_loss = generator_bce_loss(net.discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    synchronize(device)
    return args.batches / (time.perf_counter() - start)


class BatchTimer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        synchronize(pl_module.device)
        self.end = time.perf_counter()


def genzoo_task(args: argparse.Namespace) -> float:
    """Batches per second of DCGANTask trained by a Lightning Trainer (progress bar and logger off)."""
    torch.manual_seed(0)
    task = DCGANTask(image_shape=(args.channels, args.image_size, args.image_size), g_width=args.width, d_width=args.width)
    timer = BatchTimer(args.warmup)
    callbacks = [timer, ChannelsLast()] if args.channels_last else [timer]
    trainer = L.Trainer(
        accelerator="gpu" if args.device.startswith("cuda") else "cpu", devices=1, max_epochs=1, logger=False,
        precision=args.precision, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(task, make_loader(args))
    return args.batches / (timer.end - timer.start)


def synchronize(device: torch.device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=60, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--channels-last", action="store_true", help="networks in channels-last memory format")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dcgan_throughput.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    plain, genzoo = [], []
    for repeat in range(args.repeats):
        plain.append(plain_loop(args))
        genzoo.append(genzoo_task(args))
        print(f"repeat {repeat + 1}/{args.repeats}: plain {plain[-1]:.2f} batches/s, genzoo {genzoo[-1]:.2f} batches/s")
    result = {
        "setup": {key: value for key, value in vars(args).items() if key != "out"} | {"torch_threads": torch.get_num_threads()},
        "hardware": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"{platform.machine()} CPU",
        "plain_batches_per_s": plain,
        "genzoo_batches_per_s": genzoo,
        "plain_median": statistics.median(plain),
        "genzoo_median": statistics.median(genzoo),
    }
    result["ratio_genzoo_over_plain"] = result["genzoo_median"] / result["plain_median"]
    print(f"\n| loop | batches/s (median of {args.repeats}) |\n|---|---|")
    print(f"| plain PyTorch | {result['plain_median']:.2f} |\n| genzoo DCGANTask + Trainer | {result['genzoo_median']:.2f} |")
    print(f"ratio genzoo / plain = {result['ratio_genzoo_over_plain']:.3f}")
    label = (f"{result['hardware']}, {args.image_size}px x{args.channels} width {args.width} batch {args.batch_size}, "
             f"{torch.get_num_threads()} thread(s), {args.precision}{', channels-last' if args.channels_last else ''}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results[label] = result
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out} as {label!r}")


if __name__ == "__main__":
    main()
