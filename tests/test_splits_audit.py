"""The split audit (studies.data.audit) and ``memgen split make/audit``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from studies.cli import main
from studies.data.audit import audit, content_overlap, read_group
from studies.data.celeba import read_metadata
from studies.errors import InputError

ATTRS = [f"Attr{k}" for k in range(38)] + ["Eyeglasses", "Male"]
BASE_KEYS = {"n_a", "n_b", "overlap_names", "shared_identities", "frac_b_identity_in_a", "frac_a_identity_in_b"}


def write_meta(folder: Path, identity, values) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(identity))]
    rows = [f"{n} " + " ".join(f"{v:2d}" for v in row) for n, row in zip(names, np.asarray(values).tolist())]
    (folder / "list_attr_celeba.txt").write_text(f"{len(names)}\n" + " ".join(ATTRS) + "\n" + "\n".join(rows) + "\n")
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} {i}\r\n" for n, i in zip(names, list(identity))))
    return names


@pytest.fixture()
def small(tmp_path):
    # 8 images: identities 1,1,2,2,3,3,4,4; Male on images 1..4 (one per identity on 1 and 2)
    identity = [1, 1, 2, 2, 3, 3, 4, 4]
    values = -np.ones((8, 40), dtype=np.int8)
    values[[0, 1, 2, 4], ATTRS.index("Male")] = 1
    names = write_meta(tmp_path / "meta", identity, values)
    return tmp_path / "meta", names


def test_audit_keys_and_values(small):
    meta_dir, names = small
    meta = read_metadata(meta_dir)
    # A = images 1, 3, 5 (identities 1, 2, 3); B = 2, 7, 8 (identities 1, 4, 4)
    a = [names[0], names[2], names[4]]
    b = [names[1], names[6], names[7]]
    rep = audit(a, b, meta, attribute="Male")
    assert set(rep) == BASE_KEYS | {"attribute"}
    assert rep["n_a"] == 3 and rep["n_b"] == 3 and rep["overlap_names"] == 0
    assert rep["shared_identities"] == 1
    assert rep["frac_b_identity_in_a"] == pytest.approx(1 / 3)
    assert rep["frac_a_identity_in_b"] == pytest.approx(1 / 3)
    assert rep["attribute"] == {"name": "Male", "purity_a": 1.0, "purity_b": pytest.approx(2 / 3), "positives_a": 3, "positives_b": 1}
    assert set(audit(a, [names[0]], meta)) == BASE_KEYS
    assert audit(a, [names[0]], meta)["overlap_names"] == 1


def test_audit_bad_inputs(small):
    meta_dir, names = small
    meta = read_metadata(meta_dir)
    with pytest.raises(InputError, match="ghost.jpg"):
        audit([names[0], "ghost.jpg"], [names[1]], meta)
    with pytest.raises(InputError, match=f"group B: name {names[1]} listed twice"):
        audit([names[0]], [names[1], names[1]], meta)
    with pytest.raises(InputError, match=r"'Smiling'.*Male"):
        audit([names[0]], [names[1]], meta, attribute="Smiling")


def test_content_overlap_counts_identical_pixels():
    rng = np.random.default_rng(0)
    a = rng.random((5, 1, 4, 4)).astype(np.float32)
    b = np.concatenate([a[[1, 3]], rng.random((3, 1, 4, 4)).astype(np.float32)])
    assert content_overlap(a, b) == 2
    b[0, 0, 0, 0] += 1e-3  # one changed pixel is not identical content
    assert content_overlap(a, b) == 1


def test_audit_with_images_uses_dedup_engine(small):
    pytest.importorskip("studies.data.dedup")
    meta_dir, names = small
    meta = read_metadata(meta_dir)
    rng = np.random.default_rng(1)
    imgs = rng.random((6, 1, 20, 20)).astype(np.float32)
    a_img = imgs[:3]
    b_img = np.stack([imgs[0], imgs[1] * 0.5 + 0.01, imgs[5]])  # identical, near-duplicate (scaled), unrelated
    rep = audit(names[:3], names[3:6], meta, images_a=a_img, images_b=b_img)
    assert rep["overlap_content"] == 1
    assert rep["near_duplicate_pairs"] == 2
    assert sorted(map(tuple, rep["near_duplicate_examples"])) == [(names[0], names[3]), (names[1], names[4])]


def test_read_group_text_and_duplicates(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("x.jpg\n\ny.jpg\r\n")
    assert read_group(p, "a") == ["x.jpg", "y.jpg"]
    p.write_text("x.jpg\ny.jpg\nx.jpg\n")
    with pytest.raises(InputError, match=r"a.txt:3: filename x.jpg repeated"):
        read_group(p, "a")
    with pytest.raises(InputError, match="not found"):
        read_group(tmp_path / "none.txt", "a")


def test_cli_make_then_audit_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(5)
    identity = rng.integers(1, 41, size=400)
    values = np.where(rng.random((400, 40)) < 0.2, 1, -1).astype(np.int8)
    meta_dir = tmp_path / "meta"
    write_meta(meta_dir, identity.tolist(), values)
    out = tmp_path / "eyeglasses.json"
    rc = main(["split", "make", "--meta", str(meta_dir), "--protocol", "attribute", "--attribute", "Eyeglasses",
               "--n", "100000", "--n-total", "1000", "--out", str(out), "--orders", str(tmp_path / "orders")])
    assert rc == 0
    made = json.loads(out.read_text())
    assert made["capped"] is True and made["n_requested"] == 100000 and made["n"] == made["available"]
    capsys.readouterr()
    rc = main(["split", "audit", "--meta", str(meta_dir), "--a", str(out), "--attribute", "Eyeglasses", "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep) == BASE_KEYS | {"attribute"}
    assert rep["n_a"] == rep["n_b"] == made["n"] and rep["overlap_names"] == 0
    assert rep["attribute"]["purity_a"] == rep["attribute"]["purity_b"] == 1.0
    assert rep["attribute"]["positives_a"] == made["n"] and rep["attribute"]["positives_b"] == 0
    # the side orders as text lists give the same audit of the whole sides
    rc = main(["split", "audit", "--meta", str(meta_dir), "--a", str(tmp_path / "orders" / "side_a.txt"),
               "--b", str(tmp_path / "orders" / "side_b.txt"), "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["n_a"] == made["n"]
    # identity split: no shared identity
    out = tmp_path / "identity.json"
    assert main(["split", "make", "--meta", str(meta_dir), "--protocol", "identity", "--n", "150", "--n-total", "1000",
                 "--identity-tolerance", "0.1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["split", "audit", "--meta", str(meta_dir), "--a", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["shared_identities"] == 0 and rep["frac_b_identity_in_a"] == 0.0


def test_cli_errors_exit_2_with_message(tmp_path, capsys):
    meta_dir = tmp_path / "meta"
    names = write_meta(meta_dir, [1, 2, 3, 4], -np.ones((4, 40), dtype=np.int8))
    (tmp_path / "a.txt").write_text(f"{names[0]}\nmissing.jpg\n")
    (tmp_path / "b.txt").write_text(f"{names[1]}\n")
    assert main(["split", "audit", "--meta", str(meta_dir), "--a", str(tmp_path / "a.txt"), "--b", str(tmp_path / "b.txt")]) == 2
    assert "missing.jpg" in capsys.readouterr().err
    (tmp_path / "a.txt").write_text(f"{names[0]}\n")
    assert main(["split", "audit", "--meta", str(meta_dir), "--a", str(tmp_path / "a.txt"), "--b", str(tmp_path / "b.txt"),
                 "--attribute", "Nope"]) == 2
    err = capsys.readouterr().err
    assert "'Nope'" in err and "Eyeglasses" in err
    assert main(["split", "audit", "--meta", str(meta_dir), "--a", str(tmp_path / "a.txt")]) == 2
    assert "--b is required" in capsys.readouterr().err
    assert main(["split", "make", "--meta", str(meta_dir), "--protocol", "random", "--n", "5", "--strict",
                 "--n-total", "10", "--out", str(tmp_path / "s.json")]) == 2
    assert "N=5 requested, at most 2" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_cli_audit_with_dataset_artifact(tmp_path, capsys):
    pytest.importorskip("studies.data.dedup")
    from studies.cache import sha256_file

    meta_dir = tmp_path / "meta"
    names = write_meta(meta_dir, [1, 1, 2, 2, 3, 3], -np.ones((6, 40), dtype=np.int8))
    rng = np.random.default_rng(2)
    images = rng.random((6, 1, 20, 20)).astype(np.float32)
    images[3] = images[0]  # B's first image has A's first image's pixels
    images[4] = images[1] * 0.9  # and its second is a near-duplicate of A's second
    data = tmp_path / "dataset"
    data.mkdir()
    np.save(data / "images.npy", images)
    (data / "manifest.json").write_text(json.dumps({"names": names, "sha256": sha256_file(data / "images.npy")}))
    (tmp_path / "a.txt").write_text("\n".join(names[:3]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(names[3:]) + "\n")
    argv = ["split", "audit", "--meta", str(meta_dir), "--a", str(tmp_path / "a.txt"), "--b", str(tmp_path / "b.txt"),
            "--data", str(data), "--json"]
    assert main(argv) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["overlap_content"] == 1 and rep["near_duplicate_pairs"] == 2
    assert rep["shared_identities"] == 1 and rep["frac_b_identity_in_a"] == pytest.approx(1 / 3)
    # a tampered tensor is refused by its hash
    np.save(data / "images.npy", images * 2)
    assert main(argv) == 2
    assert "images.npy" in capsys.readouterr().err
