"""dedup-count (T25 §3.3): "the procedure removed exactly 6,354 near-duplicates from 202,589 images,
yielding 196,235". Needs T25's real CelebA tensor (40x40 grayscale, in T25's published order): give a
dataset artifact folder (images.npy + manifest.json) or an .npy array through $MEMGEN_CELEBA. Without
it the claim is not run (a missing input is not a verdict); synthetic faces cannot say anything about this count."""

import os
from pathlib import Path

import pytest

from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.cli.dedup import load_images
from studies.data.dedup import remove_duplicates

N_PUBLISHED, REMOVED_PUBLISHED = 202_589, 6_354
ENV = "MEMGEN_CELEBA"


def _source() -> Path | None:
    value = os.environ.get(ENV)
    if not value:
        return None
    path = Path(value)
    for cand in (path, path / "images.npy"):
        if cand.suffix == ".npy" and cand.is_file() or (cand.is_dir() and (cand / "manifest.json").is_file()):
            return cand
    return None


SOURCE = _source()


@pytest.mark.claim("dedup-count")
@pytest.mark.parametrize("data", [pytest.param("celeba" if SOURCE else "no-celeba", id="celeba" if SOURCE else "no-celeba")])
def test_dedup_count(claim, data):
    claim.param(source=str(SOURCE) if SOURCE else None, threshold=0.95)
    claim.method("count of the exact engine's removed set (== the dense rule) on T25's 40x40 grayscale tensor, vs the published count (exact equality)")
    if SOURCE is None:
        claim.not_run("real CelebA images are not available (T25's 202,589 ordered images, 40x40 grayscale)",
                      f"{ENV}=PATH: a dataset artifact folder (images.npy + manifest.json, e.g. the folder printed by memgen data build --celeba DIR --res 40 --order ORDER_FILE) or an .npy array")
    images = load_images(SOURCE)
    removed = remove_duplicates(images, method="exact")
    claim.measure("images in", int(images.shape[0]), threshold=N_PUBLISHED, direction="==")
    claim.measure("images removed", int(removed.size), threshold=REMOVED_PUBLISHED, direction="==", key=True)
    if images.shape[0] != N_PUBLISHED:
        claim.conclude(INCONCLUSIVE, f"{SOURCE} holds {images.shape[0]:,} images, not T25's {N_PUBLISHED:,}: the count is not comparable")
    elif removed.size == REMOVED_PUBLISHED:
        claim.conclude(SUPPORTED, f"{removed.size:,} of {N_PUBLISHED:,} removed, as published")
    else:
        claim.conclude(REFUTED, f"{removed.size:,} of {N_PUBLISHED:,} removed, published {REMOVED_PUBLISHED:,}")
