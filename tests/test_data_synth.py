"""Synthetic CelebA-like faces: layout, determinism, attribute rates, planted duplicates."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from studies.config import SynthConfig
from studies.data.celeba import read_metadata
from studies.data.images import load_image
from studies.data.synth import ATTRIBUTE_NAMES, generate, read_duplicates
from studies.errors import InputError


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "a"
    return generate(out, SynthConfig(identities=8, seed=5, duplicate_rate=0.05))


def test_layout_is_read_by_the_real_reader(small):
    meta = read_metadata(small)
    assert meta.attributes.names == ATTRIBUTE_NAMES and len(ATTRIBUTE_NAMES) == 40
    n = len(meta.filenames)
    assert meta.filenames == [f"{i:06d}.jpg" for i in range(1, n + 1)]
    assert len(np.unique(meta.identity)) == 8
    img = load_image(small / "img_align_celeba" / "000001.jpg", 40, grayscale=False)
    assert img.shape == (3, 40, 40) and img.std() > 0.05


def test_same_seed_gives_byte_identical_files(small, tmp_path):
    again = generate(tmp_path / "b", SynthConfig(identities=8, seed=5, duplicate_rate=0.05))
    assert _digests(small) == _digests(again)
    other = generate(tmp_path / "c", SynthConfig(identities=8, seed=6, duplicate_rate=0.05))
    assert _digests(small)["img_align_celeba/000001.jpg"] != _digests(other)["img_align_celeba/000001.jpg"]


def test_planted_duplicates_are_near_copies(small):
    pairs = read_duplicates(small)
    assert pairs, "duplicate_rate 0.05 plants at least one pair"
    meta = read_metadata(small)
    for src, dup in pairs:
        a = load_image(small / "img_align_celeba" / src, 20).ravel()
        b = load_image(small / "img_align_celeba" / dup, 20).ravel()
        assert np.corrcoef(a, b)[0, 1] > 0.95
        ia, _ = meta.select([src, dup])
        assert ia[0] == ia[1]


def test_identity_traits_fixed_and_per_image_variation(small):
    meta = read_metadata(small)
    vals = meta.attributes.values
    names = meta.attributes.names
    for ident in np.unique(meta.identity):
        rows = vals[meta.identity == ident]
        for trait in ("Male", "Young", "Pale_Skin", "Bald", "Black_Hair", "Blond_Hair"):
            assert len(set(rows[:, names.index(trait)].tolist())) == 1, trait
    assert len(set(vals[:, names.index("Smiling")].tolist())) == 2


@pytest.mark.slow
def test_attribute_rates_and_identity_sizes_are_celeba_like(tmp_path):
    meta = read_metadata(generate(tmp_path / "big", SynthConfig(identities=200, seed=0)))
    _, per = np.unique(meta.identity, return_counts=True)
    assert 1 <= per.min() and per.max() <= 35 and 17 <= per.mean() <= 23
    names = meta.attributes.names
    rate = lambda n: (meta.attributes.values[:, names.index(n)] == 1).mean()  # noqa: E731
    assert 0.03 <= rate("Eyeglasses") <= 0.12
    assert 0.32 <= rate("Male") <= 0.52


def test_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep me")
    with pytest.raises(InputError, match="not an empty folder"):
        generate(tmp_path / "x", SynthConfig(identities=1))


def test_background_field_changes_the_backdrop_only(small, tmp_path):
    """SynthConfig.background paints a per-image field behind the figure: the centre of the face is
    untouched, the corners change, attributes and identities are the same, and planted duplicates
    keep their background (they stay near copies)."""
    rich = generate(tmp_path / "bg", SynthConfig(identities=8, seed=5, duplicate_rate=0.05, background=3.0))
    assert (rich / "list_attr_celeba.txt").read_bytes() == (small / "list_attr_celeba.txt").read_bytes()
    assert (rich / "identity_CelebA.txt").read_bytes() == (small / "identity_CelebA.txt").read_bytes()
    corner, centre = [], []
    for name in ("000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"):
        a = load_image(small / "img_align_celeba" / name, 40)[0]
        b = load_image(rich / "img_align_celeba" / name, 40)[0]
        corner.append(float(np.abs(a[:6, :6] - b[:6, :6]).mean()))
        centre.append(float(np.abs(a[16:24, 16:24] - b[16:24, 16:24]).mean()))
    assert min(corner) > 0.02 and max(centre) < 0.01, (corner, centre)
    for src, dup in read_duplicates(rich):
        a = load_image(rich / "img_align_celeba" / src, 20).ravel()
        b = load_image(rich / "img_align_celeba" / dup, 20).ravel()
        assert np.corrcoef(a, b)[0, 1] > 0.95


def test_background_must_be_non_negative():
    with pytest.raises(InputError, match="background"):
        SynthConfig(background=-1.0)
