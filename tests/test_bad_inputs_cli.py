"""Bad command-line arguments and paths: each row exits with code 2 and a message naming the
argument, file or value, before any work (nothing written, nothing in the cache changed). The
table is docs/BAD_INPUTS.md's command-line section."""

from __future__ import annotations

import re

import pytest

from bad_input_common import CacheWatch, cache, filled, populated_cache, run_cli, write_meta  # noqa: F401 (cache, filled: fixtures)


def _make(out, *extra):
    return ["split", "make", "--meta", "{meta}", "--protocol", "random", "--n", "2", "--out", out, *extra]


# (id, argv with {tmp}, {meta}, {file} placeholders, regex); {file} is an existing plain file
ROWS = [
    ("split-make-out-is-folder", _make("{tmp}"), r"--out .*: is a folder"),
    ("split-make-out-impossible", _make("/proc/nope/r.json"), r"--out /proc/nope/r\.json: cannot create /proc/nope"),
    ("split-make-out-under-file", _make("{file}/r.json"), r"exists and is not a folder"),
    ("split-make-orders-is-file", _make("{tmp}/s.json", "--orders", "{file}"), r"--orders .*: .* exists and is not a folder"),
    ("split-make-n-0", ["split", "make", "--meta", "{meta}", "--protocol", "random", "--n", "0", "--out", "{tmp}/s.json"], r"split size N must be an integer >= 1, got 0"),
    ("split-make-meta-missing", _make("{tmp}/s.json")[:3] + ["{tmp}/nometa"] + _make("{tmp}/s.json")[4:], r"nometa: CelebA metadata folder not found"),
    ("split-make-identity-tolerance-negative", _make("{tmp}/s.json", "--identity-tolerance", "-1"), r"SplitConfig\.identity_tolerance must be in \[0, 1\), got -1"),
    ("split-audit-data-is-file", ["split", "audit", "--meta", "{meta}", "--a", "{file}", "--b", "{file}", "--data", "{file}"], r"plain\.bin/manifest\.json: not found; --data needs a dataset artifact folder"),
    ("dedup-data-plain-folder", ["dedup", "--data", "{meta}"], r"meta: not a dataset artifact \(no manifest\.json, no sha256sums\.json\)"),
    ("split-audit-a-missing", ["split", "audit", "--meta", "{meta}", "--a", "{tmp}/none.txt", "--b", "{file}"], r"none\.txt: list of names not found"),
    ("zoo-root-is-file", ["zoo", "build", "--profile", "smoke", "--root", "{file}", "--dry-run"], r"zoo root: .* exists and is not a folder"),
    ("zoo-workers-0", ["zoo", "build", "--profile", "smoke", "--workers", "0", "--dry-run"], r"argument --workers: must be >= 1, got 0"),
    ("zoo-workers-word", ["zoo", "build", "--profile", "smoke", "--workers", "two"], r"argument --workers: expected an integer, got 'two'"),
    ("zoo-eval-every-0", ["zoo", "build", "--profile", "smoke", "--eval-every", "0"], r"argument --eval-every: must be >= 1, got 0"),
    ("zoo-profile-unknown", ["zoo", "build", "--profile", "nope", "--dry-run"], r"unknown profile"),
    ("model-params-kernel-0", ["model", "params", "--blocks", "2", "--kernel", "0"], r"ModelConfig\.kernel must be odd and >= 1 .*got 0"),
    ("model-params-kernel-minus-3", ["model", "params", "--blocks", "2", "--kernel", "-3"], r"ModelConfig\.kernel must be odd and >= 1 .*got -3"),
    ("model-params-kernel-2", ["model", "params", "--blocks", "2", "--kernel", "2"], r"ModelConfig\.kernel must be odd .*got 2"),
    ("model-params-blocks-0", ["model", "params", "--blocks", "0"], r"ModelConfig\.blocks must be >= 1"),
    ("model-params-resolution-odd", ["model", "params", "--blocks", "3", "--resolution", "20"], r"divisible by 8"),
    ("model-check-kernel-without-blocks", ["model", "check", "{file}", "--kernel", "5"], r"--kernel given without --blocks"),
    ("data-build-dedup-unknown", ["data", "build", "--synthetic", "--res", "24", "--dedup", "bogus"], r"DataConfig\.dedup: unknown method 'bogus'"),
    ("data-build-dedup-exact-16", ["data", "build", "--synthetic", "--res", "16", "--dedup", "exact"], r"needs resolution >= 20, got 16"),
    ("data-build-res-2", ["data", "build", "--synthetic", "--res", "2"], r"DataConfig\.resolution must be in \[4, 160\], got 2"),
    ("data-build-limit-0", ["data", "build", "--synthetic", "--res", "16", "--limit", "0"], r"DataConfig\.limit must be >= 1, got 0"),
    ("data-build-celeba-missing", ["data", "build", "--celeba", "{tmp}/nope", "--res", "16"], r"nope: CelebA folder not found"),
    ("data-build-celeba-no-images", ["data", "build", "--celeba", "{meta}", "--res", "16"], r"image folder img_align_celeba/ not found"),
    ("data-build-order-missing", ["data", "build", "--synthetic", "--res", "16", "--identities", "3", "--order", "{tmp}/o.txt"], r"o\.txt: order file not found"),
    ("data-facts-meta-missing", ["data", "facts", "--meta", "{tmp}/nometa"], r"nometa: CelebA metadata folder not found"),
    ("dedup-data-missing", ["dedup"], r"--data PATH or --fashion \[DIR\] is required"),
    ("verdict-profile-unknown", ["verdict", "--profile", "nope"], r"unknown profile 'nope'"),
    ("verdict-n-word", ["verdict", "-n", "two"], r"argument -n: invalid int value: 'two'"),
    ("unknown-option", ["data", "facts", "--frobnicate"], r"unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_cli_refuses_with_exit_2(row, tmp_path, cache, capsys):
    _, argv, pattern = row
    meta = write_meta(tmp_path / "meta")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(tmp=tmp_path, meta=meta, file=plain) for a in argv]
    rc, err = run_cli(argv, capsys)
    assert rc == 2, err
    assert re.search(pattern, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing written"


def _edit(change):
    def edit(d):
        change(d)
        return d
    return edit


# a split artifact made by memgen, then damaged: (id, change, regex); read by split audit --a
SPLIT_ROWS = [
    ("split-index-huge", _edit(lambda d: d.update(a=[10**30, 1])), r"malformed split artifact \(OverflowError"),
    ("split-a-string", _edit(lambda d: d.update(a="01")), r"a must be a JSON list, got str"),
    ("split-names-int", _edit(lambda d: d.update(names_a=5)), r"names_a must be a JSON list, got int"),
    ("split-exposure-list", _edit(lambda d: d.update(exposure_a=[1])), r"malformed split artifact \(TypeError"),
    ("split-info-list", _edit(lambda d: d.update(info=[1, 2, 3])), r"malformed split artifact \(TypeError"),
    ("split-config-seed-string", _edit(lambda d: d["config"].update(seed="1")), r"config: SplitConfig\.seed: expected int, got str '1'"),
    ("split-config-hash", _edit(lambda d: d["config"].update(seed=5)), r"config_hash .* does not match its config"),
    ("split-n-wrong", _edit(lambda d: d.update(n=3)), r"groups do not have n=3 entries"),
    ("split-not-object", lambda d: [d], r"bad\.json:1: expected one filename per line"),  # then read as a list of names
    ("split-format", _edit(lambda d: d.update(format=99)), r"split format 99"),
]


@pytest.mark.parametrize("row", SPLIT_ROWS, ids=[r[0] for r in SPLIT_ROWS])
def test_damaged_split_artifact(row, tmp_path, cache, capsys):
    import json

    _, change, pattern = row
    meta = write_meta(tmp_path / "meta")
    good = tmp_path / "s.json"
    assert run_cli(["split", "make", "--meta", meta, "--protocol", "random", "--n", "2", "--out", good], capsys)[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(change(json.loads(good.read_text()))))
    rc, err = run_cli(["split", "audit", "--meta", meta, "--a", bad], capsys)
    assert rc == 2 and str(bad) in err and re.search(pattern, err), err


@pytest.mark.parametrize("value, pattern", [
    ("{file}", r"\$MEMGEN_CACHE=.*plain\.bin exists and is not a folder"),
    ("/proc/nope", r"\$MEMGEN_CACHE=/proc/nope: cannot create /proc/nope"),
])
def test_unusable_cache_folder(value, pattern, tmp_path, monkeypatch, capsys):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    monkeypatch.setenv("MEMGEN_CACHE", value.format(file=plain))
    rc, err = run_cli(["data", "build", "--synthetic", "--res", "16"], capsys)
    assert rc == 2 and re.search(pattern, err), err
    assert plain.read_bytes() == b"x"
