"""dedup-equivalence (T25 §3.3 and appendix; SPEC §2): "the blockwise removal gives the identical
removed set as the dense rule". Each method is checked against the dense reference by hypothesis on
small datasets built to break it (duplicates at positions k and k + m·b, anti-correlated pairs,
chains, constant images, per-channel offsets in colour), derandomized with a fixed example budget so
the verdict is reproducible. One counterexample refutes; the shrunk one is shown in the report."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from studies.claims.verdict import REFUTED, SUPPORTED
from studies.data.dedup import first_disagreement, remove_duplicates, witness
from studies.data.dedup_cases import dedup_cases

MAX_EXAMPLES = 120
CASES = [
    pytest.param(method, block, colour, id=f"{method}-b{block}-{colour}")
    for method in ("exact", "blockwise_published", "blockwise_repository")
    for block in (1, 4)
    for colour in ("gray", "colour")
]


def _search(method: str, block: int, channels: int):
    """Run the property; return (examples tried, the final (shrunk) failing case or None)."""
    seen = {"n": 0, "fail": None}

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(case=dedup_cases(channels=channels, block=block))
    def agrees_with_dense(case):
        seen["n"] += 1
        got = remove_duplicates(case.images, method=method, block=block)
        want = remove_duplicates(case.images, method="dense")
        if got.tolist() != want.tolist():
            seen["fail"] = (case, got, want)  # hypothesis replays the shrunk example last
            raise AssertionError(case.describe())

    try:
        agrees_with_dense()
    except AssertionError:
        pass
    return seen["n"], seen["fail"]


@pytest.mark.claim("dedup-equivalence")
@pytest.mark.parametrize("method, block, colour", CASES)
def test_dedup_equivalence(claim, method, block, colour):
    channels = 3 if colour == "colour" else 1
    claim.param(method=method, block=block, channels=channels, max_examples=MAX_EXAMPLES)
    claim.method(
        f"hypothesis property search (derandomize=True, {MAX_EXAMPLES} examples, then shrinking): removed index sets of "
        f"{method} (block {block}) vs the dense rule (SPEC §2) on adversarial datasets; one disagreement refutes"
    )
    tried, fail = _search(method, block, channels)
    claim.measure("examples tried", tried)
    if fail is None:
        claim.measure("disagreements", 0, threshold=0, direction="==", key=True)
        claim.conclude(SUPPORTED, f"{method} agreed with dense on all {tried} generated datasets (block {block}, {colour})")
        return
    case, got, want = fail
    claim.measure("disagreements", 1, threshold=0, direction="==", key=True)
    i = first_disagreement(got, want)
    w = witness(case.images, i)
    claim.note(f"shrunk counterexample: {case.describe()}")
    claim.table(
        "shrunk counterexample",
        ["quantity", "value"],
        [
            ["dataset", case.describe()],
            ["dense removes", str(want.tolist())],
            [f"{method} removes", str(got.tolist())],
            ["first disagreement", f"image {i}"],
            ["dense pair", "none" if w is None else f"({w[0]}, {i}), corr {w[1]:+.4f}; local indices {w[0] % block}, {i % block} in blocks of {block}"],
        ],
    )
    claim.conclude(REFUTED, f"{method} (block {block}, {colour}) disagrees with dense on image {i}: {case.describe()}")
