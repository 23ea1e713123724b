"""A user's images as a data source: .npy arrays and PNG/JPEG folders, the labels CSV, the profile
built from them, and claims that need a field the data lacks ending "not applicable"."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studies.config import DataConfig
from studies.data.celeba import read_metadata
from studies.data.dataset import build_dataset
from studies.data.sources import UserImages, load_user_array, prepare_user_images, user_fields
from studies.errors import InputError


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MEMGEN_USER_IMAGES", raising=False)
    monkeypatch.delenv("MEMGEN_USER_LABELS", raising=False)
    return tmp_path / "cache"


def _array(n=40, side=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side), dtype=np.uint8)


@pytest.mark.parametrize("shape, dtype", [((40, 12, 12), np.uint8), ((40, 1, 12, 12), np.float32), ((40, 3, 12, 12), np.float64)])
def test_array_shapes_and_dtypes(cache, tmp_path, shape, dtype):
    x = np.random.default_rng(0).random(shape)
    x = (x * 255).astype(np.uint8) if dtype == np.uint8 else x.astype(dtype)
    np.save(tmp_path / "a.npy", x)
    ds = build_dataset(DataConfig(source="array", resolution=12, order_seed=None), UserImages(tmp_path / "a.npy"))
    assert tuple(ds.images.shape) == (40, 1, 12, 12)
    want = x.astype(np.float32) / 255 if dtype == np.uint8 else x.astype(np.float32)
    want = want.reshape(40, -1, 12, 12).mean(axis=1) if want.ndim == 4 else want
    np.testing.assert_allclose(ds.images[:, 0].numpy(), want, atol=1e-6)
    assert read_metadata(ds.meta_dir).identity is None


def test_array_resized_to_resolution(cache, tmp_path):
    np.save(tmp_path / "a.npy", _array(side=10))
    ds = build_dataset(DataConfig(source="array", resolution=8, order_seed=0), UserImages(tmp_path / "a.npy"))
    assert tuple(ds.images.shape) == (40, 1, 8, 8) and float(ds.images.min()) >= 0 and float(ds.images.max()) <= 1


@pytest.mark.parametrize("make, match", [
    (lambda: np.zeros((4, 5, 6), np.uint8), "5x6; memgen needs square"),
    (lambda: np.zeros((4, 2, 6, 6), np.uint8), "2 channels"),
    (lambda: np.zeros((4, 6), np.uint8), "expected \\(N, H, W\\)"),
    (lambda: np.full((4, 6, 6), 2.0), "span \\[2, 2\\]; expected \\[0, 1\\]"),
    (lambda: np.full((4, 6, 6), np.nan), "NaN"),
    (lambda: np.zeros((4, 6, 6), np.int32), "dtype int32"),
    (lambda: np.zeros((1, 6, 6), np.uint8), "at least 2"),
])
def test_bad_arrays_are_named(tmp_path, make, match):
    np.save(tmp_path / "bad.npy", make())
    with pytest.raises(InputError, match=match) as exc:
        load_user_array(tmp_path / "bad.npy")
    assert "bad.npy" in str(exc.value)


def test_labels_csv_attributes_and_identity(cache, tmp_path):
    np.save(tmp_path / "a.npy", _array())
    rows = ["index,Footwear,identity"] + [f"{i},{'yes' if i % 3 == 0 else 'no'},{i // 4}" for i in range(40)]
    (tmp_path / "l.csv").write_text("\n".join(rows) + "\n")
    folder, info = prepare_user_images(UserImages(tmp_path / "a.npy", tmp_path / "l.csv"))
    assert user_fields(folder) == {"attributes": ["Footwear"], "identity": True, "shape": [40, 1, 12, 12]}
    meta = read_metadata(folder)
    assert meta.attributes.column("Footwear")[:4].tolist() == [1, -1, -1, 1]
    assert meta.identity[:5].tolist() == [0, 0, 0, 0, 1]


@pytest.mark.parametrize("rows, match", [
    (["name,Footwear", "0,1"], ":1: first column must be 'index'"),
    (["index,Footwear", "0,maybe"], ":2: value 'maybe' of attribute Footwear"),
    (["index,Footwear", "0,1", "0,1"], ":3: index 0 repeated"),
    (["index,Footwear", "99,1"], ":2: index 99 outside 0..39"),
    (["index,Footwear", "0,1,2"], ":2: 3 fields, the header has 2"),
    (["index,Footwear", "0,1"], "39 image\\(s\\) have no row"),
    (["index,identity", "0,x"], ":2: identity 'x' is not an integer"),
])
def test_bad_labels_are_named(cache, tmp_path, rows, match):
    np.save(tmp_path / "a.npy", _array())
    (tmp_path / "l.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=match) as exc:
        prepare_user_images(UserImages(tmp_path / "a.npy", tmp_path / "l.csv"))
    assert "l.csv" in str(exc.value)


def test_image_folder_with_filename_labels(cache, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    x = _array(n=6, side=8)
    for i, im in enumerate(x):
        Image.fromarray(im).save(folder / f"p{i}.png")
    (folder / "notes.txt").write_text("ignored")
    (tmp_path / "l.csv").write_text("filename,Male\n" + "".join(f"p{i}.png,{i % 2}\n" for i in range(6)))
    ds = build_dataset(DataConfig(source="array", resolution=8, order_seed=None), UserImages(folder, tmp_path / "l.csv"))
    assert ds.names == [f"p{i}.png" for i in range(6)]
    np.testing.assert_allclose(ds.images[:, 0].numpy(), x.astype(np.float32) / 255, atol=1e-6)
    Image.fromarray(_array(n=1, side=9)[0]).save(folder / "z.png")
    with pytest.raises(InputError, match="z.png: image is 9x9, the first \\(p0.png\\) is 8x8"):
        prepare_user_images(UserImages(folder))


def test_user_profile_from_array(cache, tmp_path, monkeypatch):
    from studies.claims.core import absent_protocol_reason
    from studies.profiles import get_profile

    labels = np.arange(400) % 10
    np.save(tmp_path / "a.npy", _array(n=400, side=30))
    (tmp_path / "l.csv").write_text("index,Footwear\n" + "".join(f"{i},{int(c in (5, 7, 9))}\n" for i, c in enumerate(labels)))
    monkeypatch.setenv("MEMGEN_USER_IMAGES", str(tmp_path / "a.npy"))
    monkeypatch.setenv("MEMGEN_USER_LABELS", str(tmp_path / "l.csv"))
    p = get_profile("user")
    assert p.data.source == "array" and p.data.resolution == 28  # rounded down to a multiple of 4
    assert {g.name: g.n_grid for g in p.protocols} == {"random": (10, 100, 120, 200), "footwear": (10, 120)}
    assert "no identity protocol" in absent_protocol_reason(p, "identity")
    assert "Eyeglasses" in absent_protocol_reason(p, "eyeglasses")
    assert absent_protocol_reason(p, "footwear") is None
    monkeypatch.delenv("MEMGEN_USER_IMAGES")
    with pytest.raises(InputError, match="--array FILE.npy or --images DIR"):
        get_profile("user")


def test_verdict_cli_array_command(cache, tmp_path, monkeypatch):
    import argparse

    from studies.cli.verdict import build_command

    np.save(tmp_path / "a.npy", _array(n=40, side=16))
    monkeypatch.delenv("MEMGEN_USER_IMAGES", raising=False)
    args = argparse.Namespace(profile=None, k=None, n=None, report_dir=str(tmp_path / "r"), recalibrate=False, celeba=None,
                              pytest_args=[], array=str(tmp_path / "a.npy"), images=None, labels=None)
    cmd = build_command(args)
    assert cmd[cmd.index("--profile") + 1] == "user" and "--recalibrate" in cmd
    assert cmd[cmd.index("--proposed-path") + 1].endswith("proposed-user.toml")
    args.profile = "smoke"
    with pytest.raises(InputError, match="under profile 'user'"):
        build_command(args)
