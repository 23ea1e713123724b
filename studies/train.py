"""Training of the denoiser as in K24's code (SPEC §5).

For every image of a batch: sigma = u² (``quadratic``, the code) or sigma = u (``uniform``, T25's
text) with u ~ U(0, 1); y = x + sigma·z; the UNet predicts the noise sigma·z and the loss is the sum
of squared errors divided by the batch size. Adam, lr halved every ``lr_decay_every`` epochs.

Exposure control (SPEC §3): the N training images are tiled floor(n_total / N) times (or exactly
n_total samples), and one epoch is one pass over that tiled set in a fresh seeded order; the last
batch of an epoch may be smaller (K24's DataLoader keeps it). Steps = epochs · ceil(samples / batch).

Determinism: one ``torch.Generator`` per purpose (initialisation, data order, noise, evaluation),
each seeded from (seed, purpose); the order and noise generators' states are saved in every
checkpoint, so a run killed after a checkpoint resumes to bit-identical weights on the CPU.

The inner loop is lean on purpose: the training images are one preloaded tensor indexed by a
per-epoch permutation, the noise of a batch is drawn in one call, and the loss is summed on the
device (no per-step host sync); it is read once per epoch, which is also where a NaN is caught."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .cache import atomic_write_json, atomic_write_text
from .config import ModelConfig, TrainConfig, config_hash, to_dict
from .errors import ArtifactError, InputError, MemgenError
from .model.checkpoint import config_path, load_checkpoint, load_state, read_tensors, save_checkpoint, save_tensors
from .model.unet import UNet, check_fits

# bump when the meaning of training changes (loss, schedule, order of random draws): it is part of
# every zoo address, so models trained by older math are never mistaken for current ones
TRAINING_MATH_VERSION = 1

# fixed evaluation grid of K24's training log: sigma·255 in logspace(0, 2.5, 10)
LOG_SIGMAS_255 = np.logspace(0.0, 2.5, 10)
LOG_SIGMAS = LOG_SIGMAS_255 / 255.0

_INIT, _ORDER, _NOISE, _EVAL = 1, 2, 3, 4  # generator purposes
LOG_FILE = "log.jsonl"
SNAPSHOT_DIR = "snapshots"  # weights kept at chosen steps along training (``snapshot_steps``)
RUN_FILE = "run.json"
POINTER_FILE = "checkpoint.json"
MODEL_FILE = "model.safetensors"


class TrainingDivergedError(MemgenError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    net: UNet  # eval mode, on the CPU
    log: list[dict]
    out_dir: Path
    model_path: Path
    info: dict = field(default_factory=dict)  # what model.json holds: configs, exposure, steps, seconds


def purpose_seed(seed: int, purpose: int) -> int:
    """An independent 63-bit seed per purpose, so changing how much noise is drawn never shifts the
    data order or the initialisation."""
    return int(np.random.SeedSequence([int(seed), int(purpose)]).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def sample_sigma(u: torch.Tensor, schedule: str) -> torch.Tensor:
    """Noise level from u ~ U(0,1): ``quadratic`` sigma = u² (K24's code), ``uniform`` sigma = u."""
    if schedule == "quadratic":
        return u * u
    if schedule == "uniform":
        return u
    raise InputError(f"unknown noise schedule {schedule!r}")


def noise_prediction_loss(pred: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors divided by the batch size (K24: MSELoss(reduction='sum') / batch)."""
    return (pred.float() - noise).pow(2).sum() / noise.shape[0]


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: step decay by ``lr_decay_factor`` every ``lr_decay_every``."""
    return cfg.lr * cfg.lr_decay_factor ** (epoch // cfg.lr_decay_every)


def steps_per_epoch(samples: int, batch_size: int) -> int:
    return math.ceil(samples / batch_size)


def resolve_device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError("TrainConfig.device is 'cuda' but no CUDA device is available")
    return torch.device("cuda")


def schedule_indices(n: int, n_total: int, mode: str, seed: int) -> tuple[np.ndarray, dict]:
    """Positions 0..n-1 of the training images, one per sample of an epoch, and the exposure record."""
    from .data.splits import exposure

    exp = exposure(n, n_total, mode)
    return exp.schedule(seed), exp.to_dict()


def memory_format_for(cfg: TrainConfig, device: torch.device) -> torch.memory_format:
    """channels_last on CUDA when asked; always on the CPU, where oneDNN's convolutions of these
    narrow layers run faster in NHWC (benchmarks/RESULTS.md). Layout changes rounding, not math."""
    if device.type == "cpu" or cfg.channels_last:
        return torch.channels_last
    return torch.contiguous_format


def cpu_bf16_supported() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX512-BF16 or AMX). oneDNN's own check
    (``_is_mkldnn_bf16_supported``) also accepts plain AVX-512, where bf16 is emulated and slower
    than fp32, so the instruction sets are asked for directly."""
    try:
        import torch.cpu as tc

        return bool(tc._is_avx512_bf16_supported() or tc._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        pass
    try:  # older torch: the kernel's flags
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def autocast_for(cfg: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast when ``cfg.bf16``: on CUDA, or on a CPU with native bf16, where oneDNN's bf16
    convolutions run ~2.6x faster than fp32 for the 7.6M UNet (benchmarks/RESULTS.md). It changes the
    arithmetic (bf16 products, fp32 accumulation and weights), so it is off by default and its models
    have their own zoo addresses (the flag is part of the training config)."""
    if not cfg.bf16:
        return False
    if device.type == "cpu" and not cpu_bf16_supported():
        raise InputError("TrainConfig.bf16=True, but this CPU has no native bf16 (AVX512-BF16 or AMX): "
                         "emulated bf16 is slower than fp32; train with bf16=False or on a GPU")
    return True


def train_step(net: UNet, opt: torch.optim.Optimizer, x: torch.Tensor, g_noise: torch.Generator, schedule: str, *,
               memory_format: torch.memory_format = torch.contiguous_format, autocast: bool = False) -> torch.Tensor:
    """One Adam step on the batch ``x``: sigma per image, noise in one draw, y = x + sigma·z, loss
    on the predicted noise. Returns the loss as a device tensor (no host sync)."""
    b = x.shape[0]
    sigma = sample_sigma(torch.rand(b, generator=g_noise, device=x.device), schedule)
    noise = sigma.view(b, 1, 1, 1) * torch.randn(x.shape, generator=g_noise, device=x.device)
    y = (x + noise).contiguous(memory_format=memory_format)
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=autocast):
        pred = net(y)
    loss = noise_prediction_loss(pred, noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


# ---------------------------------------------------------------------------------------------
# evaluation


def _eval_set(images: torch.Tensor, k: int) -> torch.Tensor:
    from .metrics.psnr import tile_to

    return tile_to(images, k)[0]


@torch.no_grad()
def logged_psnr(net: UNet, images: torch.Tensor, *, schedule: str, seed: int, device: torch.device,
                memory_format: torch.memory_format = torch.contiguous_format) -> dict:
    """What the training log records of the model now: PSNR of y - net(y) at the fixed sigma grid and
    at random sigma, and the loss at random sigma (the claims' PSNR curves are measured apart, on the
    trained pair: ``studies.evaluation``)."""
    from .metrics.psnr import denoise_psnr, mse_to_psnr

    was_training = net.training
    net.eval()

    def run(y: torch.Tensor) -> torch.Tensor:  # inputs in the weights' layout: no conversion per conv
        return net(y.contiguous(memory_format=memory_format)).contiguous()

    try:
        grid = denoise_psnr(run, images, sigmas=LOG_SIGMAS, n_draws=1, seed=seed, device=device)[0].mean(axis=1)
        g = torch.Generator().manual_seed(seed)
        sigma = sample_sigma(torch.rand(images.shape[0], generator=g), schedule).view(-1, 1, 1, 1)
        noise = sigma * torch.randn(images.shape, generator=g)
        y = (images + noise).to(device)
        pred = torch.cat([run(y[i : i + 512]).float() for i in range(0, y.shape[0], 512)]).cpu()
        mse = ((y.cpu() - pred - images) ** 2).flatten(1).mean(1).double().numpy()
        loss = float(noise_prediction_loss(pred, noise))
    finally:
        net.train(was_training)
    return {"psnr_grid": [float(v) for v in grid], "psnr_random": float(np.mean(np.minimum(mse_to_psnr(np.maximum(mse, 1e-30)), 100.0))), "loss": loss}


# ---------------------------------------------------------------------------------------------
# checkpoints of a run


def _optimizer_tensors(opt: torch.optim.Adam) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for name, value in st.items():
            tensors[f"optim.{idx}.{name}"] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    return tensors, {"param_groups": sd["param_groups"]}


def _restore_optimizer(opt: torch.optim.Adam, tensors: dict[str, torch.Tensor], groups: list) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def _write_checkpoint(out: Path, epoch: int, net: UNet, opt, g_order: torch.Generator, g_noise: torch.Generator, steps: int) -> None:
    name = f"ckpt-{epoch:06d}.safetensors"
    tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
    opt_tensors, opt_info = _optimizer_tensors(opt)
    tensors.update(opt_tensors)
    tensors["rng.order"] = g_order.get_state()
    tensors["rng.noise"] = g_noise.get_state()
    save_tensors(out / name, tensors, {"kind": "training-checkpoint", "epoch": epoch, "steps": steps, **opt_info})
    # the pointer is the commit point: a crash before it leaves the previous checkpoint in charge
    atomic_write_json(out / POINTER_FILE, {"file": name, "epoch": epoch})
    for old in out.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
            config_path(old).unlink(missing_ok=True)


def _check_snapshot_steps(steps: Sequence[int], total: int) -> frozenset:
    out = []
    for s in steps:
        if isinstance(s, bool) or int(s) != s or not 1 <= int(s) <= total:
            raise InputError(f"snapshot step {s!r} must be an integer in 1..{total} (the run's optimizer steps)")
        out.append(int(s))
    return frozenset(out)


def snapshot_name(step: int) -> str:
    return f"step-{int(step):08d}.safetensors"


def _write_snapshot(out: Path, step: int, epoch: int, net: UNet, eval_train: torch.Tensor, eval_test: torch.Tensor, *,
                    schedule: str, seed: int, device: torch.device, memory_format: torch.memory_format) -> None:
    folder = out / SNAPSHOT_DIR
    folder.mkdir(exist_ok=True)
    info = {"kind": "training-snapshot", "step": int(step), "epoch": int(epoch)}
    for name, imgs in (("train", eval_train), ("test", eval_test)):
        ev = logged_psnr(net, imgs, schedule=schedule, seed=seed, device=device, memory_format=memory_format)
        info[f"loss_{name}_random"] = ev["loss"]
        info[f"psnr_{name}_random"] = ev["psnr_random"]
    # weights in the standard layout, as the final model is saved
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_tensors(folder / snapshot_name(step), state, info)


def _snapshot_index(out: Path, steps: frozenset) -> list[dict]:
    """The kept snapshots, ascending, as model.json lists them: file, SHA-256 and the losses."""
    rows = []
    for step in sorted(steps):
        meta = config_path(out / SNAPSHOT_DIR / snapshot_name(step))
        if not meta.is_file():
            raise ArtifactError(f"{out}: snapshot of step {step} is missing (interrupted before it was written?)")
        info = json.loads(meta.read_text("utf-8"))
        rows.append({"step": step, "file": f"{SNAPSHOT_DIR}/{snapshot_name(step)}", "sha256": info["sha256"],
                     **{k: info[k] for k in ("epoch", "loss_train_random", "loss_test_random", "psnr_train_random", "psnr_test_random")}})
    return rows


def load_snapshot(folder: str | os.PathLike, step: int, cfg: ModelConfig) -> UNet:
    """The weights kept at ``step`` of the run in ``folder`` (SHA-256 checked), as an eval-mode UNet."""
    tensors, _ = read_tensors(Path(folder) / SNAPSHOT_DIR / snapshot_name(step))
    net = UNet(cfg)
    load_state(net, tensors, source=f"{folder} snapshot {step}")
    return net.eval()


def _read_checkpoint(out: Path) -> Optional[tuple[dict, dict]]:
    pointer = out / POINTER_FILE
    if not pointer.is_file():
        return None
    ref = read_json_object(pointer, "checkpoint pointer")
    if not isinstance(ref.get("file"), str) or "/" in ref["file"] or not ref["file"].startswith("ckpt-"):
        raise ArtifactError(f"{pointer}: checkpoint pointer names no checkpoint file ({ref.get('file')!r})")
    return read_tensors(out / ref["file"])


def read_log(path: Path, *, allow_torn_tail: bool = True) -> list[dict]:
    """The rows of a ``log.jsonl``. A last line without its newline is what a kill during the
    append leaves: it is dropped with a warning (its epoch is never before the last checkpoint, so
    the resumed run writes it again); with ``allow_torn_tail=False`` (a finished run) it is an
    error. Any other unreadable line is an ArtifactError naming the file and line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"{path}: training log is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: training log is unreadable ({exc})") from None
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail.strip():
        if not allow_torn_tail:
            raise ArtifactError(f"{path}: line {len(lines) + 1} is incomplete (no newline): a torn write")
        logging.getLogger("memgen.train").warning("%s: dropping the torn last line %d (%d bytes, no newline) left by an interrupted write", path, len(lines) + 1, len(tail))
    rows = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{path}: line {no} is not valid JSON ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("epoch"), int) or isinstance(row.get("epoch"), bool):
            raise ArtifactError(f"{path}: line {no} is not a log row (an object with an integer 'epoch')")
        rows.append(row)
    return rows


def _read_log(out: Path, upto: int, *, allow_torn_tail: bool = True) -> list[dict]:
    path = out / LOG_FILE
    if not path.exists():
        return []
    return [r for r in read_log(path, allow_torn_tail=allow_torn_tail) if r["epoch"] <= upto]


def read_json_object(path: Path, what: str) -> dict:
    """A JSON file that must hold an object; anything else is an ArtifactError naming it."""
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: {what} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: {what} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ArtifactError(f"{path}: {what} holds a {type(obj).__name__}, expected a JSON object")
    return obj


# ---------------------------------------------------------------------------------------------
# the loop


def train(
    images_train: torch.Tensor,
    images_test: torch.Tensor,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    *,
    n_total: int,
    exposure_mode: str = "tile",
    out_dir: str | os.PathLike,
    eval_every: int = 1,
    progress: Optional[bool] = None,
    stop_after_epoch: Optional[int] = None,
    snapshot_steps: Sequence[int] = (),
) -> TrainResult:
    """Train a UNet on ``images_train`` (N, C, R, R) in [0, 1]; ``images_test`` (its held-out images)
    is only evaluated. Resumes from a checkpoint in ``out_dir`` if one of the same run is there,
    and returns at once if the run is complete. PSNR is logged every ``eval_every`` epochs and at
    the last. ``stop_after_epoch`` ends early (after its checkpoint), for tests of resumption.
    ``snapshot_steps``: after each of these optimizer steps the weights are kept in
    ``snapshots/step-XXXXXXXX.safetensors`` (with their SHA-256 and the train/test loss and PSNR of
    that moment beside them) and listed in model.json; they change nothing about training (the
    evaluation draws from its own generator), so they are not part of the run hash."""
    out = Path(out_dir)
    x_all = _check_images(images_train, "images_train", model_cfg)
    x_test = _check_images(images_test, "images_test", model_cfg)
    n = x_all.shape[0]
    if eval_every < 1:
        raise InputError(f"eval_every must be >= 1, got {eval_every}")
    device = resolve_device(train_cfg)
    autocast = autocast_for(train_cfg, device)  # refused here, before anything is written
    sched, exposure = schedule_indices(n, n_total, exposure_mode, train_cfg.seed)
    samples = len(sched)
    per_epoch = steps_per_epoch(samples, train_cfg.batch_size)
    snaps = _check_snapshot_steps(snapshot_steps, train_cfg.epochs * per_epoch)
    run = {
        "model_config": to_dict(model_cfg),
        "train_config": to_dict(train_cfg),
        "exposure": exposure,
        "training_math_version": TRAINING_MATH_VERSION,
        "data_sha256": _tensor_digest(x_all, x_test),
    }
    # evaluation draws from its own generator in eval mode, so eval_every changes the log, never the weights
    run["run_hash"] = config_hash(run)
    out.mkdir(parents=True, exist_ok=True)
    done = out / MODEL_FILE
    prior = out / RUN_FILE
    if prior.is_file():
        old = read_json_object(prior, "run record")
        if old.get("run_hash") != run["run_hash"]:
            raise InputError(f"{out}: holds a run of another configuration or data (run_hash {old.get('run_hash')} != {run['run_hash']}); use another folder")
        if done.is_file() and config_path(done).is_file():
            info = read_json_object(config_path(done), "model record")
            return TrainResult(load_checkpoint(done), _read_log(out, train_cfg.epochs, allow_torn_tail=False), out, done, info)
    else:
        atomic_write_json(prior, run)

    g_order = torch.Generator().manual_seed(purpose_seed(train_cfg.seed, _ORDER))
    g_noise = torch.Generator(device=device).manual_seed(purpose_seed(train_cfg.seed, _NOISE))
    net = UNet(model_cfg, generator=torch.Generator().manual_seed(purpose_seed(train_cfg.seed, _INIT)))
    opt = torch.optim.Adam(net.parameters(), lr=train_cfg.lr)
    start_epoch, steps = 0, 0
    found = _read_checkpoint(out)
    if found is not None:
        tensors, info = found
        load_state(net, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, source=str(out))
        try:
            _restore_optimizer(opt, tensors, info["param_groups"])
            g_order.set_state(tensors["rng.order"])
            g_noise.set_state(tensors["rng.noise"].to(g_noise.get_state().device))
            start_epoch, steps = int(info["epoch"]), int(info["steps"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ArtifactError(f"{out}: the training checkpoint cannot be resumed from ({type(exc).__name__}: {exc})") from None
    log = _read_log(out, start_epoch)
    atomic_write_text(out / LOG_FILE, "".join(json.dumps(r) + "\n" for r in log))

    net = net.to(device)
    memory_format = memory_format_for(train_cfg, device)
    net = net.to(memory_format=memory_format)
    _move_optimizer(opt, device)
    x_dev = x_all.to(device).contiguous()
    sched_t = torch.from_numpy(sched).to(device)
    eval_train = _eval_set(x_all, train_cfg.eval_images)
    eval_test = _eval_set(x_test, train_cfg.eval_images)
    eval_seed = purpose_seed(train_cfg.seed, _EVAL)
    bsz = train_cfg.batch_size

    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=train_cfg.epochs * per_epoch, initial=steps, disable=not show, unit="step", desc=f"train N={n}", leave=False)
    t_start = time.perf_counter()
    net.train()
    last = train_cfg.epochs if stop_after_epoch is None else min(train_cfg.epochs, stop_after_epoch)
    try:
        for epoch in range(start_epoch, last):
            lr = lr_at(train_cfg, epoch)
            for group in opt.param_groups:
                group["lr"] = lr
            order = sched_t[torch.randperm(samples, generator=g_order).to(device)]
            loss_sum = torch.zeros((), device=device)
            t0 = time.perf_counter()
            for s in range(per_epoch):
                x = x_dev[order[s * bsz : (s + 1) * bsz]]
                loss_sum += train_step(net, opt, x, g_noise, train_cfg.noise_schedule, memory_format=memory_format, autocast=autocast)
                bar.update(1)
                if steps + s + 1 in snaps:
                    _write_snapshot(out, steps + s + 1, epoch, net, eval_train, eval_test, schedule=train_cfg.noise_schedule,
                                    seed=eval_seed, device=device, memory_format=memory_format)
            steps += per_epoch
            train_loss = float(loss_sum) / per_epoch  # the one host sync of the epoch
            if not math.isfinite(train_loss):
                kept = _read_checkpoint(out)
                where = f"the last good checkpoint (epoch {kept[1]['epoch']}) is kept in {out}" if kept else f"no checkpoint was written yet in {out}"
                raise TrainingDivergedError(f"training diverged: loss {train_loss} in epoch {epoch + 1} (lr {lr:g}); {where}")
            row = {"epoch": epoch + 1, "steps": steps, "lr": lr, "train_loss": train_loss, "seconds": round(time.perf_counter() - t0, 4)}
            if (epoch + 1) % eval_every == 0 or epoch + 1 == train_cfg.epochs:
                row["sigma_grid_255"] = [float(s) for s in LOG_SIGMAS_255]
                for name, imgs in (("train", eval_train), ("test", eval_test)):
                    ev = logged_psnr(net, imgs, schedule=train_cfg.noise_schedule, seed=eval_seed, device=device, memory_format=memory_format)
                    row[f"psnr_{name}_grid"] = ev["psnr_grid"]
                    row[f"psnr_{name}_random"] = ev["psnr_random"]
                    row[f"loss_{name}_random"] = ev["loss"]
            log.append(row)
            with open(out / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            bar.set_postfix(loss=f"{train_loss:.4g}")
            if (epoch + 1) % train_cfg.checkpoint_every == 0 or epoch + 1 == last:
                _write_checkpoint(out, epoch + 1, net, opt, g_order, g_noise, steps)
    finally:
        bar.close()
    if last < train_cfg.epochs:
        return TrainResult(net.to("cpu").eval(), log, out, out / POINTER_FILE, {"stopped_after_epoch": last})

    net = net.to("cpu").to(memory_format=torch.contiguous_format).eval()
    info = {
        **{k: run[k] for k in ("model_config", "train_config", "exposure", "training_math_version", "data_sha256", "run_hash")},
        "n_train": n,
        "epochs": train_cfg.epochs,
        "steps": steps,
        "samples_per_epoch": samples,
        "seconds": round(time.perf_counter() - t_start, 3),
        "device": device.type,
        "final": log[-1] if log else None,
    }
    if snaps:
        info["snapshots"] = _snapshot_index(out, snaps)
    save_checkpoint(done, net, extra=info)
    for old in out.glob("ckpt-*"):
        old.unlink(missing_ok=True)
    (out / POINTER_FILE).unlink(missing_ok=True)
    return TrainResult(net, log, out, done, json.loads(config_path(done).read_text("utf-8")))


def _check_images(images, what: str, cfg: ModelConfig) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise InputError(f"{what}: expected a (N, C, H, W) tensor, got {getattr(images, 'shape', type(images).__name__)}")
    if images.shape[0] < 1:
        raise InputError(f"{what}: no images")
    if images.shape[1] != cfg.channels:
        raise InputError(f"{what}: {images.shape[1]} channels, the model has {cfg.channels}")
    if images.shape[2] != images.shape[3]:
        raise InputError(f"{what}: images must be square, got {tuple(images.shape[2:])}")
    check_fits(cfg, int(images.shape[2]))
    x = images.to(torch.float32).contiguous()
    if not torch.isfinite(x).all():
        raise InputError(f"{what}: holds NaN or infinite values")
    return x


def _tensor_digest(*tensors: torch.Tensor) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _move_optimizer(opt: torch.optim.Adam, device: torch.device) -> None:
    for st in opt.state.values():
        for k, v in st.items():
            # Adam keeps "step" on the CPU unless capturable; the moments follow the parameters
            if isinstance(v, torch.Tensor) and k != "step":
                st[k] = v.to(device)
