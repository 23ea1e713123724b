"""Fashion-MNIST (Zalando, 2017) from Debian's ``dataset-fashion-mnist``: 60,000 training and 10,000
test images, 28x28 grayscale, 10 classes of 6,000 / 1,000 images each.

Where the four IDX files are looked for, first found wins: the folder given (``--fashion DIR``),
``$MEMGEN_FASHION_DIR``, the package's ``/usr/share/datasets/fashion-mnist``, and the copy
``scripts/setup.sh`` unpacks into ``<cache>/debian/fashion-mnist/usr/share/datasets/fashion-mnist``
when it may not install packages. Each file is checked (magic, dimensions, length) and its
decompressed content verified against ``REGISTERED`` below; Debian recompresses the upstream
``.gz`` files (their MD5s differ from the upstream README's), so the compressed bytes are not what
is registered.

For the study, the training images are a CelebA-layout metadata folder in the cache (names
``train-00000`` .. ``train-59999``, one attribute column per class and the groupings of
``GROUPINGS``, no identity file: Fashion-MNIST has no identities), so the split and audit code of
CelebA applies unchanged; the pixels come from the IDX file, not from JPEGs. The 10,000 test images
are the held-out set (``test_images``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from filelock import FileLock

from ..cache import atomic_dir, cache_root
from ..errors import MissingResourceError
from .celeba import ATTR_FILE, NO_IDENTITY_MARK
from .idx import read_idx

FASHION_ENV = "MEMGEN_FASHION_DIR"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
PACKAGE = "dataset-fashion-mnist"
SIDE = 28

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# SHA-256 of the decompressed content (header + payload) of each file, computed 2026-12-02 from
# Debian bookworm's dataset-fashion-mnist 0.0~git20200523.55506a9-1 (all), installed with apt-get
# (`zcat FILE | sha256sum`); the byte counts are 16 + 60000*784, 8 + 60000, 16 + 10000*784, 8 + 10000.
REGISTERED = {
    TRAIN_IMAGES: ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", (60_000, SIDE, SIDE)),
    TRAIN_LABELS: ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", (60_000,)),
    TEST_IMAGES: ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", (10_000, SIDE, SIDE)),
    TEST_LABELS: ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", (10_000,)),
}
PROVENANCE = "Debian bookworm dataset-fashion-mnist 0.0~git20200523.55506a9-1, SHA-256 of the decompressed files computed 2026-12-02"

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# attribute names (CelebA-style tokens) of the per-class columns of the metadata folder
CLASS_ATTRIBUTES = ("T_shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot")
# groupings of classes offered as attributes. Footwear (sandal, sneaker, ankle boot) is the one the
# fashion profiles split on: the three classes share a silhouette (wide, low, on the lower half of
# the frame) that no other class has, so "the model trained on footwear draws footwear" is a visual
# question, as eyeglasses or male is on CelebA; and 18,000 of 60,000 images (30%) keep the minority
# side large, as Male (42% of CelebA) does.
GROUPINGS = {"Footwear": (5, 7, 9)}
META_FORMAT = 1


def candidate_dirs(explicit: Optional[str | os.PathLike] = None) -> list[Path]:
    if explicit is not None:
        return [Path(explicit).expanduser()]
    out = []
    env = os.environ.get(FASHION_ENV)
    if env:
        out.append(Path(env).expanduser())
    out += [SYSTEM_DIR, cache_root() / "debian" / "fashion-mnist" / SYSTEM_DIR.relative_to("/")]
    return out


def _find(folder: Path, name: str) -> Optional[Path]:
    """``name`` or its uncompressed form (``.gz`` dropped) in ``folder``."""
    for cand in (folder / name, folder / name[: -len(".gz")]):
        if cand.is_file():
            return cand
    return None


def fashion_dir(explicit: Optional[str | os.PathLike] = None) -> Path:
    """The first folder holding all four files (gzip or plain), else a MissingResourceError naming
    the routes that install them."""
    tried = candidate_dirs(explicit)
    for folder in tried:
        if all(_find(folder, n) for n in REGISTERED):
            return folder.resolve()
    if explicit is not None:
        missing = [n for n in REGISTERED if not _find(tried[0], n)]
        raise MissingResourceError(f"{tried[0]}: Fashion-MNIST file(s) missing: {', '.join(missing)} (gzip or plain IDX)")
    raise MissingResourceError(
        "Fashion-MNIST not found in " + ", ".join(map(str, tried)) + f". Install it with `apt-get install -y {PACKAGE}` "
        f"(as root), or without root `apt-get download {PACKAGE} && dpkg -x {PACKAGE}_*.deb "
        f"{cache_root() / 'debian' / 'fashion-mnist'}` (what scripts/setup.sh does), or pass --fashion DIR / set ${FASHION_ENV}"
    )


@dataclass(frozen=True, eq=False)
class FashionMNIST:
    folder: Path
    train_images: np.ndarray  # uint8 (60000, 28, 28)
    train_labels: np.ndarray  # uint8 (60000,)
    test_images: np.ndarray  # uint8 (10000, 28, 28)
    test_labels: np.ndarray  # uint8 (10000,)
    sha256: dict  # file name -> SHA-256 of its decompressed content


def _read(folder: Path, name: str, check_hash: bool) -> tuple[np.ndarray, str]:
    sha, shape = REGISTERED[name]
    arr = read_idx(_find(folder, name), ndim=len(shape), shape=shape, sha256=sha if check_hash else None)
    return arr.data, arr.sha256


def load_fashion(explicit: Optional[str | os.PathLike] = None, *, check_hash: bool = True) -> FashionMNIST:
    """The four files, checked; labels outside 0..9 are refused by file and position."""
    folder = fashion_dir(explicit)
    parts, sums = {}, {}
    for name in REGISTERED:
        parts[name], sums[name] = _read(folder, name, check_hash)
    for name in (TRAIN_LABELS, TEST_LABELS):
        bad = np.flatnonzero(parts[name] > 9)
        if bad.size:
            from ..errors import InputError

            raise InputError(f"{_find(folder, name)}: label {int(parts[name][bad[0]])} at index {int(bad[0])} is not a class 0..9")
    return FashionMNIST(folder=folder, train_images=parts[TRAIN_IMAGES], train_labels=parts[TRAIN_LABELS],
                        test_images=parts[TEST_IMAGES], test_labels=parts[TEST_LABELS], sha256=sums)


def train_names(n: int = 60_000) -> list[str]:
    return [f"train-{i:05d}" for i in range(n)]


def test_names(n: int = 10_000) -> list[str]:
    return [f"t10k-{i:05d}" for i in range(n)]


def attribute_table(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(attribute names, int8 values in {-1, 1}) of the class columns and the groupings."""
    names = list(CLASS_ATTRIBUTES) + list(GROUPINGS)
    cols = [labels == k for k in range(len(CLASSES))] + [np.isin(labels, g) for g in GROUPINGS.values()]
    values = np.where(np.stack(cols, axis=1), 1, -1).astype(np.int8)
    return names, values


def write_attribute_file(path: Path, names: list[str], attr_names: list[str], values: np.ndarray) -> None:
    lines = [str(len(names)), " ".join(attr_names)]
    lines += [name + " " + " ".join("1" if v == 1 else "-1" for v in row) for name, row in zip(names, values.tolist())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def meta_dir(data: FashionMNIST) -> Path:
    """The CelebA-layout metadata folder of the training images (attributes only), built once into
    the cache under the training labels' hash."""
    folder = cache_root() / "fashion-meta" / f"v{META_FORMAT}-{data.sha256[TRAIN_LABELS][:16]}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ATTR_FILE).is_file():
            with atomic_dir(folder) as tmp:
                attr_names, values = attribute_table(data.train_labels)
                write_attribute_file(tmp / ATTR_FILE, train_names(len(data.train_labels)), attr_names, values)
                (tmp / NO_IDENTITY_MARK).write_text("Fashion-MNIST has no identities\n", encoding="utf-8")
    return folder


def facts(data: FashionMNIST) -> dict:
    """Counts of the data set (what ``memgen data facts --fashion`` prints)."""
    def per_class(labels):
        counts = np.bincount(labels, minlength=len(CLASSES))
        return {name: int(c) for name, c in zip(CLASSES, counts)}

    return {
        "source": str(data.folder),
        "train_images": int(data.train_images.shape[0]),
        "test_images": int(data.test_images.shape[0]),
        "resolution": list(data.train_images.shape[1:]),
        "train_per_class": per_class(data.train_labels),
        "test_per_class": per_class(data.test_labels),
        "groupings": {g: {"classes": [CLASSES[k] for k in ks], "train_pos": int(np.isin(data.train_labels, ks).sum()),
                          "train_neg": int((~np.isin(data.train_labels, ks)).sum())} for g, ks in GROUPINGS.items()},
        "sha256_decompressed": data.sha256,
        "registered": PROVENANCE,
    }


def to_float(images: np.ndarray, resolution: int = SIDE) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, R, R) in [0, 1]; other sides by PIL bicubic resize."""
    x = images.astype(np.float32) / np.float32(255.0)
    if resolution != images.shape[-1]:
        from PIL import Image

        x = np.stack([np.asarray(Image.fromarray(im).resize((resolution, resolution), Image.Resampling.BICUBIC), dtype=np.float32) / np.float32(255.0)
                      for im in images])
        x = np.clip(x, 0.0, 1.0)
    return x[:, None]


def test_images(explicit: Optional[str | os.PathLike] = None, resolution: int = SIDE) -> np.ndarray:
    """The held-out set: the 10,000 test images as float32 (N, 1, R, R)."""
    return to_float(load_fashion(explicit).test_images, resolution)


def heldout_attribute(manifest: dict, attribute: str) -> Optional[np.ndarray]:
    """Whether each held-out image of a dataset artifact (its ``manifest``) has ``attribute`` (a class
    attribute or a grouping such as Footwear), in the order of ``heldout.npy``; None when the artifact
    is not Fashion-MNIST's (no labelled held-out set). The labels come from the source's test-label
    file, checked against the registered SHA-256 values, and the test-image file must be the one the
    artifact's held-out images were made from."""
    source, held = manifest.get("source") or {}, manifest.get("heldout")
    if source.get("kind") != "fashion" or held is None:
        return None
    from ..errors import ArtifactError, InputError

    data = load_fashion(source.get("fashion_dir"))
    if data.sha256[TEST_IMAGES] != held.get("sha256_decompressed"):
        raise ArtifactError(f"{data.folder}: {TEST_IMAGES} (SHA-256 {data.sha256[TEST_IMAGES][:16]}...) is not the file this "
                            f"dataset's held-out images were made from ({str(held.get('sha256_decompressed'))[:16]}...)")
    names, values = attribute_table(data.test_labels)
    if attribute not in names:
        raise InputError(f"Fashion-MNIST has no attribute {attribute!r}; it has {', '.join(names)}")
    return values[:, names.index(attribute)] == 1
