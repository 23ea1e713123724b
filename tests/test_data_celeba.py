"""CelebA metadata reader: attribute parsing and repair, identities, cross-checks, order files, facts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies.data.celeba import (
    default_meta_dir,
    read_attributes,
    read_identities,
    read_metadata,
    read_order,
    write_order,
)
from studies.data.facts import compute_facts
from studies.errors import InputError

NAMES = ["Eyeglasses", "Male", "Smiling", "Young", "Bald"]


def _attr_text(values: np.ndarray, names=NAMES, eol="\n") -> str:
    rows = [f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in row) for i, row in enumerate(values)]
    return eol.join([str(len(rows)), " ".join(names) + " ", *rows]) + eol


def _values(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(n, len(NAMES)))


def test_parses_valid_file(tmp_path):
    vals = _values(7)
    (tmp_path / "a.txt").write_text(_attr_text(vals))
    a = read_attributes(tmp_path / "a.txt")
    assert a.names == NAMES and a.filenames == [f"{i:06d}.jpg" for i in range(1, 8)]
    assert a.values.dtype == np.int8 and np.array_equal(a.values, vals)
    assert a.repaired_lines == []
    assert np.array_equal(a.column("Male"), vals[:, 1])
    with pytest.raises(InputError, match="unknown attribute"):
        a.column("Beard")


def test_crlf_is_read_like_lf(tmp_path):
    vals = _values(5)
    (tmp_path / "lf.txt").write_text(_attr_text(vals), newline="")
    (tmp_path / "crlf.txt").write_bytes(_attr_text(vals, eol="\r\n").encode())
    a, b = read_attributes(tmp_path / "lf.txt"), read_attributes(tmp_path / "crlf.txt")
    assert a.filenames == b.filenames and np.array_equal(a.values, b.values)


@st.composite
def broken_files(draw):
    """A valid file, and a copy where some entries are broken across 2-3 lines at random places
    between tokens or inside a value token (the kind of damage T25 reports)."""
    n = draw(st.integers(1, 12))
    vals = draw(st.lists(st.lists(st.sampled_from([-1, 1]), min_size=len(NAMES), max_size=len(NAMES)), min_size=n, max_size=n))
    vals = np.array(vals, dtype=np.int8)
    text = _attr_text(vals)
    lines = text.split("\n")
    broken_rows = draw(st.sets(st.integers(0, n - 1), max_size=n))
    for r in broken_rows:
        line = lines[2 + r]
        # break positions: after the filename's end, at any later character (never inside the name)
        name_end = line.index(" ")
        cuts = draw(st.lists(st.integers(name_end, len(line) - 1), min_size=1, max_size=2, unique=True))
        for c in sorted(cuts, reverse=True):
            line = line[:c] + "\n" + line[c:]
        lines[2 + r] = line
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return vals, "\n".join(lines).replace("\n", eol), sorted(broken_rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=broken_files())
def test_random_line_breaks_are_repaired(tmp_path, case):
    vals, text, broken_rows = case
    path = tmp_path / "attr.txt"
    path.write_bytes(text.encode())
    a = read_attributes(path)
    assert np.array_equal(a.values, vals)
    assert a.filenames == [f"{i:06d}.jpg" for i in range(1, len(vals) + 1)]
    # the line number of each repaired entry is where it begins in the broken file
    starts = [i + 1 for i, line in enumerate(text.replace("\r\n", "\n").split("\n")) if re.match(r"^\d{6}\.jpg", line)]
    assert a.repaired_lines == [starts[r] for r in broken_rows]


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("000001.jpg -1 1 1 -1 1\n000002.jpg -1 0 1 -1 1\n", 4, r"value '0' for attribute Male of 000002.jpg"),
        ("000001.jpg -1 1 1 -1 1\n000002.jpg -1 1 1 -1\n", 4, r"000002.jpg has 4 values, expected 5"),
        ("000001.jpg -1 1 1 -1 1\n000002.jpg -1 1 1 -1 1 1\n", 4, r"has 6 values"),
        ("000001.jpg -1 1 1 -1 1\n000001.jpg -1 1 1 -1 1\n", 4, r"000001.jpg repeated \(first on line 3\)"),
        ("000001.jpg -1 1 1 -1 1\n 1 -1\n", 4, r"starts with value"),
        ("000001.jpg -1 1 11 -1 1\n000002.jpg -1 1 1 -1 1\n", 3, r"value '11'"),
    ],
)
def test_unrepairable_entries_are_refused_with_line(tmp_path, body, line, message):
    path = tmp_path / "attr.txt"
    path.write_text("2\n" + " ".join(NAMES) + "\n" + body)
    with pytest.raises(InputError, match=rf"attr.txt:{line}: .*{message}"):
        read_attributes(path)


def test_row_count_must_match_line_one(tmp_path):
    path = tmp_path / "attr.txt"
    path.write_text(_attr_text(_values(3)).replace("3\n", "4\n", 1))
    with pytest.raises(InputError, match=r"attr.txt:1: line 1 says 4 entries, the file has 3"):
        read_attributes(path)


def test_non_utf8_and_missing_files_are_named(tmp_path):
    path = tmp_path / "attr.txt"
    path.write_bytes(_attr_text(_values(3)).encode() + b"000004.jpg \xff\n")
    with pytest.raises(InputError, match=r"attr.txt:6: not UTF-8"):
        read_attributes(path)
    with pytest.raises(InputError, match=r"nope.txt: file not found"):
        read_attributes(tmp_path / "nope.txt")
    with pytest.raises(InputError, match=r"attr.txt:1: expected the number of entries"):
        (tmp_path / "attr.txt").write_text("x\nA B\n")
        read_attributes(tmp_path / "attr.txt")


def _meta_dir(tmp_path: Path, n: int = 6, ids=None, extra_identity: str = "") -> Path:
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_text(_values(n)))
    ids = ids if ids is not None else [1 + i % 3 for i in range(n)]
    text = "".join(f"{i + 1:06d}.jpg {ids[i]}\r\n" for i in range(n)) + extra_identity
    (tmp_path / "identity_CelebA.txt").write_bytes(text.encode())
    return tmp_path


def test_metadata_cross_check_and_select(tmp_path):
    meta = read_metadata(_meta_dir(tmp_path))
    assert meta.identity.dtype == np.int64 and meta.identity.tolist() == [1, 2, 3, 1, 2, 3]
    ident, values = meta.select(["000005.jpg", "000001.jpg"])
    assert ident.tolist() == [2, 1]
    assert np.array_equal(values, meta.attributes.values[[4, 0]])
    with pytest.raises(InputError, match=r"2 name\(s\) not in the metadata.*x.jpg, y.jpg"):
        meta.select(["000001.jpg", "x.jpg", "y.jpg"])


def test_metadata_mismatch_is_refused(tmp_path):
    _meta_dir(tmp_path, extra_identity="000099.jpg 7\r\n")
    with pytest.raises(InputError, match=r"name\(s\) of identity_CelebA.txt missing from list_attr_celeba.txt: 000099.jpg"):
        read_metadata(tmp_path)
    (tmp_path / "identity_CelebA.txt").write_text("000001.jpg 1\n000001.jpg 2\n")
    with pytest.raises(InputError, match=r"identity_CelebA.txt:2: filename 000001.jpg repeated"):
        read_identities(tmp_path / "identity_CelebA.txt")


def test_order_file_round_trip(tmp_path):
    names = [f"{i:06d}.jpg" for i in np.random.default_rng(3).permutation(50) + 1]
    write_order(tmp_path / "order.txt", names)
    assert read_order(tmp_path / "order.txt") == names
    # blank lines and CRLF are tolerated
    (tmp_path / "o2.txt").write_bytes(("\r\n".join(names[:3]) + "\r\n\r\n").encode())
    assert read_order(tmp_path / "o2.txt") == names[:3]
    with pytest.raises(InputError, match=r"2 name\(s\) not in the data: 000001.jpg|not in the data"):
        read_order(tmp_path / "order.txt", known=set(names[2:]))
    (tmp_path / "o3.txt").write_text("a.jpg\nb.jpg\na.jpg\n")
    with pytest.raises(InputError, match=r"o3.txt:3: filename a.jpg repeated"):
        read_order(tmp_path / "o3.txt")


@pytest.mark.needs_celeba_meta
def test_facts_on_shared_metadata():
    meta = default_meta_dir()
    if meta is None:
        pytest.skip("CelebA metadata folder absent (../shared/celeba or $MEMGEN_CELEBA_META)")
    facts = compute_facts(meta)
    assert facts["images"] == 202599
    assert facts["identities"] == 10177
    assert facts["images_per_identity"]["min"] == 1 and facts["images_per_identity"]["max"] == 35
    assert facts["attributes"]["Eyeglasses"] == {"pos": 13193, "neg": 189406}
    assert facts["attributes"]["Male"] == {"pos": 84434, "neg": 118165}
    assert len(facts["attributes"]) == 40


def test_two_breaks_inside_value_tokens_are_repaired(tmp_path):
    # found by hypothesis: "-1" cut after its "-" twice in one entry; the token-count bound of the
    # repair must use the join that gives the fewest tokens
    path = tmp_path / "attr.txt"
    path.write_text("1\nEyeglasses Male Smiling Young Bald \n000001.jpg -\n1 -1 -1 -1 -\n1\n")
    attrs = read_attributes(path)
    assert attrs.filenames == ["000001.jpg"] and attrs.values.tolist() == [[-1, -1, -1, -1, -1]]
    assert attrs.repaired_lines == [3]
