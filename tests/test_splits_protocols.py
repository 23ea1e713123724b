"""Split protocols, caps, exposure and the split artifact (studies.data.splits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studies.config import SplitConfig
from studies.data.celeba import read_metadata, read_order
from studies.data.splits import (
    Exposure,
    attribute_sides,
    exposure,
    identity_groups,
    load_split,
    make_split,
    random_split,
    save_split,
)
from studies.errors import InputError

ATTRS = [f"Attr{k}" for k in range(38)] + ["Eyeglasses", "Male"]


def write_meta(folder: Path, identity: np.ndarray, values: np.ndarray) -> list[str]:
    """A CelebA-layout metadata folder of len(identity) images; returns the filenames."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(identity))]
    rows = [f"{n} " + " ".join(f"{v:2d}" for v in row) for n, row in zip(names, values.tolist())]
    (folder / "list_attr_celeba.txt").write_text(f"{len(names)}\n" + " ".join(ATTRS) + "\n" + "\n".join(rows) + "\n")
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} {i}\r\n" for n, i in zip(names, identity.tolist())))
    return names


@pytest.fixture(scope="module")
def meta_dir(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 600
    identity = rng.integers(1, 61, size=n)  # 60 identities, about 10 images each
    values = np.where(rng.random((n, 40)) < 0.3, 1, -1).astype(np.int8)
    folder = tmp_path_factory.mktemp("meta")
    write_meta(folder, identity, values)
    return folder


@pytest.fixture(scope="module")
def meta(meta_dir):
    return read_metadata(meta_dir)


@pytest.fixture(scope="module")
def order(meta):
    # a seeded dataset order, as a dataset artifact would record it
    return [meta.filenames[i] for i in np.random.default_rng(3).permutation(len(meta.filenames)).tolist()]


# ---------------------------------------------------------------------------------------------
# random


def test_random_code_and_text_variants():
    a, b = random_split(10, 3, variant="code")
    assert a.tolist() == [0, 1, 2] and b.tolist() == [7, 8, 9]
    a, b = random_split(10, 3, variant="text")
    assert a.tolist() == [0, 1, 2] and b.tolist() == [3, 4, 5]


def test_random_split_caps_at_half_and_records_it(order, meta):
    cfg = SplitConfig(protocol="random", n_total=1000)
    s = make_split(cfg, 5000, names=order, meta=meta)
    assert (s.n_requested, s.n, s.available, s.capped) == (5000, 300, 300, True)
    assert not set(s.names_a) & set(s.names_b)
    assert list(s.names_a) == order[:300] and list(s.names_b) == order[300:]
    ok = make_split(cfg, 100, names=order, meta=meta)
    assert not ok.capped and list(ok.names_b) == order[-100:]
    with pytest.raises(InputError, match="N=5000 requested, at most 300"):
        make_split(cfg, 5000, names=order, meta=meta, strict=True)


def test_random_split_without_metadata(order):
    s = make_split(SplitConfig(protocol="random", n_total=100, variant="text"), 10, names=order)
    assert list(s.names_b) == order[10:20]


# ---------------------------------------------------------------------------------------------
# attribute


def test_attribute_sides_pure_balanced_minority_whole():
    values = np.array([1] * 7 + [-1] * 20)
    pos, neg = attribute_sides(values, seed=0)
    assert len(pos) == len(neg) == 7
    assert sorted(pos.tolist()) == list(range(7))  # the minority side is kept whole
    assert (values[neg] == -1).all() and len(set(neg.tolist())) == 7


def test_attribute_split_deterministic_and_seeded(order, meta):
    cfg = SplitConfig(protocol="attribute", attribute="Eyeglasses", n_total=1000, seed=1)
    s1 = make_split(cfg, 50, names=order, meta=meta)
    s2 = make_split(cfg, 50, names=order, meta=meta)
    assert s1.names_a == s2.names_a and s1.names_b == s2.names_b
    other = make_split(SplitConfig(protocol="attribute", attribute="Eyeglasses", n_total=1000, seed=2), 50, names=order, meta=meta)
    assert other.names_a != s1.names_a
    col = meta.attributes.column("Eyeglasses")
    assert (col[meta.indices(list(s1.names_a))] == 1).all()
    assert (col[meta.indices(list(s1.names_b))] == -1).all()
    # the first N of each side's order are the groups
    assert s1.a.tolist() == s1.side_a[:50].tolist() and s1.b.tolist() == s1.side_b[:50].tolist()


def test_attribute_split_caps_at_side_size(order, meta):
    cfg = SplitConfig(protocol="attribute", attribute="Male", n_total=1000)
    s = make_split(cfg, 10_000, names=order, meta=meta)
    positives = int((meta.attributes.column("Male") == 1).sum())
    assert s.capped and s.n == s.available == min(positives, len(order) - positives)
    assert s.info["positives"] == positives


def test_attribute_not_in_header_lists_valid_names(order, meta):
    cfg = SplitConfig(protocol="attribute", attribute="Sunglasses", n_total=1000)
    with pytest.raises(InputError, match=r"'Sunglasses'.*Eyeglasses"):
        make_split(cfg, 10, names=order, meta=meta)


def test_side_orders_written(order, meta, tmp_path):
    s = make_split(SplitConfig(protocol="attribute", attribute="Eyeglasses", n_total=1000), 20, names=order, meta=meta)
    pa, pb = s.write_orders(tmp_path, order)
    assert read_order(pa) == [order[i] for i in s.side_a.tolist()]
    assert read_order(pb)[:20] == list(s.names_b)


# ---------------------------------------------------------------------------------------------
# identity


def test_identity_split_disjoint_balanced_deterministic(order, meta):
    cfg = SplitConfig(protocol="identity", n_total=1000, seed=4, identity_tolerance=0.05)
    s = make_split(cfg, 250, names=order, meta=meta)
    ids_a = set(meta.identity[meta.indices([order[i] for i in s.side_a.tolist()])].tolist())
    ids_b = set(meta.identity[meta.indices([order[i] for i in s.side_b.tolist()])].tolist())
    assert not ids_a & ids_b
    assert len(s.side_a) + len(s.side_b) == len(order)
    assert s.info["imbalance"] <= 0.05
    assert abs(s.info["images_a"] - s.info["images_b"]) <= s.info["max_images_per_identity"]
    again = make_split(cfg, 250, names=order, meta=meta)
    assert again.names_a == s.names_a and again.names_b == s.names_b


def test_identity_groups_on_arrays():
    identity = np.repeat(np.arange(100), 5)
    a, b, facts = identity_groups(identity, seed=0)
    assert facts["images_a"] == facts["images_b"] == 250
    assert not set(identity[a].tolist()) & set(identity[b].tolist())


def test_identity_tolerance_refused_when_unreachable(order, meta):
    # 60 identities of about 10 images: a 0.1% tolerance cannot be met
    cfg = SplitConfig(protocol="identity", n_total=1000, identity_tolerance=0.0001)
    _, _, facts = identity_groups(meta.identity[meta.indices(order)], seed=0)
    assert facts["imbalance"] > 0.0001
    with pytest.raises(InputError, match="identity_tolerance"):
        make_split(cfg, 10, names=order, meta=meta)


# ---------------------------------------------------------------------------------------------
# exposure


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 500), n_total=st.integers(1, 5000), seed=st.integers(0, 10))
def test_exposure_tile_and_exact(n, n_total, seed):
    tile = exposure(n, n_total, "tile")
    assert tile.copies == max(1, n_total // n) and tile.samples == tile.copies * n and tile.extra == 0
    assert len(tile.schedule(seed)) == tile.samples
    if n > n_total:
        with pytest.raises(InputError, match="exceeds n_total"):
            exposure(n, n_total, "exact")
        return
    ex = exposure(n, n_total, "exact")
    assert ex.samples == n_total and ex.copies == n_total // n and ex.extra == n_total % n
    seen = np.bincount(ex.schedule(seed), minlength=n)
    assert seen.sum() == n_total and seen.max() - seen.min() <= 1
    assert np.array_equal(ex.schedule(seed), ex.schedule(seed))


def test_exposure_paper_numbers():
    assert exposure(98_117, 100_000).copies == 1  # the floor: the largest set sees 98,117 samples
    assert exposure(10, 250_000).samples == 250_000
    assert exposure(98_117, 100_000, "exact").extra == 1883
    with pytest.raises(InputError, match="mode"):
        exposure(10, 100, "repeat")


def test_split_records_exposure(order, meta):
    s = make_split(SplitConfig(protocol="random", n_total=1000, exposure="exact"), 70, names=order, meta=meta)
    assert s.exposure_a == s.exposure_b == Exposure(copies=14, samples=1000, mode="exact", n=70, n_total=1000, extra=20)


# ---------------------------------------------------------------------------------------------
# bad input and the artifact


def test_name_missing_from_metadata(order, meta):
    with pytest.raises(InputError, match="nothere.jpg"):
        make_split(SplitConfig(protocol="random"), 10, names=order + ["nothere.jpg"], meta=meta)


def test_name_twice_in_order(order, meta):
    with pytest.raises(InputError, match=f"{order[5]} listed twice"):
        make_split(SplitConfig(protocol="random"), 10, names=order + [order[5]], meta=meta)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_n(order, n):
    with pytest.raises(InputError, match="N must be an integer"):
        make_split(SplitConfig(protocol="random"), n, names=order)


def test_artifact_round_trip(order, meta, tmp_path):
    s = make_split(SplitConfig(protocol="identity", n_total=1000, identity_tolerance=0.05), 40, names=order, meta=meta)
    path = save_split(s, tmp_path / "split.json")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    back = load_split(path)
    assert back.to_dict() == s.to_dict()
    data = json.loads(path.read_text())
    assert data["names_a"] == list(s.names_a) and data["capped"] is False
    back.check_order(order)
    with pytest.raises(InputError, match="order_sha256"):
        back.check_order(order[::-1])
    data["config_hash"] = "0" * 16
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="bad.json.*config_hash"):
        load_split(tmp_path / "bad.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InputError, match="junk.json"):
        load_split(tmp_path / "junk.json")


def test_seeded_order_matches_dataset_rule(meta):
    from studies.config import DataConfig
    from studies.data.dataset import _order
    from studies.data.splits import seeded_order

    for seed in (0, 5, None):
        assert seeded_order(meta.filenames, seed) == _order(DataConfig(order_seed=seed), meta.filenames, meta.index, None)
