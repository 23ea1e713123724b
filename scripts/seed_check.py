"""Seed robustness of the smoke profile's key numbers (issue 9: thresholds measured over >= 3 seeds).

Re-trains the pairs that carry the memorization -> generalization transition (random N=10 and the
largest random and identity N) with other training and sampling seeds, and prints the numbers the
claims decide on. Usage: python scripts/seed_check.py SEED [SEED ...]   (cache: $MEMGEN_CACHE)."""

import dataclasses
import json
import sys

import numpy as np
import torch

from studies.claims.core import shift_ci
from studies.evaluate import evaluate_pair
from studies.profiles import get_profile
from studies.zoo import ModelSpec, Zoo, build_missing


def main(seeds):
    base = get_profile("smoke")
    for seed in seeds:
        prof = dataclasses.replace(base, name=f"smokeseed{seed}", train=dataclasses.replace(base.train, seed=2 * seed),
                                   sample=dataclasses.replace(base.sample, seed0=1000 * seed))
        zoo = Zoo(progress=False)
        pairs = [("random", 10), ("random", 4000), ("identity", 4000)]
        specs = [ModelSpec(prof.name, p, g, n) for p, n in pairs for g in "AB"]
        build_missing(zoo, [s for s in specs if not _has(zoo, prof, s)], workers=2, profiles={prof.name: prof})
        out = {"seed": seed}
        for p, n in pairs:
            ev = evaluate_pair(zoo.get(prof, p, "A", n), zoo.get(prof, p, "B", n), prof)
            ex, ci = shift_ci(ev.ab, ev.null)
            near = np.maximum(ev.nn_a, ev.nn_b)
            div = float(np.mean(ev.ab <= np.quantile(ev.null, 0.95)))
            out[f"{p}-N{n}"] = {"gap_db": round(ev.mean_gap(), 3), "nn_median": round(float(np.median(np.concatenate([ev.nn_a, ev.nn_b]))), 3),
                                "ab_median": round(float(np.median(ev.ab)), 3), "excess": round(ex, 3), "excess_ci": [round(v, 3) for v in ci],
                                "ab_minus_nearest_median": round(float(np.median(ev.ab - near)), 3), "diverging_share": div,
                                "test_psnr_mean": round(float(np.mean(np.concatenate([ev.test_psnr_a, ev.test_psnr_b]))), 3)}
        print(json.dumps(out), flush=True)


def _has(zoo, prof, spec):
    try:
        return zoo.has(prof, spec.protocol, spec.group, spec.n)
    except Exception:
        return False


if __name__ == "__main__":
    torch.set_num_threads(2)
    main([int(s) for s in sys.argv[1:]] or [1, 2])
