"""Training (SPEC §5): noise schedules, loss, step decay, exposure, seeded determinism, the JSONL
log, NaN handling, bad input, and resumption of a real training process killed with SIGKILL."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from studies.config import ModelConfig, TrainConfig
from studies.errors import InputError
from studies.model.checkpoint import load_checkpoint
from studies.train import (
    LOG_SIGMAS_255,
    TrainingDivergedError,
    lr_at,
    noise_prediction_loss,
    sample_sigma,
    steps_per_epoch,
    train,
)

MODEL = ModelConfig(blocks=1, width=4)
FAST = TrainConfig(epochs=2, batch_size=16, eval_images=8, lr_decay_every=1, seed=0)


def _images(n, seed):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_schedules_loss_and_decay():
    u = torch.tensor([0.0, 0.5, 1.0])
    assert torch.equal(sample_sigma(u, "quadratic"), torch.tensor([0.0, 0.25, 1.0]))
    assert torch.equal(sample_sigma(u, "uniform"), u)
    pred, noise = torch.ones(4, 1, 2, 2), torch.zeros(4, 1, 2, 2)
    assert noise_prediction_loss(pred, noise).item() == 4.0  # 16 squared errors of 1, over 4 images
    cfg = TrainConfig(lr=1e-3, lr_decay_every=100)
    assert [lr_at(cfg, e) for e in (0, 99, 100, 250)] == [1e-3, 1e-3, 5e-4, 2.5e-4]
    assert steps_per_epoch(4000, 128) == 32 and steps_per_epoch(4096, 128) == 32


def test_log_exposure_and_determinism(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    r1 = train(a, b, MODEL, FAST, n_total=50, out_dir=tmp_path / "r1", progress=False)
    r2 = train(a, b, MODEL, FAST, n_total=50, out_dir=tmp_path / "r2", progress=False)
    assert _same_weights(r1.net, r2.net)
    assert r1.info["exposure"]["copies"] == 5 and r1.info["samples_per_epoch"] == 50
    assert r1.info["steps"] == 2 * math.ceil(50 / 16)  # the last, smaller batch is kept
    rows = [json.loads(line) for line in (tmp_path / "r1" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and [r["lr"] for r in rows] == [1e-3, 5e-4]
    assert rows[0]["sigma_grid_255"] == pytest.approx(list(LOG_SIGMAS_255))
    for key in ("psnr_train_grid", "psnr_test_grid"):
        assert len(rows[-1][key]) == 10 and all(math.isfinite(v) for v in rows[-1][key])
    assert rows == r1.log
    # a finished run is returned as it is, not retrained
    again = train(a, b, MODEL, FAST, n_total=50, out_dir=tmp_path / "r1", progress=False)
    assert _same_weights(again.net, r1.net) and again.info["seconds"] == r1.info["seconds"]
    assert _same_weights(load_checkpoint(tmp_path / "r1" / "model.safetensors"), r1.net)
    # another seed, another schedule, exact exposure: other weights
    r3 = train(a, b, MODEL, TrainConfig(**{**FAST.__dict__, "seed": 1}), n_total=50, out_dir=tmp_path / "r3", progress=False)
    assert not _same_weights(r1.net, r3.net)
    r4 = train(a, b, MODEL, FAST, n_total=55, exposure_mode="exact", out_dir=tmp_path / "r4", progress=False)
    assert r4.info["samples_per_epoch"] == 55 and r4.info["exposure"]["extra"] == 5


def test_other_run_in_same_folder_is_refused(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    train(a, b, MODEL, FAST, n_total=20, out_dir=tmp_path, progress=False)
    with pytest.raises(InputError, match="another configuration"):
        train(a, b, MODEL, FAST, n_total=30, out_dir=tmp_path, progress=False)


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    # epoch 2 runs at lr 1e35: the weights blow up and the loss is no longer finite
    cfg = TrainConfig(epochs=3, batch_size=16, eval_images=8, lr_decay_every=1, lr_decay_factor=1e38, checkpoint_every=1)
    with pytest.raises(TrainingDivergedError, match=r"epoch 2 .*last good checkpoint \(epoch 1\)"):
        train(a, b, MODEL, cfg, n_total=40, out_dir=tmp_path, progress=False)
    pointer = json.loads((tmp_path / "checkpoint.json").read_text())
    assert pointer["epoch"] == 1 and (tmp_path / pointer["file"]).is_file()
    assert not (tmp_path / "model.safetensors").exists()


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(4, 1, 12, 12), "divisible by 8"),
        (torch.rand(4, 3, 8, 8), "3 channels"),
        (torch.rand(0, 1, 8, 8), "no images"),
        (torch.full((4, 1, 8, 8), float("nan")), "NaN"),
    ],
)
def test_bad_images(tmp_path, images, message):
    with pytest.raises(InputError, match=message):
        train(images, _images(4, 0), ModelConfig(blocks=3, width=2) if message == "divisible by 8" else MODEL, FAST,
              n_total=8, out_dir=tmp_path, progress=False)


_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(1)
    from studies.config import ModelConfig, TrainConfig
    from studies.train import train
    g = torch.Generator().manual_seed(7)
    a, b = torch.rand(40, 1, 8, 8, generator=g), torch.rand(40, 1, 8, 8, generator=g)
    cfg = TrainConfig(epochs=int(sys.argv[2]), batch_size=8, eval_images=8, lr_decay_every=3, checkpoint_every=1, seed=3)
    train(a, b, ModelConfig(blocks=1, width=8), cfg, n_total=400, out_dir=sys.argv[1], eval_every=100, progress=False)
    """
)


def _run(out, epochs, **kw):
    return subprocess.Popen([sys.executable, "-c", _SCRIPT, str(out), str(epochs)], **kw)


def test_killed_run_resumes_bit_identically(tmp_path):
    epochs = 8
    full = _run(tmp_path / "full", epochs)
    victim = _run(tmp_path / "killed", epochs)
    pointer = tmp_path / "killed" / "checkpoint.json"
    deadline = time.monotonic() + 120
    while not pointer.exists():
        assert victim.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "model.safetensors").exists(), "the kill came after the end; nothing resumed"
    killed_at = json.loads(pointer.read_text())["epoch"]
    assert 1 <= killed_at < epochs
    assert _run(tmp_path / "killed", epochs).wait() == 0
    assert full.wait() == 0
    a = load_checkpoint(tmp_path / "full" / "model.safetensors")
    b = load_checkpoint(tmp_path / "killed" / "model.safetensors")
    assert _same_weights(a, b)
    log_a = [json.loads(x) for x in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (tmp_path / "killed" / "log.jsonl").read_text().splitlines()]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(log_a) == strip(log_b) and len(log_a) == epochs


def test_eval_every_changes_the_log_not_the_weights(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    cfg = TrainConfig(epochs=3, batch_size=16, eval_images=8)
    every = train(a, b, MODEL, cfg, n_total=30, out_dir=tmp_path / "e1", progress=False)
    sparse = train(a, b, MODEL, cfg, n_total=30, out_dir=tmp_path / "e3", eval_every=3, progress=False)
    assert _same_weights(every.net, sparse.net)
    assert ["psnr_test_grid" in r for r in sparse.log] == [False, False, True]
    assert all("psnr_test_grid" in r for r in every.log)


def test_bf16_on_cpu_trains_or_refuses(tmp_path, monkeypatch):
    """bf16 autocast on the CPU: where the CPU has native bf16 it trains (finite loss close to the
    fp32 run, different weights: the flag really changes the arithmetic); where it has none, a
    clear refusal instead of a silently slower emulation."""
    import studies.train as train_mod

    a, b = _images(32, 1), _images(32, 2)
    cfg16 = TrainConfig(epochs=2, batch_size=16, eval_images=8, lr_decay_every=1, seed=0, bf16=True, device="cpu")
    if train_mod.cpu_bf16_supported():
        r32 = train(a, b, MODEL, FAST, n_total=64, out_dir=tmp_path / "fp32", progress=False)
        r16 = train(a, b, MODEL, cfg16, n_total=64, out_dir=tmp_path / "bf16", progress=False)
        l32, l16 = r32.log[-1]["train_loss"], r16.log[-1]["train_loss"]
        assert math.isfinite(l16) and abs(l16 - l32) < 0.1 * l32, (l16, l32)
        assert not _same_weights(r32.net, r16.net)
    monkeypatch.setattr(train_mod, "cpu_bf16_supported", lambda: False)
    with pytest.raises(InputError, match="no native bf16"):
        train(a, b, MODEL, cfg16, n_total=64, out_dir=tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused").exists()  # refused before anything is written
