"""The published claims memgen tests (SPEC §8). A claim test names one of these ids in its
``@pytest.mark.claim`` marker; an id that is not registered here is refused at collection."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class ClaimInfo:
    id: str
    source: str  # where the claim is made (K24 = Kadkhodaie et al. ICLR 2024, T25 = the 2025 reproduction)
    statement: str  # the claim, in one sentence
    measurable: str  # what the test measures to decide it

    @property
    def module(self) -> str:
        """The claim test's module, by convention (docs/CONTRACTS.md)."""
        return f"claims/test_{self.id.replace('-', '_')}.py"


CLAIMS: dict[str, ClaimInfo] = {}


def register_claim(info: ClaimInfo) -> ClaimInfo:
    if not _ID.match(info.id):
        raise InputError(f"claim id must be lower-case words joined by '-', got {info.id!r}")
    if info.id in CLAIMS:
        raise InputError(f"claim {info.id!r} is already registered")
    for field in ("source", "statement", "measurable"):
        if not getattr(info, field).strip():
            raise InputError(f"claim {info.id!r}: empty {field}")
    CLAIMS[info.id] = info
    return info


def get_claim(claim_id: str) -> ClaimInfo:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise InputError(f"unknown claim id {claim_id!r}; registered ids: {', '.join(sorted(CLAIMS))}") from None


def claim_ids() -> list[str]:
    return sorted(CLAIMS)


for _id, _source, _statement, _measurable in [
    ("dedup-equivalence", "T25 §3.3", "Blockwise near-duplicate removal removes exactly the images dense removal removes.", "removed index sets, all inputs"),
    ("dedup-memory", "T25 §3.3", "Blockwise removal needs peak memory O(b²), about 400 MB at b = 5000, against 164 GB for dense removal.", "peak bytes"),
    ("dedup-count", "T25 §3.3", "Near-duplicate removal removes 6,354 of 202,589 CelebA images.", "count (real CelebA images only)"),
    ("celeba-facts", "T25 §2.2", "CelebA has 202,599 images of 10,177 identities (1 to 35 images each); Eyeglasses 13,193 yes / 189,406 no; Male 84,434 yes / 118,165 no.", "counts on real metadata"),
    ("unet-params", "T25 §4.1; K24 Tab. 1", "The K24 UNet with 3 blocks has 7,659,264 parameters (and K24's table of sizes holds).", "parameter count"),
    ("split-integrity", "T25 §3.4, §5.3", "Splits are disjoint; attribute splits are pure and balanced; identity splits share no identity.", "split audit"),
    ("psnr-gap", "K24 Fig. 1; T25 Fig. 2", "The train/test denoising PSNR gap shrinks as N grows and closes at the largest N.", "PSNR gap vs N, trend test"),
    ("memorization-small-n", "K24 Fig. 2", "At small N, samples copy training images.", "similarity of samples to their nearest training image"),
    ("same-noise-convergence", "K24 Fig. 2; T25 Fig. 3", "Models trained on disjoint sets A and B produce converging samples from the same noise as N grows.", "A/B sample similarity vs N, against a different-seed null"),
    ("originality", "K24 Fig. 2", "At large N, samples are far from their nearest training image.", "nearest-training-image similarity vs A/B similarity"),
    ("attribute-respected", "T25 §5.2", "A model trained on an attribute split generates images with its own attribute.", "attribute classifier on samples"),
    ("attribute-weakens-convergence", "T25 §5.2, §6.1", "A/B convergence is weaker on attribute splits than on random splits at equal N.", "A/B similarity, attribute split vs random"),
    ("identity-psnr-equal", "T25 §5.3", "Test PSNR with identity-disjoint splits is indistinguishable from splits with identity overlap.", "equivalence test (TOST)"),
    ("identity-less-stable", "T25 §5.3", "With identity-disjoint splits, A/B convergence fails for more seeds.", "per-seed A/B similarity spread"),
    ("lpips-rank-inversion", "T25 §5.4", "Re-ranking correlation's top-k by LPIPS changes the nearest neighbour.", "top-1 change rate, Kendall tau"),
    ("memorised-fraction-falls", "Gu et al. 2023; Bonnaire et al. 2025", "The memorised fraction F_mem (nearest / second-nearest L2 distance below 1/3) falls from ~1 at small N to ~0 at large N.", "F_mem per pair vs N, bootstrap CI, rank trend over pairs"),
    ("memorisation-time-grows", "Bonnaire et al. 2025; Favero, Sclocchi, Wyart 2025", "The training time at which F_mem becomes appreciable grows about linearly with N, while the time at which the test loss is lowest does not depend on N.", "tau_mem and tau_gen vs N from snapshots along training, log-log slopes with CIs"),
    ("correlation-overstates-originality", "T25 §5.4, §6.3", "Perceptual nearest neighbours are closer than correlation suggests, so correlation overstates originality.", "recall of correlation top-k vs the exact LPIPS nearest neighbour"),
]:
    register_claim(ClaimInfo(id=_id, source=_source, statement=_statement, measurable=_measurable))
