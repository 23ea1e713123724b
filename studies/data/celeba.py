"""Reader of a CelebA-layout folder: attribute and identity metadata, order files, aligned JPEGs.

The attribute file (``list_attr_celeba.txt``) is line 1 = number of entries, line 2 = attribute
names, then ``filename v1 .. vK`` with every v in {-1, 1}. A distributed copy of it had entries broken
across two lines (T25): the reader joins such fragments back into one entry and records where, and
refuses, with the file name and line number, what it cannot repair. The well-formed bulk is parsed
on bytes with numpy (26 MB, 8 million tokens) so that only the error path walks tokens in Python."""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from ..cache import atomic_write_text
from ..errors import InputError
from .images import load_image  # noqa: F401  (public API of the reader, see docs/CONTRACTS.md)

ATTR_FILE = "list_attr_celeba.txt"
IDENTITY_FILE = "identity_CelebA.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIR = "img_align_celeba"
# a metadata folder memgen writes for data that has no identities holds this file instead of IDENTITY_FILE
NO_IDENTITY_MARK = "NO_IDENTITIES"
META_ENV = "MEMGEN_CELEBA_META"

# how many following lines a broken entry may have been spread over
_MAX_FRAGMENTS = 4
# how many offending names an error message lists
_SHOW = 5


def default_meta_dir() -> Optional[Path]:
    """The CelebA metadata folder: ``$MEMGEN_CELEBA_META``, else ``<repo>/../shared/celeba``; None if absent."""
    env = os.environ.get(META_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        path = Path(__file__).resolve().parents[2].parent / "shared" / "celeba"
    return path if (path / ATTR_FILE).is_file() and (path / IDENTITY_FILE).is_file() else None


# whitespace (or other control characters) other than space, tab and the line feed
_ODD_SPACE = re.compile(r"[^\S \t\n]|[\x00-\x08\x0b-\x1f\x7f]")
_ASCII_INT = re.compile(r"[0-9]+")
_INT64_MAX = 2**63 - 1


def parse_count(token: str) -> Optional[int]:
    """A non-negative integer written in ASCII digits that fits int64, else None: ``int()`` alone
    would take ``1_0``, Arabic-Indic digits and numbers that overflow the int64 arrays later."""
    if not _ASCII_INT.fullmatch(token):
        return None
    value = int(token)
    return value if value <= _INT64_MAX else None


def _first(names: Iterable[str], k: int = _SHOW) -> str:
    names = list(names)
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file with LF or CRLF endings; non-UTF-8 is refused with its line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    odd = _ODD_SPACE.search(text)
    if odd is not None:
        # str.split() would take NBSP, form feed or a lone CR as a separator where the value
        # checks do not: refuse it here, by line and column, instead of a confusing count later
        line = text.count("\n", 0, odd.start()) + 1
        col = odd.start() - (text.rfind("\n", 0, odd.start()) + 1) + 1
        ch = odd.group()
        raise InputError(f"{path}:{line}: character U+{ord(ch):04X} ({unicodedata.name(ch, 'control')}) at column {col}; "
                         "only spaces and tabs may separate fields")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ---------------------------------------------------------------------------------------------
# attributes


@dataclass(frozen=True, eq=False)
class Attributes:
    """Parsed attribute file: ``values[i, k]`` in {-1, 1} is attribute ``names[k]`` of ``filenames[i]``."""

    filenames: list[str]
    names: list[str]
    values: np.ndarray  # int8 (N, K)
    repaired_lines: list[int] = field(default_factory=list)  # 1-based lines where a broken entry began

    def column(self, name: str) -> np.ndarray:
        try:
            k = self.names.index(name)
        except ValueError:
            raise InputError(f"unknown attribute {name!r}; known: {', '.join(self.names)}") from None
        return self.values[:, k]


def _is_value(token: str) -> bool:
    return token == "1" or token == "-1"


def _valid_entry(text: str, n_attr: int) -> bool:
    tokens = text.split()
    return len(tokens) == n_attr + 1 and not _is_value(tokens[0]) and all(_is_value(t) for t in tokens[1:])


def _repair(lines: list[str], start: int, n_attr: int) -> Optional[tuple[str, int]]:
    """Join ``lines[start]`` with the fewest following lines (each joined by a space, or directly when
    the break fell inside a token) that make one valid entry; return it and the lines used."""
    for used in range(2, _MAX_FRAGMENTS + 1):
        parts = lines[start : start + used]
        if len(parts) < used:
            return None
        # a following line that is a complete entry on its own is not a fragment
        if any(_valid_entry(p, n_attr) for p in parts[1:]):
            return None
        for seps in itertools.product((" ", ""), repeat=used - 1):
            text = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:]))
            if _valid_entry(text, n_attr):
                return text, used
        # more fragments can only help if the joined text still lacks tokens; joining directly
        # (no separator) gives the fewest tokens any choice of separators can give
        if len("".join(parts).split()) > n_attr + 1:
            return None
    return None


def _explain_entry(path: Path, line_no: int, text: str, names: list[str]) -> InputError:
    tokens = text.split()
    if not tokens:
        return InputError(f"{path}:{line_no}: empty entry")
    if _is_value(tokens[0]):
        return InputError(f"{path}:{line_no}: entry starts with value {tokens[0]!r} instead of a filename, and no preceding fragment takes it")
    for k, tok in enumerate(tokens[1:]):
        if not _is_value(tok):
            what = f"attribute {names[k]}" if k < len(names) else f"extra value #{k + 1}"
            return InputError(f"{path}:{line_no}: value {tok!r} for {what} of {tokens[0]} is not -1 or 1")
    return InputError(
        f"{path}:{line_no}: entry {tokens[0]} has {len(tokens) - 1} values, expected {len(names)}, "
        "and joining it with the following line(s) does not repair it"
    )


def read_attributes(path: str | os.PathLike) -> Attributes:
    """Parse ``list_attr_celeba.txt``; repair entries broken across lines, refuse the rest by line."""
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2:
        raise InputError(f"{path}: expected a count line and a header line, found {len(lines)} line(s)")
    count = parse_count(lines[0].strip())
    if count is None:
        raise InputError(f"{path}:1: expected the number of entries (ASCII digits), found {lines[0][:40]!r}")
    names = lines[1].split()
    if not names:
        raise InputError(f"{path}:2: empty header, expected attribute names")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{path}:2: attribute name(s) repeated in the header: {_first(dup)}")
    n_attr = len(names)

    filenames: list[str] = []
    rests: list[str] = []
    line_of: list[int] = []  # 1-based line where each entry begins
    repaired: list[int] = []
    i, n = 2, len(lines)
    while i < n:
        line = lines[i]
        head = line.split(None, 1)
        if not head:  # blank lines carry nothing
            i += 1
            continue
        rest = head[1] if len(head) > 1 else ""
        # cheap test of a complete entry; the bytes check below validates every token
        if rest.count("1") == n_attr and not _is_value(head[0]):
            filenames.append(head[0])
            rests.append(rest)
            line_of.append(i + 1)
            i += 1
            continue
        fixed = _repair(lines, i, n_attr)
        if fixed is None:
            raise _explain_entry(path, i + 1, line, names)
        text, used = fixed
        name, rest = text.split(None, 1)
        filenames.append(name)
        rests.append(rest)
        line_of.append(i + 1)
        repaired.append(i + 1)
        i += used

    values = _parse_values(path, rests, filenames, line_of, names)

    if len(filenames) != count:
        raise InputError(f"{path}:1: line 1 says {count} entries, the file has {len(filenames)}")
    if len(set(filenames)) != len(filenames):
        seen: dict[str, int] = {}
        for name, ln in zip(filenames, line_of):
            if name in seen:
                raise InputError(f"{path}:{ln}: filename {name} repeated (first on line {seen[name]})")
            seen[name] = ln
    return Attributes(filenames=filenames, names=names, values=values, repaired_lines=repaired)


def _parse_values(path: Path, rests: list[str], filenames: list[str], line_of: list[int], names: list[str]) -> np.ndarray:
    """Values of all entries at once: every token must be exactly ``1`` or ``-1``, tokens separated by
    blanks, so a token is a ``1`` byte and its value is -1 when a ``-`` precedes it."""
    n_attr = len(names)
    if not rests:
        return np.zeros((0, n_attr), dtype=np.int8)
    lengths = np.fromiter((len(r) + 1 for r in rests), dtype=np.int64, count=len(rests))
    buf = np.frombuffer((" " + " ".join(rests) + " ").encode("ascii", "replace"), dtype=np.uint8)
    ONE, MINUS, SP, TAB = ord("1"), ord("-"), ord(" "), ord("\t")
    one = buf == ONE
    minus = buf == MINUS
    blank = (buf == SP) | (buf == TAB)
    bad = ~(one | minus | blank)
    prev_blank = np.concatenate(([True], blank[:-1]))
    next_blank = np.concatenate((blank[1:], [True]))
    prev_minus = np.concatenate(([False], minus[:-1]))
    next_one = np.concatenate((one[1:], [False]))
    bad |= minus & ~(prev_blank & next_one)
    bad |= one & ~((prev_blank | prev_minus) & next_blank)
    starts = np.concatenate(([1], 1 + np.cumsum(lengths)[:-1]))  # each rest begins after a space
    counts = np.add.reduceat(one, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    # reduceat runs each segment to the next start; the last runs to the end (one trailing space)
    wrong_count = counts != n_attr
    if bad.any() or wrong_count.any():
        rows = []
        if bad.any():
            rows.append(int(np.searchsorted(starts, np.flatnonzero(bad)[0], side="right") - 1))
        if wrong_count.any():
            rows.append(int(np.flatnonzero(wrong_count)[0]))
        r = max(0, min(rows))
        raise _explain_entry(path, line_of[r], filenames[r] + " " + rests[r], names)
    vals = np.where(prev_minus[one], -1, 1).astype(np.int8)
    return vals.reshape(len(rests), n_attr)


# ---------------------------------------------------------------------------------------------
# identities and the joined metadata


def read_identities(path: str | os.PathLike) -> dict[str, int]:
    """Parse ``identity_CelebA.txt`` (``filename identity`` per line, LF or CRLF) into filename -> identity."""
    path = Path(path)
    out: dict[str, int] = {}
    for i, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InputError(f"{path}:{i}: expected 'filename identity', found {line.strip()[:60]!r}")
        name, ident = parts
        value = parse_count(ident)
        if value is None:
            raise InputError(f"{path}:{i}: identity {ident[:40]!r} of {name} is not a non-negative integer in ASCII digits below 2**63")
        if name in out:
            raise InputError(f"{path}:{i}: filename {name} repeated")
        out[name] = value
    return out


@dataclass(frozen=True, eq=False)
class CelebAMeta:
    """Attributes and identities of one CelebA-layout folder, aligned in attribute-file order."""

    meta_dir: Path
    filenames: list[str]
    attributes: Attributes
    identity: Optional[np.ndarray]  # int64, aligned with filenames; None: the data has no identities
    index: dict[str, int]

    def indices(self, names: Sequence[str]) -> np.ndarray:
        """Positions of ``names`` in the metadata; unknown names are refused, the first few listed."""
        idx = self.index
        try:
            return np.fromiter((idx[n] for n in names), dtype=np.int64, count=len(names))
        except KeyError:
            missing = [n for n in names if n not in idx]
            raise InputError(f"{len(missing)} name(s) not in the metadata of {self.meta_dir}: {_first(missing)}") from None

    def select(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(identity, attribute values) aligned to ``names``."""
        pos = self.indices(names)
        return (None if self.identity is None else self.identity[pos]), self.attributes.values[pos]


def read_metadata(meta_dir: str | os.PathLike) -> CelebAMeta:
    """Read and cross-check the attribute and identity files of a folder. A folder written by memgen
    for data without identities (``NO_IDENTITY_MARK``: Fashion-MNIST, a user's array) has no identity
    file and gets ``identity=None``; anywhere else a missing identity file is an error."""
    meta_dir = Path(meta_dir)
    if not meta_dir.is_dir():
        raise InputError(f"{meta_dir}: CelebA metadata folder not found")
    attrs = read_attributes(meta_dir / ATTR_FILE)
    index = {name: i for i, name in enumerate(attrs.filenames)}
    if not (meta_dir / IDENTITY_FILE).exists() and (meta_dir / NO_IDENTITY_MARK).is_file():
        return CelebAMeta(meta_dir=meta_dir, filenames=attrs.filenames, attributes=attrs, identity=None, index=index)
    ids = read_identities(meta_dir / IDENTITY_FILE)
    no_identity = [n for n in attrs.filenames if n not in ids]
    no_attrs = [n for n in ids if n not in index] if len(ids) != len(index) or no_identity else []
    if no_identity or no_attrs:
        parts = []
        if no_identity:
            parts.append(f"{len(no_identity)} name(s) of {ATTR_FILE} missing from {IDENTITY_FILE}: {_first(no_identity)}")
        if no_attrs:
            parts.append(f"{len(no_attrs)} name(s) of {IDENTITY_FILE} missing from {ATTR_FILE}: {_first(no_attrs)}")
        raise InputError(f"{meta_dir}: " + "; ".join(parts))
    identity = np.fromiter((ids[n] for n in attrs.filenames), dtype=np.int64, count=len(attrs.filenames))
    return CelebAMeta(meta_dir=meta_dir, filenames=attrs.filenames, attributes=attrs, identity=identity, index=index)


# ---------------------------------------------------------------------------------------------
# order files


def read_order(path: str | os.PathLike, *, known: Optional[Iterable[str]] = None) -> list[str]:
    """Filenames of an order file, one per line (blank lines ignored). Repeated names are refused;
    with ``known``, names outside it are refused with the first few listed."""
    path = Path(path)
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, line in enumerate(_read_lines(path), start=1):
        name = line.strip()
        if not name:
            continue
        if len(name.split()) != 1:
            raise InputError(f"{path}:{i}: expected one filename per line, found {name[:60]!r}")
        if name in seen:
            raise InputError(f"{path}:{i}: filename {name} repeated (first on line {seen[name]})")
        seen[name] = i
        names.append(name)
    if not names:
        raise InputError(f"{path}: order file lists no filenames")
    if known is not None:
        known_set = known if isinstance(known, (set, frozenset, dict)) else set(known)
        missing = [n for n in names if n not in known_set]
        if missing:
            raise InputError(f"{path}: {len(missing)} name(s) not in the data: {_first(missing)}")
    return names


def write_order(path: str | os.PathLike, names: Sequence[str]) -> None:
    """Write an order file (one filename per line, LF), atomically."""
    bad = [n for n in names if not n or len(n.split()) != 1 or n.strip() != n]
    if bad:
        raise InputError(f"{path}: cannot write filename(s) with blanks: {_first(map(repr, bad))}")
    atomic_write_text(path, "".join(f"{n}\n" for n in names))
