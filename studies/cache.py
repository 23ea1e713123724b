"""Cache root, atomic writes and SHA-256 verification of artifacts.

Artifacts are written into a temporary sibling and renamed into place, so a crash never leaves a
half-written file or folder under a final name. The cache root is ``$MEMGEN_CACHE`` if set,
otherwise ``$XDG_CACHE_HOME/memgen`` (default ``~/.cache/memgen``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import ArtifactError, InputError

CACHE_ENV = "MEMGEN_CACHE"


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        root, what = Path(env).expanduser(), f"${CACHE_ENV}={env}"
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memgen"
        what = f"the cache folder {root}"
    return ensure_dir(root, what)


def ensure_dir(folder: str | os.PathLike, what: str, *, writable: bool = True) -> Path:
    """Create ``folder`` (and parents) if needed and check it is a folder (and, with ``writable``,
    that it can be written); InputError naming ``what`` otherwise (a file in the way, a read-only or
    impossible place)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{what}: {folder} exists and is not a folder") from None
    except OSError as exc:
        raise InputError(f"{what}: cannot create {folder} ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise InputError(f"{what}: {folder} is not a folder")
    if writable and not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{what}: {folder} is not writable")
    return folder


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it onto ``final`` only on success."""
    final = Path(final)
    if final.is_dir():
        raise InputError(f"{final}: is a folder; give a file name to write")
    ensure_dir(final.parent, f"cannot write {final}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as exc:
        raise InputError(f"cannot write {final}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(final: str | os.PathLike, data: bytes) -> None:
    with atomic_path(final) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(final: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(final, text.encode("utf-8"))


def atomic_write_json(final: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(final, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it onto ``final`` only on success.

    An existing ``final`` is replaced (used to rebuild a corrupted artifact)."""
    final = Path(final)
    ensure_dir(final.parent, f"cannot write {final}")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise InputError(f"cannot write {final}: {exc.strerror or exc}") from None
    try:
        yield tmp
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def verify_files(folder: str | os.PathLike, expected: dict[str, str]) -> None:
    """Check every ``name -> sha256`` of ``expected`` inside ``folder``; raise ArtifactError naming
    the first missing or mismatching file."""
    folder = Path(folder)
    for name, digest in sorted(expected.items()):
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"artifact {folder}: file {name} is missing")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactError(
                f"artifact {folder}: {name} has sha256 {actual[:16]}..., recorded {digest[:16]}... (changed since it was written)"
            )


CHECKSUMS_FILE = "sha256sums.json"


def _sums_digest(files: dict[str, str]) -> str:
    return sha256_bytes(json.dumps(files, sort_keys=True).encode("utf-8"))


def write_checksums(folder: str | os.PathLike) -> dict[str, str]:
    """Record the SHA-256 of every file of an artifact folder (its data, names and config alike) in
    ``sha256sums.json``, which also carries the hash of its own list, so that a byte changed in any
    file, the list included, is caught by ``verify_checksums``. Call it last, on the finished
    temporary folder."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS_FILE
    }
    atomic_write_json(folder / CHECKSUMS_FILE, {"files": files, "files_sha256": _sums_digest(files)})
    return files


def verify_checksums(folder: str | os.PathLike) -> dict[str, str]:
    """Check every file of an artifact folder against its ``sha256sums.json``; raise ArtifactError
    naming the file that is missing, extra or changed (or the list itself, when absent: an artifact
    written before every file was hashed)."""
    folder = Path(folder)
    sums = folder / CHECKSUMS_FILE
    try:
        record = json.loads(sums.read_text("utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"artifact {folder}: {CHECKSUMS_FILE} is missing (written by an older memgen that hashed only part of it, or incomplete)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"artifact {folder}: {CHECKSUMS_FILE} is unreadable ({exc})") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ArtifactError(f"artifact {folder}: {CHECKSUMS_FILE} does not hold a {{file: sha256}} list")
    if record.get("files_sha256") != _sums_digest(files):
        raise ArtifactError(f"artifact {folder}: {CHECKSUMS_FILE} fails its own hash (the list of hashes was changed)")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS_FILE}
    extra = sorted(present - set(files))
    if extra:
        raise ArtifactError(f"artifact {folder}: file {extra[0]} is not part of the artifact (not in {CHECKSUMS_FILE})")
    verify_files(folder, files)
    return files
