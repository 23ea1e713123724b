"""Bad image files in a CelebA-layout folder, through ``memgen data build --celeba``: each row is
refused with exit code 2 naming the file (or, with ``--skip-bad``, left out and recorded, as
documented), an all-unreadable folder is refused rather than built empty, and nothing in the cache
changes on a refusal. The table is docs/BAD_INPUTS.md's image section."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from PIL import Image

from bad_input_common import CacheWatch, cache, filled, populated_cache, run_cli, write_meta  # noqa: F401 (cache, filled: fixtures)

SIZE = (178, 218)


def _folder(tmp_path, damage):
    meta = write_meta(tmp_path / "celeba")
    images = meta / "img_align_celeba"
    images.mkdir()
    for i in range(1, 7):
        Image.fromarray((np.random.default_rng(i).random((218, 178, 3)) * 255).astype("uint8")).save(images / f"{i:06d}.jpg")
    damage(images)
    return meta


def _symlink_loop(im):
    (im / "000001.jpg").unlink()
    os.symlink(im / "000001.jpg", im / "000001.jpg")


# (id, damage(images folder), regex without --skip-bad, whether --skip-bad builds without it)
ROWS = [
    ("img-truncated", lambda im: (im / "000002.jpg").write_bytes((im / "000002.jpg").read_bytes()[:300]), r"000002\.jpg: unreadable or truncated image", True),
    ("img-empty", lambda im: (im / "000002.jpg").write_bytes(b""), r"000002\.jpg: unreadable or truncated image \(cannot identify", True),
    ("img-text", lambda im: (im / "000003.jpg").write_text("hello"), r"000003\.jpg: unreadable or truncated image", True),
    ("img-folder", lambda im: ((im / "000004.jpg").unlink(), (im / "000004.jpg").mkdir()), r"000004\.jpg: unreadable or truncated image \(\[Errno 21\] Is a directory", True),
    ("img-wrong-size", lambda im: Image.new("RGB", (40, 40)).save(im / "000005.jpg"), r"000005\.jpg: image is 40x40 \(width x height\), expected 178x218", True),
    ("img-decompression-bomb", lambda im: Image.new("L", (20000, 20000)).save(im / "000001.jpg"), r"000001\.jpg: unreadable or truncated image \(Image size", True),
    ("img-16-bit", lambda im: Image.new("I;16", SIZE).save(im / "000001.jpg", format="PNG"), r"000001\.jpg: I;16 pixels \(more than 8 bits", True),
    ("img-missing", lambda im: (im / "000005.jpg").unlink(), r"img_align_celeba: 1 image\(s\) named in the metadata/order are missing: 000005\.jpg", False),
    ("img-symlink-loop", _symlink_loop, r"000001\.jpg: cannot be read \(Too many levels of symbolic links\)", False),
    ("img-all-unreadable", lambda im: [(im / f"{i:06d}.jpg").write_text("x") for i in range(1, 7)], r"unreadable or truncated image", False),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_refused_with_exit_2(row, tmp_path, cache, capsys):
    _, damage, pattern, _ = row
    folder = _folder(tmp_path, damage)
    rc, err = run_cli(["data", "build", "--celeba", folder, "--res", "16"], capsys)
    assert rc == 2 and re.search(pattern, err), err


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_skip_bad(row, tmp_path, monkeypatch, capsys):
    """--skip-bad leaves a decodable-but-bad file out and records it; what it cannot skip
    (a missing name, an unreadable folder entry, every image bad) is still refused."""
    rid, damage, _, skippable = row
    folder = _folder(tmp_path, damage)
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    rc, err = run_cli(["data", "build", "--celeba", folder, "--res", "16", "--skip-bad", "--json"], capsys)
    if skippable:
        assert rc == 0, err
        from studies.data.dataset import load_dataset

        (artifact,) = [p for p in (tmp_path / "cache" / "datasets").iterdir() if p.is_dir()]
        ds = load_dataset(artifact)
        assert len(ds.names) == 5 and len(ds.manifest["skipped"]) == 1
        assert ds.manifest["skipped"][0]["name"] not in ds.names
    else:
        assert rc == 2, err
        if rid == "img-all-unreadable":
            assert "all 6 image(s) are unreadable (--skip-bad left none)" in err


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P"])
def test_other_8_bit_modes_are_converted(mode, tmp_path, monkeypatch, capsys):
    """8-bit grayscale, CMYK, RGBA and palette images are converted to RGB (PIL's rules), as documented."""
    folder = _folder(tmp_path, lambda im: Image.new(mode, SIZE).save(im / "000001.jpg", format="PNG" if mode in ("RGBA", "P") else "JPEG"))
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    rc, err = run_cli(["data", "build", "--celeba", folder, "--res", "16"], capsys)
    assert rc == 0, err
