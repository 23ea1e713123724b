"""Dataset artifacts: order, limit, cache hits, corruption detection, bad input, --skip-bad."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from studies.config import DataConfig, SynthConfig
from studies.data.celeba import read_metadata, write_order
from studies.data.dataset import build_dataset, load_dataset, synthetic_dir
from studies.data.images import load_image
from studies.errors import ArtifactError, InputError

SYNTH = SynthConfig(identities=5, seed=1)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def celeba_copy(tmp_path_factory):
    """A CelebA-layout folder outside the cache (generated once, copied per test that damages it)."""
    from studies.data.synth import generate

    return generate(tmp_path_factory.mktemp("celeba") / "faces", SYNTH)


def test_synthetic_build_then_cache_hit(cache, caplog):
    cfg = DataConfig(source="synthetic", resolution=16, synth=SYNTH, order_seed=3)
    ds = build_dataset(cfg)
    assert ds.images.shape[1:] == (1, 16, 16) and ds.images.dtype.is_floating_point
    names = sorted(read_metadata(ds.meta_dir).filenames)
    assert ds.names == [names[i] for i in np.random.default_rng(3).permutation(len(names))]
    np.testing.assert_array_equal(ds.images[0].numpy(), load_image(ds.meta_dir / "img_align_celeba" / ds.names[0], 16))
    m = ds.manifest
    assert m["config"]["type"] == "DataConfig" and m["source"]["kind"] == "synthetic" and m["dedup"] is None
    mtime = (ds.path / "images.npy").stat().st_mtime_ns
    caplog.set_level("INFO", logger="memgen.data")
    again = build_dataset(cfg)
    assert again.path == ds.path and (ds.path / "images.npy").stat().st_mtime_ns == mtime
    assert "cache hit" in caplog.text
    assert synthetic_dir(SYNTH) == ds.meta_dir


def test_corrupted_artifact_is_detected_and_rebuilt(cache, caplog):
    cfg = DataConfig(source="synthetic", resolution=8, synth=SYNTH, limit=20)
    ds = build_dataset(cfg)
    assert len(ds.names) == 20
    good = ds.images.clone()
    arr = np.load(ds.path / "images.npy", mmap_mode="r+")
    arr[3, 0, 2, 2] += 0.5
    arr.flush()
    del arr
    with pytest.raises(ArtifactError, match="images.npy has sha256"):
        load_dataset(ds.path)
    caplog.set_level("INFO", logger="memgen.data")
    rebuilt = build_dataset(cfg)
    assert "failed verification" in caplog.text and "rebuilding" in caplog.text
    assert np.array_equal(rebuilt.images.numpy(), good.numpy())
    (ds.path / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="manifest.json has sha256"):
        load_dataset(ds.path)


def _flip_name_byte(manifest_path):
    """Change one character inside the first filename of the manifest: valid JSON stays valid,
    and the row now names another image (the fault the tensor hash alone did not catch)."""
    text = manifest_path.read_text("utf-8")
    m = json.loads(text)
    first = m["names"][0]
    i = first.index(".") - 1
    other = first[:i] + ("1" if first[i] != "1" else "2") + first[i + 1 :]
    assert text.count(f'"{first}"') == 1
    manifest_path.write_text(text.replace(f'"{first}"', f'"{other}"'), "utf-8")
    json.loads(manifest_path.read_text("utf-8"))  # still valid JSON
    return first, other


def test_manifest_is_hashed_a_changed_name_is_caught_and_rebuilt(cache, caplog):
    cfg = DataConfig(source="synthetic", resolution=8, synth=SYNTH, limit=12)
    ds = build_dataset(cfg)
    first, _ = _flip_name_byte(ds.path / "manifest.json")
    with pytest.raises(ArtifactError, match=r"manifest\.json has sha256"):
        load_dataset(ds.path)
    caplog.set_level("INFO", logger="memgen.data")
    rebuilt = build_dataset(cfg)
    assert "cache hit" not in caplog.text
    assert "failed verification" in caplog.text and "manifest.json" in caplog.text and "rebuilding" in caplog.text
    assert rebuilt.names[0] == first and rebuilt.names == ds.names
    assert np.array_equal(rebuilt.images.numpy(), ds.images.numpy())


@pytest.mark.parametrize("fault, message", [
    ("remove-sums", r"sha256sums\.json is missing \(written by an older memgen"),
    ("edit-sums", r"sha256sums\.json fails its own hash"),
    ("garble-sums", r"sha256sums\.json is unreadable"),
    ("extra-file", r"file stray\.txt is not part of the artifact"),
    ("remove-images", r"file images\.npy is missing"),
    ("remove-manifest", r"file manifest\.json is missing"),
])
def test_every_file_of_the_artifact_is_verified(cache, caplog, fault, message):
    cfg = DataConfig(source="synthetic", resolution=8, synth=SYNTH, limit=6)
    ds = build_dataset(cfg)
    sums = ds.path / "sha256sums.json"
    if fault == "remove-sums":  # what an artifact of the previous format looks like
        sums.unlink()
    elif fault == "edit-sums":
        record = json.loads(sums.read_text())
        record["files"]["manifest.json"] = "0" * 64
        sums.write_text(json.dumps(record))
    elif fault == "garble-sums":
        sums.write_text("{")
    elif fault == "extra-file":
        (ds.path / "stray.txt").write_text("x")
    elif fault == "remove-images":
        (ds.path / "images.npy").unlink()
    elif fault == "remove-manifest":
        (ds.path / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match=message):
        load_dataset(ds.path)
    caplog.set_level("INFO", logger="memgen.data")
    rebuilt = build_dataset(cfg)  # rebuilt with a message naming the reason, never used
    assert "failed verification" in caplog.text and "rebuilding" in caplog.text
    assert rebuilt.names == ds.names and np.array_equal(rebuilt.images.numpy(), ds.images.numpy())
    assert load_dataset(ds.path).names == ds.names


def test_order_file_fixes_order_and_is_recorded(cache, celeba_copy, tmp_path):
    names = read_metadata(celeba_copy).filenames[::-1][:15]
    write_order(tmp_path / "order.txt", names)
    cfg = DataConfig(source="celeba", resolution=8, synth=None)
    ds = build_dataset(cfg, celeba_copy, order_file=tmp_path / "order.txt")
    assert ds.names == names
    assert ds.manifest["order"]["sha256"] and ds.manifest["order"]["file"].endswith("order.txt")
    # a different order file is a different artifact
    write_order(tmp_path / "order2.txt", names[::-1])
    ds2 = build_dataset(cfg, celeba_copy, order_file=tmp_path / "order2.txt")
    assert ds2.path != ds.path and ds2.names == names[::-1]
    write_order(tmp_path / "bad.txt", names[:2] + ["999999.jpg"])
    with pytest.raises(InputError, match=r"bad.txt: 1 name\(s\) not in the data: 999999.jpg"):
        build_dataset(cfg, celeba_copy, order_file=tmp_path / "bad.txt")


def test_bad_images_refused_or_skipped(cache, celeba_copy, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(celeba_copy, folder)
    jpg = folder / "img_align_celeba" / "000004.jpg"
    jpg.write_bytes(jpg.read_bytes()[:300])
    cfg = DataConfig(source="celeba", resolution=8, order_seed=None)
    with pytest.raises(InputError, match=r"000004.jpg: unreadable or truncated"):
        build_dataset(cfg, folder)
    assert not any((cache / "datasets").glob("*/manifest.json")), "nothing half-written"
    ds = build_dataset(cfg, folder, skip_bad=True)
    assert "000004.jpg" not in ds.names and ds.names[:3] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert [s["name"] for s in ds.manifest["skipped"]] == ["000004.jpg"]
    assert ds.images.shape[0] == len(ds.names)
    np.testing.assert_array_equal(ds.images[3].numpy(), load_image(folder / "img_align_celeba" / "000005.jpg", 8))
    # image bytes are not part of the cache key (hashing 202k JPEGs per build costs more than the
    # build): a missing image is found by the next build that is not a cache hit
    (folder / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(InputError, match=r"1 image\(s\) named in the metadata/order are missing: 000002.jpg"):
        build_dataset(DataConfig(source="celeba", resolution=12, order_seed=None), folder, skip_bad=True)


def test_missing_inputs_are_named(cache, tmp_path):
    with pytest.raises(InputError, match="CelebA folder not found"):
        build_dataset(DataConfig(source="celeba", resolution=8), tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="list_attr_celeba.txt not found"):
        build_dataset(DataConfig(source="celeba", resolution=8), tmp_path / "empty")
    with pytest.raises(InputError, match="pass the CelebA folder"):
        build_dataset(DataConfig(source="celeba", resolution=8))


def test_cli_build_prints_artifact(cache, celeba_copy, capsys):
    from studies.cli import main

    assert main(["data", "build", "--celeba", str(celeba_copy), "--res", "8", "--limit", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 5 and out["shape"] == [5, 1, 8, 8]
    assert main(["data", "facts", "--meta", str(celeba_copy), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["identities"] == 5 and len(facts["attributes"]) == 40


def test_replaced_image_under_the_same_name_gives_a_new_artifact(cache, celeba_copy, tmp_path):
    """A JPEG replaced in the user's folder (same name, other content) must not hit the stale cache."""
    import torch
    from PIL import Image

    folder = tmp_path / "faces"
    shutil.copytree(celeba_copy, folder)
    cfg = DataConfig(source="celeba", resolution=8, order_seed=None)
    first = build_dataset(cfg, folder)
    name = first.names[0]
    Image.new("RGB", (178, 218), (255, 255, 255)).save(folder / "img_align_celeba" / name, quality=95)
    second = build_dataset(cfg, folder)
    assert second.path != first.path
    assert torch.allclose(second.images[0], torch.ones_like(second.images[0]), atol=0.02)  # the new, white image
    assert not torch.allclose(first.images[0], second.images[0])
