"""Shared by the bad-input test modules: a cache snapshot (nothing in the cache may change when
bad input is refused), running the CLI in-process with its exit code and stderr, and a small sample of
real CelebA metadata lines (the first six entries of list_attr_celeba.txt and identity_CelebA.txt,
embedded so that no test depends on the metadata folder being present)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from studies.cli import main

ATTR_HEADER = "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young "
ATTR_LINES = [
    "000001.jpg -1  1  1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1  1  1 -1  1 -1 -1  1 -1 -1  1 -1 -1 -1  1  1 -1  1 -1  1 -1 -1  1",
    "000002.jpg -1 -1 -1  1 -1 -1 -1  1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1  1 -1  1 -1 -1  1 -1 -1 -1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1  1",
    "000003.jpg -1 -1 -1 -1 -1 -1  1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1  1  1 -1 -1  1 -1 -1 -1 -1 -1  1 -1 -1 -1 -1 -1  1",
    "000004.jpg -1 -1  1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1  1 -1 -1 -1 -1  1 -1  1 -1  1  1 -1  1",
    "000005.jpg -1  1  1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1 -1 -1  1  1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1  1",
    "000006.jpg -1  1  1 -1 -1 -1  1 -1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1  1 -1 -1  1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1 -1  1  1 -1  1 -1 -1  1",
]
IDENTITY_LINES = [
    "000001.jpg 2880",
    "000002.jpg 2937",
    "000003.jpg 8692",
    "000004.jpg 5805",
    "000005.jpg 9295",
    "000006.jpg 4153",
]


def attr_text(lines=None, count=None, header=ATTR_HEADER, eol="\n") -> str:
    lines = ATTR_LINES if lines is None else lines
    return eol.join([str(len(lines) if count is None else count), header, *lines]) + eol


def identity_text(lines=None, eol="\r\n") -> str:  # the distributed file has CRLF line ends
    lines = IDENTITY_LINES if lines is None else lines
    return "".join(line + eol for line in lines)


def write_meta(folder: Path, attr: str | bytes | None = None, ident: str | bytes | None = None) -> Path:
    """A CelebA metadata folder of the embedded sample, with either file replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("list_attr_celeba.txt", attr if attr is not None else attr_text()),
                       ("identity_CelebA.txt", ident if ident is not None else identity_text())):
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (lock files aside) with its SHA-256."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and stderr of ``memgen ARGV`` run in this process; any exception other than a
    clean exit propagates, so a traceback fails the test."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    return rc, capsys.readouterr().err


class CacheWatch:
    """A populated MEMGEN_CACHE and its snapshot taken before the bad input was tried."""

    def __init__(self, root: Path):
        self.root = root
        self.before = snapshot(root)

    def assert_unchanged(self) -> None:
        after = snapshot(self.root)
        added = sorted(set(after) - set(self.before))
        removed = sorted(set(self.before) - set(after))
        changed = sorted(k for k in set(after) & set(self.before) if after[k] != self.before[k])
        assert not (added or removed or changed), f"cache changed: added {added[:5]}, removed {removed[:5]}, changed {changed[:5]}"


def populated_cache(tmp_path_factory) -> Path:
    """A cache holding one small real dataset artifact (and its synthetic source folder)."""
    from studies.config import DataConfig, SynthConfig
    from studies.data.dataset import build_dataset

    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMGEN_CACHE", str(root))
        build_dataset(DataConfig(source="synthetic", resolution=20, synth=SynthConfig(identities=3, seed=0), limit=6))
    return root


# the fixtures every bad-input table uses (imported by name into each module): a cache filled once per
# module with real artifacts, and a watch that fails the test if a refused input changed anything in it
@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    return populated_cache(tmp_path_factory)


@pytest.fixture()
def cache(filled, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(filled))
    watch = CacheWatch(filled)
    yield watch
    watch.assert_unchanged()
