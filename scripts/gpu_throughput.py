"""Training throughput and model-FLOP utilisation of the 7.6M-parameter UNet at 40x40 (the
device check), and the cost of a paper-scale zoo extrapolated from it.

Prepared so that a session lent a GPU runs one short command and records the figures in
benchmarks/RESULTS.md:

    .venv/bin/python scripts/gpu_throughput.py --out $OUT/gpu.json          # on the GPU machine

It times memgen's own training step (``studies.train.train_step``: channels_last, bf16 autocast as
``TrainConfig(bf16=True, channels_last=True)`` would train) after a warm-up, synchronising the
device around the timed steps, in bf16 and in fp32 (TF32 allowed, as PyTorch's default for
convolutions). Utilisation is given against both the nominal peak (``--peak-tflops``, H200 dense
bf16 989) and a GEMM measured in the same run. The zoo cost is the profile's planned training FLOPs
(``Zoo.plan``, 6 FLOPs per MAC per image) over the measured bf16 rate: what ``memgen zoo build
--dry-run`` estimates from an assumed 35% MFU. On a machine without CUDA it runs on the CPU (used by
the test of this script)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from studies.config import ModelConfig
from studies.model.unet import UNet
from studies.peak import gemm_flops_per_s
from studies.train import cpu_bf16_supported, train_step
from studies.zoo import Zoo, training_flops


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_rate(device: torch.device, *, bf16: bool, batch: int, steps: int, warmup: int, side: int, cfg: ModelConfig) -> float:
    """Images per second of ``steps`` timed training steps of memgen's loop."""
    g = torch.Generator(device=device).manual_seed(0)
    net = UNet(cfg, generator=torch.Generator().manual_seed(0)).to(device).train().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, cfg.channels, side, side, device=device)
    for _ in range(warmup):
        train_step(net, opt, x, g, "quadratic", memory_format=torch.channels_last, autocast=bf16)
    _sync(device)
    t = time.perf_counter()
    loss = torch.zeros((), device=device)
    for _ in range(steps):
        loss = loss + train_step(net, opt, x, g, "quadratic", memory_format=torch.channels_last, autocast=bf16)
    _sync(device)
    seconds = time.perf_counter() - t
    if not torch.isfinite(loss):
        raise RuntimeError(f"non-finite loss in the throughput run (bf16={bf16})")
    return batch * steps / seconds


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    ap.add_argument("--batch", type=int, default=512, help="celeba40's batch (TrainConfig.batch_size)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--side", type=int, default=40)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--gemm", type=int, default=8192, help="side of the GEMM that measures the peak")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="nominal dense bf16 peak (H200: 989)")
    ap.add_argument("--profile", default="celeba40", help="profile whose zoo cost is extrapolated")
    ap.add_argument("--fp32", action=argparse.BooleanOptionalAction, default=True, help="also time fp32 (TF32)")
    ap.add_argument("--out", default=None, help="JSON file to write (default: print only)")
    args = ap.parse_args(argv)

    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is available")
    device = torch.device("cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    cfg = ModelConfig(blocks=args.blocks, width=args.width)
    per_image = training_flops(cfg, args.side, 1)
    common = dict(batch=args.batch, steps=args.steps, warmup=args.warmup, side=args.side, cfg=cfg)

    bf16_ok = device.type == "cuda" or cpu_bf16_supported()
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "torch": torch.__version__, "model": {"blocks": cfg.blocks, "width": cfg.width, "side": args.side},
        "batch": args.batch, "steps": args.steps, "train_flops_per_image": per_image,
    }
    gemm_bf16 = gemm_flops_per_s(torch.bfloat16, args.gemm, device=device) if bf16_ok else None
    rows = {}
    if bf16_ok:
        rows["bf16"] = train_rate(device, bf16=True, **common)
    if args.fp32 or not bf16_ok:
        rows["fp32"] = train_rate(device, bf16=False, **common)
    for name, rate in rows.items():
        achieved = rate * per_image
        rows[name] = {"images_per_s": rate, "tflops": achieved / 1e12,
                      "mfu_nominal": achieved / (args.peak_tflops * 1e12) if name == "bf16" and device.type == "cuda" else None,
                      "mfu_of_measured_gemm": achieved / gemm_bf16 if name == "bf16" and gemm_bf16 else None}
    result["runs"] = rows
    result["gemm_bf16_tflops"] = gemm_bf16 / 1e12 if gemm_bf16 else None

    best = rows.get("bf16", rows.get("fp32"))
    plan = Zoo().plan(args.profile, with_status=False)
    total = sum(r["flops"] for r in plan)
    result["zoo"] = {"profile": args.profile, "models": len(plan), "train_flops": total,
                     "device_hours_at_measured_rate": total / (best["tflops"] * 1e12) / 3600.0,
                     "dry_run_gpu_hours_estimate": sum(r["gpu_hours"] for r in plan)}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out)  # atomic: never a half-written figure file
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
