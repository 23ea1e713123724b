"""Damaged cache artifacts. A dataset artifact with any file changed, missing or added (or written
by the previous format, without sha256sums.json) is rebuilt by ``memgen data build`` with a message
naming the file (exit 0, same content as before); a command that only reads an artifact given to it
(``dedup --data``, ``split audit --data``) refuses it with exit code 2 naming the file and changes
nothing. Zoo entries: tests/test_zoo_recovery.py. The table is docs/BAD_INPUTS.md's cache section."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from bad_input_common import CacheWatch, populated_cache, run_cli, snapshot, write_meta
from studies.data.dataset import load_dataset
from studies.errors import ArtifactError

BUILD = ["data", "build", "--synthetic", "--res", "20", "--identities", "3", "--seed", "0", "--limit", "6"]


def _flip_name(d):
    text = (d / "manifest.json").read_text()
    first = json.loads(text)["names"][0]
    other = first[:-5] + ("1" if first[-5] != "1" else "2") + first[-4:]
    (d / "manifest.json").write_text(text.replace(f'"{first}"', f'"{other}"', 1))


def _edit_manifest(change):
    def edit(d):
        m = json.loads((d / "manifest.json").read_text())
        change(m)
        (d / "manifest.json").write_text(json.dumps(m, indent=1))
    return edit


def _flip_pixel(d):
    arr = np.load(d / "images.npy", mmap_mode="r+")
    arr[0, 0, 0, 0] += 0.25
    arr.flush()


def _edit_sums(d):
    s = json.loads((d / "sha256sums.json").read_text())
    s["files"]["images.npy"] = "0" * 64
    (d / "sha256sums.json").write_text(json.dumps(s))


# (id, damage(folder), regex of the failed verification)
FAULTS = [
    ("manifest-name-byte", _flip_name, r"manifest\.json has sha256"),
    ("manifest-shape-edited", _edit_manifest(lambda m: m.update(shape=[5, 1, 20, 20])), r"manifest\.json has sha256"),
    ("manifest-not-json", lambda d: (d / "manifest.json").write_text("{"), r"manifest\.json has sha256"),
    ("manifest-missing", lambda d: (d / "manifest.json").unlink(), r"file manifest\.json is missing"),
    ("images-pixel", _flip_pixel, r"images\.npy has sha256"),
    ("images-truncated", lambda d: (d / "images.npy").write_bytes((d / "images.npy").read_bytes()[:100]), r"images\.npy has sha256"),
    ("images-missing", lambda d: (d / "images.npy").unlink(), r"file images\.npy is missing"),
    ("sums-missing-old-format", lambda d: (d / "sha256sums.json").unlink(), r"sha256sums\.json is missing \(written by an older memgen"),
    ("sums-edited", _edit_sums, r"sha256sums\.json fails its own hash"),
    ("sums-not-json", lambda d: (d / "sha256sums.json").write_text("["), r"sha256sums\.json is unreadable"),
    ("extra-file", lambda d: (d / "notes.txt").write_text("hi"), r"file notes\.txt is not part of the artifact"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return populated_cache(tmp_path_factory)


@pytest.fixture()
def damaged_cache(pristine, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    shutil.copytree(pristine, root)
    monkeypatch.setenv("MEMGEN_CACHE", str(root))
    (folder,) = [p for p in (root / "datasets").iterdir() if p.is_dir()]
    return root, folder


@pytest.mark.parametrize("row", FAULTS, ids=[r[0] for r in FAULTS])
def test_build_rebuilds_with_a_message(row, pristine, damaged_cache, capsys, caplog):
    root, folder = damaged_cache
    good = snapshot(pristine)
    _, damage, pattern = row
    damage(folder)
    with pytest.raises(ArtifactError, match=pattern):
        load_dataset(folder)
    caplog.set_level("INFO", logger="memgen.data")  # in this process pytest holds the log (the CLI prints it)
    rc, err = run_cli(BUILD, capsys)
    assert rc == 0, err
    text = caplog.text
    assert "failed verification" in text and re.search(pattern, text) and "rebuilding" in text and "cache hit" not in text, text
    now = snapshot(root)
    assert set(now) == set(good) and all(now[k] == good[k] for k in now if not k.endswith(".json")), "the same files, the same tensor bytes"
    rebuilt, original = load_dataset(folder), load_dataset(next((pristine / "datasets").glob("*/")))
    drop = lambda m: {k: v for k, v in m.items() if k != "source"}  # noqa: E731  (source names this cache's folder)
    assert drop(rebuilt.manifest) == drop(original.manifest)


def test_the_cli_prints_why_it_rebuilds(damaged_cache):
    """The reproduction, as a user runs it: one byte of a filename in the manifest changed."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root, folder = damaged_cache
    _flip_name(folder)
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "studies", *BUILD], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MEMGEN_CACHE": str(root), "PYTHONPATH": str(repo)})
    assert out.returncode == 0, out.stderr
    assert "failed verification" in out.stderr and "manifest.json has sha256" in out.stderr and "rebuilding" in out.stderr
    assert "cache hit" not in out.stderr


@pytest.mark.parametrize("row", FAULTS, ids=[r[0] for r in FAULTS])
def test_readers_refuse_with_exit_2(row, damaged_cache, tmp_path, capsys):
    root, folder = damaged_cache
    _, damage, pattern = row
    damage(folder)
    watch = CacheWatch(root)
    rc, err = run_cli(["dedup", "--data", folder], capsys)
    assert rc == 2 and str(folder) in err and re.search(pattern, err), err
    meta = write_meta(tmp_path / "meta")
    names = ["000001.jpg", "000002.jpg"]
    (tmp_path / "a.txt").write_text(names[0] + "\n")
    (tmp_path / "b.txt").write_text(names[1] + "\n")
    rc, err = run_cli(["split", "audit", "--meta", meta, "--a", tmp_path / "a.txt", "--b", tmp_path / "b.txt", "--data", folder], capsys)
    assert rc == 2 and "memgen: error:" in err, err
    watch.assert_unchanged()


def test_an_intact_artifact_is_a_cache_hit(damaged_cache, capsys, caplog):
    root, folder = damaged_cache
    watch = CacheWatch(root)
    caplog.set_level("INFO", logger="memgen.data")
    rc, err = run_cli(BUILD, capsys)
    assert rc == 0 and "cache hit" in caplog.text, err
    watch.assert_unchanged()
