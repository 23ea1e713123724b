"""Snapshots along training (``train(snapshot_steps=...)``): kept at the chosen steps with their
hash and losses, listed in model.json, identical to a run stopped at that step, and without effect
on the final weights; bad steps are refused."""

import math

import pytest
import torch

from studies.config import ModelConfig, TrainConfig
from studies.errors import ArtifactError, InputError
from studies.train import SNAPSHOT_DIR, load_snapshot, snapshot_name, train

MODEL = ModelConfig(blocks=1, width=4)
CFG = TrainConfig(epochs=2, batch_size=16, eval_images=8, lr_decay_every=1, seed=0)


def _images(n, seed):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_snapshots_are_kept_listed_and_change_nothing(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    per_epoch = math.ceil(50 / 16)  # 4 steps
    plain = train(a, b, MODEL, CFG, n_total=50, out_dir=tmp_path / "plain", progress=False)
    snap = train(a, b, MODEL, CFG, n_total=50, out_dir=tmp_path / "snap", progress=False, snapshot_steps=[1, 2, 4, 8])
    assert _same(plain.net, snap.net)  # snapshots do not touch training
    listed = snap.info["snapshots"]
    assert [r["step"] for r in listed] == [1, 2, 4, 8]
    assert all(len(r["sha256"]) == 64 and r["loss_test_random"] > 0 for r in listed)
    # the snapshot at the end of the run is the final model; at the end of epoch 1, the weights a
    # run stopped after epoch 1 holds
    assert _same(load_snapshot(tmp_path / "snap", 2 * per_epoch, MODEL), snap.net)
    stopped = train(a, b, MODEL, CFG, n_total=50, out_dir=tmp_path / "stop", progress=False, stop_after_epoch=1)
    assert _same(load_snapshot(tmp_path / "snap", per_epoch, MODEL), stopped.net)
    # a rerun of the finished run returns the listing without training
    again = train(a, b, MODEL, CFG, n_total=50, out_dir=tmp_path / "snap", progress=False, snapshot_steps=[1, 2, 4, 8])
    assert again.info["snapshots"] == listed


def test_a_corrupt_snapshot_is_refused(tmp_path):
    a, b = _images(10, 1), _images(10, 2)
    train(a, b, MODEL, CFG, n_total=50, out_dir=tmp_path, progress=False, snapshot_steps=[2])
    path = tmp_path / SNAPSHOT_DIR / snapshot_name(2)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError):
        load_snapshot(tmp_path, 2, MODEL)


@pytest.mark.parametrize("bad", [0, 9, 2.5, True])
def test_snapshot_steps_outside_the_run_are_refused(tmp_path, bad):
    with pytest.raises(InputError, match="snapshot step"):
        train(_images(10, 1), _images(10, 2), MODEL, CFG, n_total=50, out_dir=tmp_path, progress=False, snapshot_steps=[bad])
