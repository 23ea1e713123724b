"""The sampler reproduces, bit for bit, the golden values recorded from it at commit c95b990
(``tests/golden/sampler.json``; cases, provenance and the recording command in
``tests/sampler_golden.py``): samples, stop steps and statuses, sigma traces, the callback's
intermediates and every noise digest. The tolerance is zero because the cached evaluations hold
these samples: a sampler change that moves one bit must bump ``EVAL_VERSION`` instead."""

import functools
import json

import pytest
import torch

from sampler_golden import CASES, GOLDEN, fingerprint, recorded_for

torch.set_num_threads(1)

RECORDED = json.loads(GOLDEN.read_text())
THIS_MACHINE = recorded_for(RECORDED, fingerprint())  # float digests are per machine (sampler_golden.fingerprint)


@functools.cache
def _run(name: str) -> dict:
    # each case runs once for both tests below
    return CASES[name]()


def _initial_digests(case: dict) -> list:
    records = [case["a"]["record"], case["b"]["record"]] if "a" in case else [case["record"]]
    return [[h["initial"] for h in r["noise_hashes"]] for r in records]


def test_golden_file_covers_every_case_and_says_where_it_came_from():
    prov = RECORDED["provenance"]
    assert prov["commit"] == "c95b990" and prov["date"] and prov["how"] and prov["platform"]
    assert sorted(RECORDED["cases"]) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_initial_noise_matches_golden(name):
    # z_0 depends on the seeds and torch's CPU generator only, not on float kernels: checked everywhere
    assert _initial_digests(_run(name)) == _initial_digests(RECORDED["cases"][name])


@pytest.mark.skipif(
    THIS_MACHINE is None,
    reason=f"no golden floats recorded on this machine ({fingerprint()}): conv and BLAS kernels round "
    "differently per CPU; record this machine's with tests/sampler_golden.py --add-platform from the recorded commit",
)
@pytest.mark.parametrize("name", sorted(CASES))
def test_sampler_matches_golden_bit_for_bit(name):
    got, want = _run(name), THIS_MACHINE["cases"][name]
    for part in sorted(set(want) | set(got)):
        assert got.get(part) == want.get(part), f"{name}: {part} differs from the c95b990 golden value"
