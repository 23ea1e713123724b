"""Dataset artifacts: a CelebA-layout folder -> ``images.npy`` (float32, N x C x R x R) plus
``manifest.json`` (config, ordered names, sha256 of the tensor, source, order, skipped files, dedup),
cached under ``cache_root()/datasets/<hash>``; a source with its own held-out images (Fashion-MNIST's
10,000 test images) adds ``heldout.npy`` and its record under ``heldout``.

The cache key is the DataConfig plus what else decides the content: the source folder (its path for
real CelebA, and the SHA-256 of its metadata files; for Fashion-MNIST and a user's images the SHA-256
of their content only, never where they lie), the order file's content and ``skip_bad``. The
images stream into a memory-mapped file inside the artifact's temporary folder, which is renamed into
place only when complete; a second build finds it. ``sha256sums.json`` holds the SHA-256 of every
other file (tensor and manifest: names, config, source), so an artifact with any byte changed, or
written before the manifest was hashed, is rebuilt with a message naming the file, never used."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from filelock import FileLock

from ..cache import CHECKSUMS_FILE, atomic_dir, cache_root, sha256_file, verify_checksums, write_checksums
from ..config import DataConfig, SynthConfig, config_hash, from_dict, to_dict
from ..errors import ArtifactError, InputError
from .celeba import ATTR_FILE, IDENTITY_FILE, IMAGE_DIR, _first, read_metadata, read_order
from .images import preprocess_files

log = logging.getLogger("memgen.data")

IMAGES_FILE = "images.npy"
HELDOUT_FILE = "heldout.npy"  # a source's own held-out images (Fashion-MNIST's 10,000 test images)
MANIFEST_FILE = "manifest.json"
FORMAT = 1
# sources whose pixels do not come from a CelebA-layout JPEG folder; their metadata folder is written
# by memgen into the cache and identified by the content hashes in the source record, not its path
OTHER_SOURCES = ("fashion", "array")
# where a source's files lie, not what they hold: left out of the cache key of OTHER_SOURCES, whose
# records carry the content's SHA-256 (the same Fashion-MNIST files in another folder are the same data)
LOCATION_FIELDS = ("folder", "fashion_dir", "input", "labels")


@dataclass(frozen=True, eq=False)
class Dataset:
    images: torch.Tensor  # float32 (N, C, R, R) in [0, 1]
    names: list[str]  # filenames in dataset order
    manifest: dict
    path: Path  # artifact folder
    meta_dir: Path  # folder holding the attribute and identity files
    # the source's own held-out images (float32, like ``images``): Fashion-MNIST's 10,000 test
    # images; None where the held-out set of a model is the other group's training images
    heldout: Optional[torch.Tensor] = None

    @property
    def config(self) -> DataConfig:
        return from_dict(DataConfig, self.manifest["config"])


def synthetic_dir(cfg: SynthConfig) -> Path:
    """The synthetic CelebA-layout folder of ``cfg``, generated into the cache on first use."""
    from .synth import CONFIG_FILE, generate

    folder = cache_root() / "synth" / config_hash(cfg)
    with FileLock(str(folder) + ".lock"):
        if not (folder / CONFIG_FILE).is_file():
            log.info("generating synthetic faces %s into %s", config_hash(cfg), folder)
            if folder.exists():  # an unfinished folder cannot exist (atomic), but a foreign one might
                raise ArtifactError(f"{folder}: exists without {CONFIG_FILE}; remove it to regenerate")
            generate(folder, cfg)
    return folder


def _source(cfg: DataConfig, celeba_dir) -> dict:
    if cfg.source in OTHER_SOURCES:  # Fashion-MNIST, a user's array or image folder: studies.data.sources
        from .sources import source_info

        return source_info(cfg, celeba_dir)
    if cfg.source == "synthetic":
        if celeba_dir is not None:
            raise InputError("DataConfig.source is 'synthetic' but a CelebA folder was given; use source='celeba'")
        if cfg.synth is None:
            raise InputError("DataConfig.source 'synthetic' needs DataConfig.synth (a SynthConfig)")
        folder = synthetic_dir(cfg.synth)
    else:
        if celeba_dir is None:
            raise InputError("DataConfig.source is 'celeba': pass the CelebA folder (memgen data build --celeba DIR)")
        folder = Path(celeba_dir).expanduser().resolve()
        if not folder.is_dir():
            raise InputError(f"{folder}: CelebA folder not found")
    for name in (ATTR_FILE, IDENTITY_FILE):
        if not (folder / name).is_file():
            raise InputError(f"{folder}: {name} not found (expected the CelebA layout: {IMAGE_DIR}/, {ATTR_FILE}, {IDENTITY_FILE})")
    if not (folder / IMAGE_DIR).is_dir():
        raise InputError(f"{folder}: image folder {IMAGE_DIR}/ not found")
    source = {
        "kind": cfg.source,
        "folder": str(folder),
        "meta_sha256": {name: sha256_file(folder / name) for name in (ATTR_FILE, IDENTITY_FILE)},
    }
    if cfg.source == "celeba":
        # a user's folder can change under the same names: an image replaced, re-encoded or
        # truncated must give another artifact, not the stale cached one (synthetic folders are
        # written once by memgen and identified by their config)
        source["images_stat_sha256"] = image_folder_fingerprint(folder / IMAGE_DIR)
    return source


def image_folder_fingerprint(folder: Path) -> str:
    """SHA-256 over (name, size, mtime in ns) of every file in ``folder``, sorted by name: what
    ``make`` trusts, ~0.5 s for CelebA's 202,599 files where hashing 1.4 GB of JPEG would take
    seconds more on every build."""
    h = hashlib.sha256()
    rows = []
    with os.scandir(folder) as it:
        for e in it:
            try:
                if e.is_file():
                    st = e.stat()
                    rows.append((e.name, st.st_size, st.st_mtime_ns))
            except OSError as exc:  # a symlink loop or a file that vanished: named, not a traceback
                raise InputError(f"{Path(folder) / e.name}: cannot be read ({exc.strerror or exc})") from None
    rows.sort()
    for name, size, mtime in rows:
        h.update(f"{name}\t{size}\t{mtime}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def dataset_key(cfg: DataConfig, source: dict, order_sha: Optional[str], skip_bad: bool) -> str:
    """Hash of everything that decides an artifact's content: the folder path only for real CelebA
    (synthetic folders are identified by their config; Fashion-MNIST and a user's images by the
    SHA-256 of their content, so the same files in another folder give the same key)."""
    kind = source["kind"]
    src = {k: v for k, v in source.items() if not ((k == "folder" and kind == "synthetic") or (k in LOCATION_FIELDS and kind in OTHER_SOURCES))}
    return config_hash({"format": FORMAT, "config": cfg, "source": src, "order_sha256": order_sha, "skip_bad": skip_bad})


def build_dataset(cfg: DataConfig, celeba_dir=None, *, order_file=None, skip_bad: bool = False) -> Dataset:
    """Build the dataset artifact of ``cfg`` (or return the cached one, verified)."""
    source = _source(cfg, celeba_dir)
    order_sha = None
    if order_file is not None:
        order_file = Path(order_file)
        if not order_file.is_file():
            raise InputError(f"{order_file}: order file not found")
        order_sha = sha256_file(order_file)
    key = dataset_key(cfg, source, order_sha, skip_bad)
    path = cache_root() / "datasets" / key
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                ds = load_dataset(path)
                log.info("dataset cache hit: %s", path)
                return ds
            except ArtifactError as exc:
                log.warning("dataset artifact %s failed verification (%s); rebuilding", path, exc)
        _build(path, key, cfg, source, order_file, order_sha, skip_bad)
    return load_dataset(path)


def _order(cfg: DataConfig, filenames: list[str], known: dict, order_file: Optional[Path]) -> list[str]:
    if order_file is not None:
        return read_order(order_file, known=known)
    names = sorted(filenames)
    if cfg.order_seed is None:
        return names
    perm = np.random.default_rng(cfg.order_seed).permutation(len(names))
    return [names[i] for i in perm]


def _compact(tmp: Path, arr: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Rewrite images.npy with only the rows of ``keep``, streaming in chunks."""
    out_path = tmp / (IMAGES_FILE + ".compact")
    out = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=(int(keep.size),) + arr.shape[1:])
    for lo in range(0, keep.size, 4096):
        out[lo : lo + 4096] = arr[keep[lo : lo + 4096]]
    out.flush()
    del out
    os.replace(out_path, tmp / IMAGES_FILE)
    return np.load(tmp / IMAGES_FILE, mmap_mode="r")


def _build(path: Path, key: str, cfg: DataConfig, source: dict, order_file, order_sha, skip_bad: bool) -> None:
    folder = Path(source["folder"])
    meta = read_metadata(folder)
    names = _order(cfg, meta.filenames, meta.index, order_file)
    if cfg.limit is not None:
        names = names[: cfg.limit]
    present = set(os.listdir(folder / IMAGE_DIR)) if source["kind"] not in OTHER_SOURCES else set(names)
    missing = [n for n in names if n not in present]
    if missing:
        raise InputError(f"{folder / IMAGE_DIR}: {len(missing)} image(s) named in the metadata/order are missing: {_first(missing)}")
    channels = 1 if cfg.grayscale else 3
    log.info("building dataset %s: %d images at %dx%d from %s", key, len(names), cfg.resolution, cfg.resolution, folder)
    with atomic_dir(path) as tmp:
        arr = np.lib.format.open_memmap(tmp / IMAGES_FILE, mode="w+", dtype=np.float32, shape=(len(names), channels, cfg.resolution, cfg.resolution))
        if source["kind"] in OTHER_SOURCES:
            from .sources import fill_images

            kept_arr, skipped = fill_images(cfg, source, names, arr), []
        else:
            kept_arr, skipped = preprocess_files([folder / IMAGE_DIR / n for n in names], cfg.resolution, grayscale=cfg.grayscale, out=arr, skip_bad=skip_bad)
        arr.flush()
        skipped_names = {Path(p).name for p, _ in skipped}
        kept_names = [n for n in names if n not in skipped_names]
        if names and not kept_names:  # an empty dataset is not a result: say why instead
            raise InputError(f"{folder / IMAGE_DIR}: all {len(names)} image(s) are unreadable (--skip-bad left none); first: {skipped[0][0]}: {skipped[0][1]}")
        if skipped:
            log.warning("skipped %d unreadable image(s): %s", len(skipped), _first(sorted(skipped_names)))
            del kept_arr
            arr = _compact(tmp, arr, np.arange(len(kept_names)))
        dedup = None
        if cfg.dedup is not None:
            from .dedup import remove_duplicates  # the dedup module is only needed when asked for

            removed = np.asarray(remove_duplicates(np.asarray(arr[: len(kept_names)]), method=cfg.dedup, threshold=cfg.dedup_threshold), dtype=np.int64)
            keep = np.setdiff1d(np.arange(len(kept_names)), removed)
            dedup = {"method": cfg.dedup, "threshold": cfg.dedup_threshold, "removed": [kept_names[i] for i in removed.tolist()]}
            kept_names = [kept_names[i] for i in keep.tolist()]
            arr = _compact(tmp, arr, keep)
        shape = [len(kept_names), channels, cfg.resolution, cfg.resolution]
        del arr
        manifest = {
            "format": FORMAT,
            "config": to_dict(cfg),
            "config_hash": key,
            "names": kept_names,
            "shape": shape,
            "dtype": "float32",
            "sha256": sha256_file(tmp / IMAGES_FILE),
            "source": source,
            "order": {"file": None if order_file is None else str(Path(order_file).resolve()), "sha256": order_sha, "seed": cfg.order_seed if order_file is None else None},
            "skipped": [{"name": Path(p).name, "reason": r} for p, r in skipped],
            "dedup": dedup,
        }
        if source["kind"] in OTHER_SOURCES:
            from .sources import fill_heldout

            heldout = fill_heldout(cfg, source, tmp / HELDOUT_FILE)
            if heldout is not None:
                manifest["heldout"] = dict(heldout, file=HELDOUT_FILE, sha256=sha256_file(tmp / HELDOUT_FILE))
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        # last: the hash of every file, the manifest (names, config, source) included
        write_checksums(tmp)


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Load an artifact folder after checking every file of it (tensor, manifest) against its
    ``sha256sums.json``; an artifact without that list (written before the manifest was hashed)
    fails verification too, so ``build_dataset`` rebuilds it rather than trust its names."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"artifact {path}: not a folder")
    if not (path / MANIFEST_FILE).exists() and not (path / CHECKSUMS_FILE).exists():
        raise ArtifactError(f"{path}: not a dataset artifact (no {MANIFEST_FILE}, no {CHECKSUMS_FILE})")
    sums = verify_checksums(path)
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} is not valid JSON ({exc})") from None
    needed = ("config", "names", "sha256", "shape", "source")
    if not isinstance(manifest, dict) or any(k not in manifest for k in needed):
        raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} lacks one of {needed}")
    if not isinstance(manifest["names"], list) or not isinstance(manifest["sha256"], str) or not isinstance(manifest["source"], dict):
        raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} has a malformed names, sha256 or source field")
    if sums.get(IMAGES_FILE) != manifest["sha256"]:  # both verified above; they must also agree
        raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} records sha256 {manifest['sha256'][:16]}... for {IMAGES_FILE}, {CHECKSUMS_FILE} {str(sums.get(IMAGES_FILE))[:16]}...")
    try:
        images = np.load(path / IMAGES_FILE, allow_pickle=False)
    except ValueError as exc:
        raise ArtifactError(f"artifact {path}: {IMAGES_FILE} unreadable ({exc})") from None
    if list(images.shape) != list(manifest["shape"]) or images.dtype != np.float32 or len(manifest["names"]) != images.shape[0]:
        raise ArtifactError(f"artifact {path}: tensor {images.shape} {images.dtype} does not match the manifest {manifest['shape']} / {len(manifest['names'])} names")
    heldout = None
    if manifest.get("heldout") is not None:
        info = manifest["heldout"]
        if not isinstance(info, dict) or sums.get(HELDOUT_FILE) is None or sums.get(HELDOUT_FILE) != info.get("sha256"):
            raise ArtifactError(f"artifact {path}: {MANIFEST_FILE} names held-out images whose {HELDOUT_FILE} is missing or differs from its recorded sha256")
        held = np.load(path / HELDOUT_FILE, allow_pickle=False)
        if list(held.shape) != list(info.get("shape", [])) or held.dtype != np.float32 or held.shape[1:] != images.shape[1:]:
            raise ArtifactError(f"artifact {path}: {HELDOUT_FILE} {held.shape} {held.dtype} does not match the manifest {info.get('shape')} or the images")
        heldout = torch.from_numpy(held)
    return Dataset(images=torch.from_numpy(images), names=list(manifest["names"]), manifest=manifest, path=path,
                   meta_dir=Path(manifest["source"]["folder"]), heldout=heldout)
