"""Seed robustness of the smoke profile's key numbers (thresholds measured over >= 3 seeds).

Re-trains the pairs that carry the memorization -> generalization transition (random N=10 and the
largest random and identity N) with other training and sampling seeds, and prints the numbers the
claims decide on. Seed s is the profile's replicate s (``Profile.replica``: training seeds 2s and
2s + 1, sampling seeds from 1000s). ``--attributes`` checks the attribute claims' pairs instead
(eyeglasses N=300, male N=1000 and the random pairs at those N).
Usage: python scripts/seed_check.py [--attributes] SEED [SEED ...]   (cache: $MEMGEN_CACHE)."""

import dataclasses
import json
import sys

import numpy as np
import torch

from studies.claims.core import shift_ci
from studies.evaluation import evaluate_pair
from studies.profiles import get_profile
from studies.zoo import ModelSpec, Zoo, build_missing


def _widened(base, seeds):
    """The profile with room for every requested seed as a replicate (``Profile.replica``)."""
    return dataclasses.replace(base, replicates=max(base.replicates, max(seeds) + 1))


def _spec(prof, protocol, group, n):
    return ModelSpec(prof.name, protocol, group, n, prof.replicate)


def attributes(seeds):
    """attribute-respected share, attribute-weakens-convergence and same-noise excess per seed."""
    from studies.data.celeba import ATTR_FILE, read_attributes, read_metadata
    from studies.metrics.attribute_classifier import fit_attribute_classifier

    base = get_profile("smoke")
    zoo = Zoo(progress=False)
    pairs = [("eyeglasses", 300), ("random", 300), ("male", 1000), ("random", 1000)]
    wide = _widened(base, seeds)
    profs = {seed: wide.replica(seed) for seed in seeds}
    specs = [_spec(p, proto, g, n) for p in profs.values() for proto, n in pairs for g in "AB" if not _has(zoo, p, _spec(p, proto, g, n))]
    build_missing(zoo, specs, workers=2, profiles={wide.name: wide})
    classifiers = {}
    for seed, prof in profs.items():
        ev = {(p, n): evaluate_pair(zoo.get(prof, p, "A", n), zoo.get(prof, p, "B", n), prof) for p, n in pairs}
        out = {"seed": seed}
        for proto, n in (("eyeglasses", 300), ("male", 1000)):
            e, ref = ev[(proto, n)], ev[("random", n)]
            attr = prof.protocol(proto).split.attribute
            if attr not in classifiers:
                ds = zoo.dataset(prof, proto)
                _, values = read_metadata(ds.meta_dir).select(ds.names)
                labels = values[:, read_attributes(ds.meta_dir / ATTR_FILE).names.index(attr)]
                classifiers[attr] = fit_attribute_classifier(ds.images.numpy(), labels, name=attr, seed=0)
            clf = classifiers[attr]
            share = float(np.mean(np.concatenate([clf.predict(e.samples_a) == 1, clf.predict(e.samples_b) == -1])))
            ex, ci = shift_ci(e.ab, e.null)
            out[f"{proto}-N{n}"] = {"attribute_share": round(share, 3), "excess": round(ex, 3), "excess_ci": [round(v, 3) for v in ci],
                                    "random_excess": round(shift_ci(ref.ab, ref.null)[0], 3)}
        print(json.dumps(out), flush=True)


def main(seeds):
    base = get_profile("smoke")
    wide = _widened(base, seeds)
    for seed in seeds:
        prof = wide.replica(seed)
        zoo = Zoo(progress=False)
        pairs = [("random", 10), ("random", 4000), ("identity", 4000)]
        specs = [_spec(prof, p, g, n) for p, n in pairs for g in "AB"]
        build_missing(zoo, [s for s in specs if not _has(zoo, prof, s)], workers=2, profiles={wide.name: wide})
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
    args = sys.argv[1:]
    run = attributes if "--attributes" in args else main
    run([int(s) for s in args if s != "--attributes"] or [1, 2])
