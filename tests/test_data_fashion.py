"""IDX reader (magic, dimensions, length, gzip or plain, registered SHA-256), Fashion-MNIST lookup,
facts and dataset artifact; the real files are used where installed (scripts/setup.sh installs them)."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from studies.data import fashion
from studies.data.idx import parse_idx, read_idx, write_idx
from studies.errors import InputError, MissingResourceError

HAVE_FASHION = all((fashion.SYSTEM_DIR / n).is_file() for n in fashion.REGISTERED)
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason=f"Fashion-MNIST not installed in {fashion.SYSTEM_DIR} (scripts/setup.sh installs it)")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(fashion.FASHION_ENV, raising=False)
    return tmp_path / "cache"


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_gzip_or_plain(tmp_path, compress):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = write_idx(tmp_path / "x.idx", x, compress=compress)
    got = read_idx(p, ndim=3, shape=(None, 3, 4))
    np.testing.assert_array_equal(got.data, x)
    content = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in x.shape) + x.tobytes()
    assert got.sha256 == hashlib.sha256(content).hexdigest()  # of the decompressed content, either way


def test_idx_refuses_malformed(tmp_path):
    x = np.zeros((5, 4, 4), dtype=np.uint8)
    good = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in x.shape) + x.tobytes()
    with pytest.raises(InputError, match="bad IDX magic"):
        parse_idx(b"\x01" + good[1:], "f")
    with pytest.raises(InputError, match="data type 0x0d"):
        parse_idx(good[:2] + b"\x0d" + good[3:], "f")
    with pytest.raises(InputError, match="1 dimension"):
        parse_idx(good[:3] + b"\x01" + good[4:], "f", ndim=3)
    with pytest.raises(InputError, match="f: IDX dimensions 5x4x4, expected 60000x4x4"):
        parse_idx(good, "f", shape=(60000, 4, 4))
    with pytest.raises(InputError, match="truncated"):
        parse_idx(good[:-1], "f")
    with pytest.raises(InputError, match="trailing"):
        parse_idx(good + b"\x00", "f")
    with pytest.raises(InputError, match="too short"):
        parse_idx(b"\x00\x00", "f")
    bad_gz = tmp_path / "bad.gz"
    bad_gz.write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(InputError, match="bad.gz: corrupt or truncated gzip"):
        read_idx(bad_gz)
    ok = tmp_path / "ok.idx"
    ok.write_bytes(good)
    with pytest.raises(InputError, match="ok.idx: decompressed content has SHA-256 .* registered 00"):
        read_idx(ok, sha256="00" * 32)
    with pytest.raises(InputError, match="not found"):
        read_idx(tmp_path / "missing.gz")


def test_missing_fashion_names_both_routes(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "SYSTEM_DIR", tmp_path / "nowhere")
    with pytest.raises(MissingResourceError) as exc:
        fashion.fashion_dir()
    msg = str(exc.value)
    assert "apt-get install -y dataset-fashion-mnist" in msg and "apt-get download" in msg and "dpkg -x" in msg
    with pytest.raises(MissingResourceError, match="file\\(s\\) missing: train-images"):
        fashion.fashion_dir(tmp_path)


def test_damaged_copy_is_named(cache, tmp_path):
    """A folder with the four names but a wrong file: the SHA-256 check names it."""
    for name, (_, shape) in fashion.REGISTERED.items():
        write_idx(tmp_path / name, np.zeros(shape, dtype=np.uint8), compress=True)
    with pytest.raises(InputError, match="train-images-idx3-ubyte.gz: decompressed content has SHA-256"):
        fashion.load_fashion(tmp_path)
    data = fashion.load_fashion(tmp_path, check_hash=False)  # the structure itself is fine
    assert data.train_images.shape == (60_000, 28, 28)


def test_attribute_table_groupings():
    names, values = fashion.attribute_table(np.array([0, 5, 7, 9, 8], dtype=np.uint8))
    col = values[:, names.index("Footwear")]
    assert col.tolist() == [-1, 1, 1, 1, -1]
    assert values[:, names.index("Bag")].tolist() == [-1, -1, -1, -1, 1]


@needs_fashion
def test_real_fashion_facts_and_registered_hashes(cache):
    data = fashion.load_fashion()
    f = fashion.facts(data)
    assert (f["train_images"], f["test_images"]) == (60_000, 10_000)
    assert set(f["train_per_class"].values()) == {6000} and set(f["test_per_class"].values()) == {1000}
    assert f["groupings"]["Footwear"]["train_pos"] == 18_000
    assert data.sha256 == {n: sha for n, (sha, _) in fashion.REGISTERED.items()}


@needs_fashion
def test_real_fashion_dataset_artifact(cache):
    from studies.config import DataConfig
    from studies.data.celeba import read_metadata
    from studies.data.dataset import build_dataset

    cfg = DataConfig(source="fashion", resolution=28, order_seed=0)
    ds = build_dataset(cfg)
    assert tuple(ds.images.shape) == (60_000, 1, 28, 28)
    raw = fashion.load_fashion()
    i = int(ds.names[0].split("-")[1])
    np.testing.assert_array_equal(ds.images[0, 0].numpy(), raw.train_images[i].astype(np.float32) / 255)
    meta = read_metadata(ds.meta_dir)
    assert meta.identity is None  # Fashion-MNIST has no identities
    assert ds.manifest["source"]["sha256_decompressed"] == raw.sha256
    assert build_dataset(cfg).path == ds.path  # cache hit, same key
    # the held-out set is the 10,000 test images, hashed with the artifact; no split draws from it
    assert tuple(ds.heldout.shape) == (10_000, 1, 28, 28)
    np.testing.assert_array_equal(ds.heldout[:, 0].numpy(), raw.test_images.astype(np.float32) / 255)
    assert ds.manifest["heldout"]["source"] == fashion.TEST_IMAGES
    assert ds.manifest["heldout"]["sha256_decompressed"] == raw.sha256[fashion.TEST_IMAGES]


@needs_fashion
def test_fashion_artifact_is_keyed_by_content_not_folder(cache, tmp_path, monkeypatch):
    # the same four files in another folder, two of them decompressed, are the same data: same key,
    # no rebuild (the registered SHA-256 values are of the decompressed content)
    import gzip
    import shutil

    from studies.config import DataConfig
    from studies.data.dataset import IMAGES_FILE, build_dataset

    cfg = DataConfig(source="fashion", resolution=28, order_seed=0, limit=500)
    first = build_dataset(cfg)
    stamp = (first.path / IMAGES_FILE).stat().st_mtime_ns
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for i, name in enumerate(fashion.REGISTERED):
        if i % 2:
            (copy / name[: -len(".gz")]).write_bytes(gzip.decompress((fashion.SYSTEM_DIR / name).read_bytes()))
        else:
            shutil.copy(fashion.SYSTEM_DIR / name, copy / name)
    monkeypatch.setenv(fashion.FASHION_ENV, str(copy))
    again = build_dataset(cfg)
    assert again.path == first.path and (again.path / IMAGES_FILE).stat().st_mtime_ns == stamp
    assert again.manifest["source"]["fashion_dir"] == first.manifest["source"]["fashion_dir"]  # recorded, not rebuilt
    # different content is another key: a changed order seed, as a control of the test itself
    assert build_dataset(DataConfig(source="fashion", resolution=28, order_seed=1, limit=500)).path != first.path


def test_model_held_out_set_is_the_data_s_own_where_it_has_one():
    from types import SimpleNamespace

    import torch

    from studies.zoo import heldout_set

    images, own = torch.arange(10.0).reshape(10, 1, 1, 1), torch.full((3, 1, 1, 1), -1.0)
    other = np.array([7, 8, 9])
    assert torch.equal(heldout_set(SimpleNamespace(images=images, heldout=None), other), images[7:])
    assert heldout_set(SimpleNamespace(images=images, heldout=own), other) is own


@needs_fashion
def test_cli_facts_json(cache, capsys):
    import json

    from studies.cli import main

    assert main(["data", "facts", "--fashion", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["train_images"] == 60_000 and out["test_per_class"]["Bag"] == 1000


def test_dedup_pool_literal_vs_adaptive():
    """At 28x28 the literal rule compares all 784 pixels (kernel 28 // 20 = 1); the adaptive option
    compares the 20x20 average-pooled images, so it sees a pixel-level difference less."""
    import torch

    from studies.data.dedup import pooled, remove_duplicates

    rng = np.random.default_rng(0)
    x = rng.random((6, 1, 28, 28)).astype(np.float32)
    assert pooled(torch.from_numpy(x)).shape[2:] == (28, 28)
    # image 5 = a smooth image 0 plus pixel noise: pooling to 20x20 averages part of the noise away,
    # so the adaptive rule finds the pair more alike (corr 0.94) than the pixel-level rule (0.82)
    import torch.nn.functional as F

    x[0] = F.interpolate(torch.from_numpy(rng.random((1, 1, 4, 4)).astype(np.float32)), size=(28, 28), mode="bilinear", align_corners=False).numpy()[0]
    x[5] = x[0] + 0.15 * rng.standard_normal((1, 28, 28)).astype(np.float32)
    x[4] = x[1] + 0.001  # a near-copy both rules catch
    lit = remove_duplicates(x, method="exact", threshold=0.9).tolist()
    ada = remove_duplicates(x, method="exact", threshold=0.9, pool="adaptive").tolist()
    assert lit == [4] and ada == [4, 5]
    assert remove_duplicates(x, method="dense", threshold=0.9, pool="adaptive").tolist() == ada
    with pytest.raises(InputError, match="pool: unknown 'max'"):
        remove_duplicates(x, pool="max")


def test_heldout_duplicates_counts_test_images():
    from studies.data.audit import heldout_duplicates

    rng = np.random.default_rng(1)
    train = rng.random((50, 1, 28, 28)).astype(np.float32)
    test = rng.random((8, 1, 28, 28)).astype(np.float32)
    test[2], test[5] = train[7], train[7] * 0.5 + 0.1  # two test images copy one training image
    r = heldout_duplicates(train, test, 0.95)
    assert r["heldout_with_training_duplicate"] == 2 and r["pairs"] == 2 and r["examples"] == [[2, 7], [5, 7]]


def test_split_audit_without_identities(cache, tmp_path, capsys):
    from studies.cli import main
    from studies.data.sources import UserImages, prepare_user_images

    np.save(tmp_path / "a.npy", np.random.default_rng(0).integers(0, 256, (20, 8, 8), dtype=np.uint8))
    folder, _ = prepare_user_images(UserImages(tmp_path / "a.npy"))
    (tmp_path / "a.txt").write_text("img-000000\nimg-000001\n")
    (tmp_path / "b.txt").write_text("img-000002\nimg-000003\n")
    assert main(["split", "audit", "--meta", str(folder), "--a", str(tmp_path / "a.txt"), "--b", str(tmp_path / "b.txt")]) == 0
    assert "identities: none in this data" in capsys.readouterr().out


@needs_fashion
def test_heldout_attribute_labels_the_test_images_in_file_order():
    """The side of each held-out image (the side-matched PSNR gap of psnr-gap): Footwear is 3 classes
    of 1,000 test images each; a non-fashion artifact has none; a held-out set made from another
    test-image file is refused, naming the file."""
    data = fashion.load_fashion()
    manifest = {"source": {"kind": "fashion", "fashion_dir": str(fashion.SYSTEM_DIR)},
                "heldout": {"sha256_decompressed": data.sha256[fashion.TEST_IMAGES]}}
    foot = fashion.heldout_attribute(manifest, "Footwear")
    assert foot.shape == (10_000,) and int(foot.sum()) == 3_000
    np.testing.assert_array_equal(foot, np.isin(data.test_labels, (5, 7, 9)))
    assert int(fashion.heldout_attribute(manifest, "Bag").sum()) == 1_000
    assert fashion.heldout_attribute({"source": {"kind": "synthetic"}}, "Footwear") is None
    with pytest.raises(InputError, match="no attribute 'Hat'"):
        fashion.heldout_attribute(manifest, "Hat")
    from studies.errors import ArtifactError

    with pytest.raises(ArtifactError, match="t10k-images-idx3-ubyte.gz"):
        fashion.heldout_attribute(dict(manifest, heldout={"sha256_decompressed": "0" * 64}), "Footwear")
