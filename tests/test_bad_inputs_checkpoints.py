"""Bad checkpoints and checkpoint sidecars: each row is refused with a MemgenError naming the file
(exit code 2 through ``memgen model check``), no pickle runs code, and nothing in the cache changes.
The table is docs/BAD_INPUTS.md's checkpoint section."""

from __future__ import annotations

import collections
import json
import re

import pytest
import torch
from safetensors.torch import save_file

from bad_input_common import CacheWatch, cache, filled, populated_cache, run_cli  # noqa: F401 (cache, filled: fixtures)
from studies.config import ModelConfig
from studies.errors import ArtifactError, InputError, MemgenError
from studies.model.checkpoint import load_checkpoint, save_checkpoint
from studies.model.unet import UNet

CFG = ModelConfig(blocks=1, width=4)
ARCH = ["--blocks", "1", "--width", "4"]


def _state():
    return UNet(CFG).state_dict()


class Payload:  # a pickle of this needs to import and build a class: refused, never run
    def __reduce__(self):
        return (print, ("code ran",))


def _selfref(p):
    d = {}
    d["state_dict"] = d
    torch.save(d, p)


def _cycle(p):
    a, b = {}, {}
    a["model"], b["net"] = b, a
    torch.save(a, p)


def _sidecar(edit):
    def write(p):
        p = p.with_suffix(".safetensors")
        save_checkpoint(p, UNet(CFG))
        side = p.with_suffix(".json")
        edit(side)
    return write


def _edit_json(change):
    def edit(side):
        obj = json.loads(side.read_text())
        change(obj)
        side.write_text(json.dumps(obj))
    return edit


def _flip_tensor(p):
    p = p.with_suffix(".safetensors")
    save_checkpoint(p, UNet(CFG))
    data = bytearray(p.read_bytes())
    data[-5] ^= 1
    p.write_bytes(bytes(data))


def _prefix_mix(p):
    st = _state()
    k = next(iter(st))
    st = {("module." + k if i == 0 else key): v for i, (key, v) in enumerate(st.items())}
    torch.save(st, p)


def _values(change):
    def write(p):
        st = _state()
        k = next(iter(st))
        st[k] = change(st[k])
        torch.save(st, p)
    return write


# (id, writer(path .pt), suffix, CLI architecture options, error class, regex)
REFUSED = [
    ("pt-needs-code", lambda p: torch.save({"state_dict": Payload()}, p), ".pt", ARCH, InputError, r"refused: this pickle needs to run code"),
    ("pt-self-referential", _selfref, ".pt", ARCH, InputError, r"holds a dict without a state_dict of tensors"),
    ("pt-wrapper-cycle", _cycle, ".pt", ARCH, InputError, r"holds a dict without a state_dict of tensors"),
    ("pt-truncated", lambda p: (torch.save(_state(), p), p.write_bytes(p.read_bytes()[:300])), ".pt", ARCH, InputError, r"not a readable torch checkpoint"),
    ("pt-empty-file", lambda p: p.write_bytes(b""), ".pt", ARCH, InputError, r"not a readable torch checkpoint"),
    ("pt-text-file", lambda p: p.write_text("weights"), ".pt", ARCH, InputError, r"not a readable torch checkpoint|needs to run code"),
    ("pt-list", lambda p: torch.save(list(_state().values()), p), ".pt", ARCH, InputError, r"holds a list without a state_dict"),
    ("pt-non-string-keys", lambda p: torch.save({i: v for i, v in enumerate(_state().values())}, p), ".pt", ARCH, InputError, r"state_dict keys must be strings"),
    ("pt-int-tensor", _values(lambda t: t.long()), ".pt", ARCH, InputError, r"dtype torch\.int64, expected floating point"),
    ("pt-nan", _values(lambda t: t * float("nan")), ".pt", ARCH, InputError, r"NaN or infinite values"),
    ("pt-wrong-shape", _values(lambda t: t[:1]), ".pt", ARCH, InputError, r"shape mismatch"),
    ("pt-missing-key", lambda p: torch.save(dict(list(_state().items())[1:]), p), ".pt", ARCH, InputError, r"1 missing key\(s\)"),
    ("pt-mixed-prefix", _prefix_mix, ".pt", ARCH, InputError, r"some keys carry DataParallel's 'module\.' prefix"),
    ("pt-other-architecture", lambda p: torch.save(_state(), p), ".pt", ["--blocks", "2", "--width", "4"], InputError, r"does not match the UNet"),
    ("pt-no-architecture", lambda p: torch.save(_state(), p), ".pt", [], InputError, r"no config beside the checkpoint"),
    ("st-truncated", lambda p: (save_file(_state(), p), p.write_bytes(p.read_bytes()[:100])), ".safetensors", ARCH, InputError, r"not a readable safetensors file"),
    ("sidecar-list", _sidecar(lambda s: s.write_text("[1, 2]")), ".safetensors", [], ArtifactError, r"holds a JSON list, expected an object"),
    ("sidecar-not-json", _sidecar(lambda s: s.write_text("{")), ".safetensors", [], ArtifactError, r"not valid JSON"),
    ("sidecar-blocks-string", _sidecar(_edit_json(lambda o: o["model_config"].update(blocks="1"))), ".safetensors", [], InputError, r"ModelConfig\.blocks: expected int, got str '1'"),
    ("sidecar-blocks-bool", _sidecar(_edit_json(lambda o: o["model_config"].update(blocks=True))), ".safetensors", [], InputError, r"ModelConfig\.blocks: expected int, got bool"),
    ("sidecar-config-list", _sidecar(_edit_json(lambda o: o.update(model_config=[1]))), ".safetensors", [], InputError, r"ModelConfig: expected a mapping"),
    ("sidecar-unknown-field", _sidecar(_edit_json(lambda o: o["model_config"].update(depth=3))), ".safetensors", [], InputError, r"unknown field\(s\) \['depth'\]"),
    ("sidecar-hash-mismatch", _flip_tensor, ".safetensors", [], ArtifactError, r"does not match .*\.json"),
    ("sidecar-disagrees", _sidecar(lambda s: None), ".safetensors", ["--blocks", "2", "--width", "4"], InputError, r"saved for .* asked to load as"),
    ("missing-file", None, ".pt", ARCH, InputError, r"checkpoint not found"),
]


def _write(tmp_path, row):
    _, writer, suffix, *_ = row
    path = tmp_path / f"ckpt{suffix}"
    if writer is not None:
        writer(path.with_suffix(".pt") if suffix == ".pt" else path)
    return path


@pytest.mark.parametrize("row", REFUSED, ids=[r[0] for r in REFUSED])
def test_cli_refuses_with_exit_2(row, tmp_path, cache, capsys):
    path = _write(tmp_path, row)
    rc, err = run_cli(["model", "check", path, *row[3]], capsys)
    assert rc == 2 and err.startswith("memgen: error: ") and "code ran" not in err, err
    assert re.search(row[5], err), err
    assert str(path.stem) in err


@pytest.mark.parametrize("row", REFUSED, ids=[r[0] for r in REFUSED])
def test_loader_raises_the_named_error(row, tmp_path, cache, capsys):
    path = _write(tmp_path, row)
    opts = row[3]
    cfg = ModelConfig(blocks=int(opts[1]), width=int(opts[3])) if opts else None
    with pytest.raises(MemgenError, match=row[5]) as info:
        load_checkpoint(path, cfg)
    assert isinstance(info.value, row[4])
    assert "code ran" not in capsys.readouterr().out


def test_safetensors_named_pt_is_read_as_safetensors(tmp_path, capsys):
    path = tmp_path / "weights.pt"
    state = UNet(CFG, generator=torch.Generator().manual_seed(5)).state_dict()
    save_file(state, path)
    net = load_checkpoint(path, CFG)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    rc, _ = run_cli(["model", "check", path, *ARCH], capsys)
    assert rc == 0


def test_dataparallel_prefix_is_removed(tmp_path):
    torch.save(collections.OrderedDict(("module." + k, v) for k, v in _state().items()), tmp_path / "dp.pt")
    assert isinstance(load_checkpoint(tmp_path / "dp.pt", CFG), UNet)
