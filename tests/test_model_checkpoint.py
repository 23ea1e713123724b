"""Checkpoints: our safetensors + JSON pairs, K24-style ``.pt`` state_dicts read with
weights_only=True (with or without DataParallel's prefix), and clear refusals of pickles that need
code, corrupt or truncated files, and keys or shapes that do not match."""

import json

import pytest
import torch

from studies.config import ModelConfig
from studies.errors import ArtifactError, InputError
from studies.model.checkpoint import config_path, load_checkpoint, save_checkpoint
from studies.model.unet import UNet

CFG = ModelConfig(blocks=2, width=4)


def _net(seed=0):
    net = UNet(CFG, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():  # non-trivial running statistics, so they are seen to travel
        for name, buf in net.named_buffers():
            buf.uniform_(0.5, 2.0)
    return net


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_safetensors_round_trip(tmp_path):
    net = _net()
    save_checkpoint(tmp_path / "m.safetensors", net, extra={"note": "x"})
    info = json.loads(config_path(tmp_path / "m.safetensors").read_text())
    assert info["model_config"]["blocks"] == 2 and info["note"] == "x"
    loaded = load_checkpoint(tmp_path / "m.safetensors")
    assert _same(net, loaded) and not loaded.training and loaded.cfg == CFG
    with pytest.raises(InputError, match="saved for"):
        load_checkpoint(tmp_path / "m.safetensors", ModelConfig(blocks=2, width=8))


def test_pair_from_two_saves_is_refused(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", _net(0))
    other = tmp_path / "o.safetensors"
    save_checkpoint(other, _net(1))
    (tmp_path / "m.safetensors").write_bytes(other.read_bytes())
    with pytest.raises(ArtifactError, match="does not match m.json"):
        load_checkpoint(tmp_path / "m.safetensors")


def test_truncated_safetensors(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", _net())
    data = (tmp_path / "m.safetensors").read_bytes()
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_checkpoint(bare, CFG)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_foreign_state_dict_loads_strictly(tmp_path, prefix):
    net = _net()
    path = tmp_path / "k24.pt"
    torch.save({prefix + k: v for k, v in net.state_dict().items()}, path)
    assert _same(net, load_checkpoint(path, CFG))
    torch.save({"epoch": 3, "state_dict": {prefix + k: v for k, v in net.state_dict().items()}}, path)
    assert _same(net, load_checkpoint(path, CFG))


def test_pickle_needing_code_is_refused(tmp_path):
    path = tmp_path / "whole_model.pt"
    torch.save(_net(), path)  # pickles the UNet class itself: loading it would import and run code
    with pytest.raises(InputError, match="refused: this pickle needs to run code"):
        load_checkpoint(path, CFG)


def test_truncated_pt(tmp_path):
    path = tmp_path / "k24.pt"
    torch.save(_net().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_checkpoint(path, CFG)


def test_keys_and_shapes_must_match(tmp_path):
    state = _net().state_dict()
    path = tmp_path / "k.pt"
    torch.save({k: v for k, v in state.items() if k != "mid_block.3.weight"}, path)
    with pytest.raises(InputError, match=r"1 missing key\(s\) \['mid_block.3.weight'\]"):
        load_checkpoint(path, CFG)
    torch.save({**state, "mid_block.0.bias": torch.zeros(16)}, path)
    with pytest.raises(InputError, match="unexpected key"):
        load_checkpoint(path, CFG)
    torch.save(state, path)
    with pytest.raises(InputError, match="shape mismatch"):
        load_checkpoint(path, ModelConfig(blocks=2, width=8))
    torch.save({("module." + k if i % 2 else k): v for i, (k, v) in enumerate(state.items())}, path)
    with pytest.raises(InputError, match="others do not"):
        load_checkpoint(path, CFG)
    with pytest.raises(InputError, match="pass the ModelConfig"):
        torch.save(state, path)
        load_checkpoint(path)


def test_cli_check(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "k24.pt"
    torch.save({"module." + k: v for k, v in _net().state_dict().items()}, path)
    run = lambda *a: subprocess.run([sys.executable, "-m", "studies", "model", "check", str(path), *a], capture_output=True, text=True)  # noqa: E731
    ok = run("--blocks", "2", "--width", "4")
    assert ok.returncode == 0 and "loads strictly" in ok.stdout
    bad = run("--blocks", "2", "--width", "8")
    assert bad.returncode == 2 and "shape mismatch" in bad.stderr
