"""The published claims memgen tests (SPEC §8), each described once: its statement, where it is
made, what decides it, and what it needs of the zoo (whether it compares a protocol with the random
split, how it uses training-seed replicates). A claim test names only the id, in
``@pytest.mark.claim("<id>")``; an id that is not registered here is refused at collection. The
verdict rule of a claim is in its test module (``ClaimInfo.module``), whose docstring names the
rule of ``studies.claims.rules`` that decides it; its thresholds are in ``claims/thresholds/<id>.toml``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from .core import (ATTRIBUTE_PROTOCOLS, CONTROLS, GAUSSIAN_CONTROL, GAUSSIAN_UNET_CONTROL, HELDOUT_CONTROL, MEMORISING_CONTROL,
                   PROTOCOLS, memorising_control)

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


# how a claim uses the Profile.replicates training-seed replicates (studies.claims.core)
NO_REPLICATES = "none"  # replicate 0 only
CELL_REPLICATES = "cells"  # every replicate of each (protocol, N) cell it reads, one summary per pair (core.cell_evaluations)
WITH_RANDOM_REPLICATES = "with-random"  # each replicate of the protocol's largest-N pair with the random pair at that N
                                       # (core.replicated_with_random_reference)
REPLICATE_USES = (NO_REPLICATES, CELL_REPLICATES, WITH_RANDOM_REPLICATES)


@dataclass(frozen=True)
class ClaimInfo:
    id: str
    source: str  # where the claim is made (K24 = Kadkhodaie et al. ICLR 2024, T25 = the 2025 reproduction)
    statement: str  # the claim, in one sentence
    measurable: str  # what the test measures to decide it
    # what the claim needs of the zoo (fixtures.evaluation builds it up front):
    zoo: bool = False  # the profile's trained models; the plugin marks its tests `zoo` (`pytest -m zoo` selects them)
    compares_with_random: bool = False  # also the random split's pair at its protocol's largest N
    replicates: str = NO_REPLICATES  # one of REPLICATE_USES
    # the cases its test runs, one test per case (the plugin parametrises the test's `protocol`
    # argument with them): the protocols it applies to and its known-answer controls
    # (studies.claims.core.CONTROLS); () for a claim whose test is not run per protocol
    cases: tuple[str, ...] = ()

    @property
    def uses_replicates(self) -> bool:
        """Whether the claim judges training-seed replicates (so the run must train them)."""
        return self.replicates != NO_REPLICATES

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
    if info.replicates not in REPLICATE_USES:
        raise InputError(f"claim {info.id!r}: replicates must be one of {REPLICATE_USES}, got {info.replicates!r}")
    unknown = [c for c in info.cases if c not in PROTOCOLS and c not in CONTROLS]
    if unknown:
        raise InputError(f"claim {info.id!r}: unknown cases {unknown}; a case is a protocol of studies.claims.core.PROTOCOLS or a control of CONTROLS")
    if (info.compares_with_random or info.uses_replicates) and not info.zoo:
        raise InputError(f"claim {info.id!r}: compares_with_random and replicates are needs of the zoo: set zoo=True")
    CLAIMS[info.id] = info
    return info


def get_claim(claim_id: str) -> ClaimInfo:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise InputError(f"unknown claim id {claim_id!r}; registered ids: {', '.join(sorted(CLAIMS))}") from None


def claim_ids() -> list[str]:
    return sorted(CLAIMS)


# which cases each claim runs: where it applies (a profile without a protocol ends it not applicable,
# claims/conftest.py) and which known-answer controls it is checked on
_ATTRIBUTE_CASES = ATTRIBUTE_PROTOCOLS + tuple(memorising_control(p) for p in ATTRIBUTE_PROTOCOLS)
_IDENTITY_CASES = ("identity", memorising_control("identity"))
_GRID_CASES = PROTOCOLS + (MEMORISING_CONTROL, GAUSSIAN_CONTROL, GAUSSIAN_UNET_CONTROL)
_PERCEPTUAL_CASES = PROTOCOLS + (MEMORISING_CONTROL, HELDOUT_CONTROL)
CASES = {
    "psnr-gap": _GRID_CASES,
    "same-noise-convergence": _GRID_CASES,
    "originality": _GRID_CASES + (HELDOUT_CONTROL,),
    "memorization-small-n": PROTOCOLS + (MEMORISING_CONTROL,),
    "memorised-fraction-falls": PROTOCOLS + (MEMORISING_CONTROL, GAUSSIAN_CONTROL),
    "attribute-respected": _ATTRIBUTE_CASES,
    "attribute-weakens-convergence": _ATTRIBUTE_CASES,
    "identity-psnr-equal": _IDENTITY_CASES,
    "identity-less-stable": _IDENTITY_CASES,
    "lpips-rank-inversion": _PERCEPTUAL_CASES,
    "correlation-overstates-originality": _PERCEPTUAL_CASES,
}

_ZOO = {"zoo": True}
_CELLS = {"zoo": True, "replicates": CELL_REPLICATES}
_WITH_RANDOM = {"zoo": True, "compares_with_random": True, "replicates": WITH_RANDOM_REPLICATES}

for _id, _source, _statement, _measurable, _zoo in [
    ("dedup-equivalence", "T25 §3.3 and appendix (remove_repeats_block); K24 remove_repeats",
     "Blockwise near-duplicate removal removes exactly the images the dense rule removes, for every input.", "removed index sets, all inputs", {}),
    ("dedup-memory", "T25 §3.3",
     "Blockwise removal peaks around 2 x 5000² x 4 ≈ 400 MB (O(b²)) at b = 5000, where the dense N x N matrix needs ≈ 164 GB.", "peak bytes", {}),
    ("dedup-count", "T25 §3.3", "Duplicate removal at |corr| > 0.95 removes 6,354 of 202,589 CelebA images (196,235 left).",
     "count (real CelebA images only)", {}),
    ("celeba-facts", "T25 §2.2", "CelebA has 202,599 images of 10,177 identities (1 to 35 images each); Eyeglasses 13,193 yes / 189,406 no; Male 84,434 yes / 118,165 no.",
     "counts on real metadata", {}),
    ("unet-params", "T25 §4.1; K24 Tab. 1",
     "The bias-free UNet (K = 64, grayscale) has 366,080 / 1,825,024 / 7,659,264 / 30,993,152 parameters for 1 / 2 / 3 / 4 blocks.", "parameter count", {}),
    ("split-integrity", "T25 §3.4, §5.3; K24 code",
     "The groups A and B are disjoint; attribute splits are pure and balanced; identity splits share no identity.", "split audit", {}),
    ("psnr-gap", "K24 Fig. 1; T25 Fig. 2",
     "The train/test denoising PSNR gap shrinks as N grows and is matched (near zero) at the largest N.", "PSNR gap vs N, trend test", _CELLS),
    ("memorization-small-n", "K24 Fig. 2", "At small N, samples copy training images.", "similarity of samples to their nearest training image", _ZOO),
    ("same-noise-convergence", "K24 Fig. 2; T25 Fig. 3",
     "Models trained on disjoint sets A and B produce converging samples from the same noise as N grows.",
     "A/B sample similarity vs N, against a different-seed null", _CELLS),
    ("originality", "K24 Fig. 2", "At large N, samples are far from their nearest training image (closer to the other model's sample).",
     "nearest-training-image similarity vs A/B similarity", _CELLS),
    ("attribute-respected", "T25 §5.2", "A model trained on one side of an attribute split generates images with its own attribute.",
     "attribute classifier on samples", _ZOO),
    ("attribute-weakens-convergence", "T25 §5.2, §6.1", "A/B convergence is weaker on attribute splits than on random splits at equal N.",
     "A/B similarity, attribute split vs random", _WITH_RANDOM),
    ("identity-psnr-equal", "T25 §5.3", "Test PSNR with identity-disjoint splits is indistinguishable from splits with identity overlap.",
     "equivalence test (TOST)", _WITH_RANDOM),
    ("identity-less-stable", "T25 §5.3", "With identity-disjoint splits, A/B convergence fails for more seeds than with identity-overlapping splits.",
     "per-seed A/B similarity spread", _WITH_RANDOM),
    ("lpips-rank-inversion", "T25 §5.4", "Re-ranking correlation's top-k by LPIPS changes the nearest neighbour.", "top-1 change rate, Kendall tau", _ZOO),
    ("memorised-fraction-falls", "Gu et al. 2023; Bonnaire et al. 2025",
     "The memorised fraction F_mem (nearest / second-nearest L2 distance below 1/3) falls from ~1 at small N to ~0 at large N.",
     "F_mem per pair vs N, bootstrap CI, rank trend over pairs", _CELLS),
    ("memorisation-time-grows", "Bonnaire et al. 2025; Favero, Sclocchi, Wyart 2025",
     "The training time at which F_mem becomes appreciable grows about linearly with N, while the time at which the test loss is lowest does not depend on N.",
     "tau_mem and tau_gen vs N from snapshots along training, log-log slopes with CIs", {}),
    ("correlation-overstates-originality", "T25 §5.4, §6.3",
     "Perceptual nearest neighbours are closer than correlation suggests, so correlation overstates originality.",
     "recall of correlation top-k vs the exact LPIPS nearest neighbour", _ZOO),
]:
    register_claim(ClaimInfo(id=_id, source=_source, statement=_statement, measurable=_measurable, cases=CASES.get(_id, ()), **_zoo))
