"""Golden values of the K24 sampler (``studies/sample.py``): the cases, how one case is reduced to
digests, and the command that records them.

The values in ``tests/golden/sampler.json`` were recorded from the sampler as it was at commit
c95b990 (before its noise moved into ``SeedNoise``), with

    git checkout c95b990 && PYTHONPATH=. OMP_NUM_THREADS=1 python tests/sampler_golden.py --commit c95b990

and ``tests/test_sample_golden.py`` checks that today's sampler reproduces them bit for bit: samples,
stop steps and statuses, sigma traces, every noise digest (initial, stream, and the running chain
after every step), the callback's intermediates and the JSON record. Nothing here is tolerant: the
refactoring of the sampler must not change a single bit of what the cached evaluations hold.

The cases cover the batched path (chains stopping at different t and leaving the batch), one seed
alone, a small real UNet (conv and norm layers), divergence, max_T, a batch mixing diverged and
max_T chains, and the same-noise pair with both start options.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from studies.machine import cpu_model, simd_flags_sha256

GOLDEN = Path(__file__).resolve().parent / "golden" / "sampler.json"

SHAPE = (1, 8, 8)
SLOW = dict(h0=0.01, beta=0.1, sigma_0=1.0, sigma_L=0.05, max_T=2000)
FAST = dict(h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=500)


def fingerprint() -> dict:
    """What bit-identity of float results depends on besides the code: torch's build and the CPU
    kernels it dispatches to. torch's capability level alone is not enough: two AVX512 machines
    (2026-12-02: the recording box and a later AMD EPYC with avx512_vp2intersect and avx_vnni) gave
    other bits in every float case, as oneDNN and the BLAS pick kernels by the exact feature set;
    so the CPU model and its SIMD feature flags are part of the fingerprint."""
    return {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_simd_flags_sha256": simd_flags_sha256(),
    }


def recorded_for(golden: dict, platform_: dict) -> dict | None:
    """The recording (provenance and cases) made on ``platform_``: the file's first recording or one
    of those added for other machines (``platforms``); None when this machine has none."""
    for entry in [golden] + list(golden.get("platforms", [])):
        if entry["provenance"]["platform"] == platform_:
            return entry
    return None


def _sha(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _train(n=3, seed=1):
    return torch.rand((n, *SHAPE), generator=torch.Generator().manual_seed(seed))


class Expanding(torch.nn.Module):
    """Its residual points away from the data: y grows until sigma_t > 2 (diverged)."""

    def forward(self, y):
        return -0.5 * y


class ConstantResidual(torch.nn.Module):
    """sigma_t stays 0.5: neither converges nor diverges (max_T)."""

    def forward(self, y):
        return torch.full_like(y, 0.5)


class Mixed(torch.nn.Module):
    """Chains whose mean pixel is high diverge, the others stay at sigma 0.5 (max_T)."""

    def forward(self, y):
        high = (y.reshape(y.shape[0], -1).mean(1) > 0.5).view(-1, 1, 1, 1)
        return torch.where(high, -0.5 * y, torch.full_like(y, 0.5))


class ExactPlusUNet(torch.nn.Module):
    """The exact memorising denoiser plus a small real UNet (seeded weights, eval mode): long chains
    through real conv and norm layers."""

    def __init__(self, x):
        super().__init__()
        from studies.config import ModelConfig
        from studies.model.unet import UNet
        from studies.sample import EmpiricalDenoiser

        self.exact = EmpiricalDenoiser(x)
        self.unet = UNet(ModelConfig(blocks=2, width=4, channels=1), generator=torch.Generator().manual_seed(0))
        self.eval()

    def forward(self, y):
        return self.exact(y) + 0.02 * torch.tanh(self.unet(y))


class ScaledUNet(torch.nn.Module):
    """An untrained small UNet (seeded weights, eval mode) scaled by 1e5: its residual is then of the
    order of the image (unscaled it is ~3e-6 and every chain converges at t = 1), and its chains
    run to max_T or diverge (sigma_t > 2) within 40 steps."""

    def __init__(self):
        super().__init__()
        from studies.config import ModelConfig
        from studies.model.unet import UNet

        self.unet = UNet(ModelConfig(blocks=2, width=4, channels=1), generator=torch.Generator().manual_seed(3))
        self.eval()

    def forward(self, y):
        return 1e5 * self.unet(y)


def _groups():
    g = torch.Generator().manual_seed(7)
    return torch.rand((3, *SHAPE), generator=g), torch.rand((3, *SHAPE), generator=g) * 0.5 + 0.25


def summarise(res, callback_hash: str | None = None) -> dict:
    """A SampleResult reduced to exact digests (hex SHA-256 of the raw bytes) and small lists."""
    # c95b990's SampleResult had chain_digest(i, t); today's carries a NoiseRecord with digest(i, t)
    digest = res.noise.digest if hasattr(res, "noise") else res.chain_digest
    chain = []
    for i, h in enumerate(res.to_dict()["noise_hashes"]):
        chain.append(hashlib.sha256("".join(digest(i, t) for t in range(h["steps"] + 1)).encode()).hexdigest())
    out = {
        "record": json.loads(json.dumps(res.to_dict())),
        "images_sha256": _sha(res.images.detach().cpu().to(torch.float32).numpy()),
        "images_shape": list(res.images.shape),
        "sigma_trace_sha256": [_sha(np.asarray(tr, dtype=np.float64)) for tr in res.sigma_trace],
        "noise_chain_sha256": chain,
    }
    if callback_hash is not None:
        out["callback_sha256"] = callback_hash
    return out


class _CallbackHash:
    """Hashes every intermediate the sampler's callback sees: t, the active rows, y after the step
    and sigma_t."""

    def __init__(self):
        self.h, self.calls = hashlib.sha256(), 0

    def __call__(self, info):
        self.calls += 1
        self.h.update(np.int64(info["t"]).tobytes())
        self.h.update(np.asarray(info["active"], dtype=np.int64).tobytes())
        self.h.update(info["y"].detach().cpu().to(torch.float32).numpy().tobytes())
        self.h.update(np.asarray(info["sigma"], dtype=np.float64).tobytes())

    def hexdigest(self):
        return f"{self.calls}:{self.h.hexdigest()}"


def _sample_case(make_denoiser, seeds, mean, opts, shape=SHAPE):
    from studies.sample import sample

    cb = _CallbackHash()
    res = sample(make_denoiser(), seeds, shape=shape, mean=mean, callback=cb, **opts)
    return summarise(res, cb.hexdigest())


def _pair_case(start):
    from studies.sample import EmpiricalDenoiser, same_noise_pair

    xa, xb = _groups()
    # "own": each group's training mean; "common": both from the average of the two
    pair = same_noise_pair(EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), [0, 1, 2, 3], shape=SHAPE, start=start,
                           mean_a=xa.mean(0), mean_b=xb.mean(0), **FAST)
    return {"start_detail": pair.start_detail, "validated": pair.validated, "a": summarise(pair.a), "b": summarise(pair.b)}


def _empirical():
    from studies.sample import EmpiricalDenoiser

    return EmpiricalDenoiser(_train())


CASES = {
    # batched path: six chains that converge at different t and leave the batch one by one
    "empirical_batch": lambda: _sample_case(_empirical, [5, 0, 17, 3, 11, 2], _train().mean(0), SLOW),
    # one seed alone (the batch must give it the same result; checked in test_sample_sampler.py)
    "empirical_one_seed": lambda: _sample_case(_empirical, [17], _train().mean(0), SLOW),
    # a small real UNet on top of the exact denoiser, 16x16
    "unet_batch": lambda: _sample_case(
        lambda: ExactPlusUNet(torch.nn.functional.interpolate(_train(), size=(16, 16))), [0, 1, 2, 3], 0.5, FAST, shape=(1, 16, 16)
    ),
    # an untrained UNet alone: in one batch, chains that run to max_T and chains that diverge
    "unet_max_T_and_diverged": lambda: _sample_case(ScaledUNet, [0, 1, 2, 3, 4, 5], 0.5, {**FAST, "max_T": 40}, shape=(1, 16, 16)),
    "diverged": lambda: _sample_case(lambda: Expanding().eval(), [0, 1, 2], 0.5, {**FAST, "max_T": 1000}),
    "max_T": lambda: _sample_case(lambda: ConstantResidual().eval(), [0, 1], 0.5, {**FAST, "max_T": 7}),
    "mixed_diverged_and_max_T": lambda: _sample_case(lambda: Mixed().eval(), list(range(6)), 0.5, {**FAST, "max_T": 50}),
    "pair_own": lambda: _pair_case("own"),
    "pair_common": lambda: _pair_case("common"),
}


def record(commit: str) -> dict:
    torch.set_num_threads(1)
    return {
        "provenance": {
            "what": "golden values of studies/sample.py (sample, same_noise_pair) on the cases of tests/sampler_golden.py",
            "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "how": f"git checkout {commit} && PYTHONPATH=. OMP_NUM_THREADS=1 python tests/sampler_golden.py --commit {commit}",
            "tolerance": "none: every value is a SHA-256 of raw bytes or an exact integer/string",
            "platform": fingerprint(),
        },
        "cases": {name: run() for name, run in CASES.items()},
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", required=True, help="the commit whose sampler is being recorded")
    ap.add_argument("--out", type=Path, default=GOLDEN)
    ap.add_argument("--add-platform", action="store_true",
                    help="keep the file's recordings and add (or replace) this machine's under 'platforms'")
    ap.add_argument("--note", default="", help="with --add-platform: why, and how the recording was checked")
    args = ap.parse_args()
    data = record(args.commit)
    if args.add_platform:
        golden = json.loads(args.out.read_text())
        if golden["provenance"]["platform"] == data["provenance"]["platform"]:
            sys.exit(f"{args.out}: its first recording is already this machine's; rerecord without --add-platform")
        data["provenance"]["note"] = args.note
        golden["platforms"] = [e for e in golden.get("platforms", []) if e["provenance"]["platform"] != data["provenance"]["platform"]] + [data]
        data = golden
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}: {len(data['cases'])} cases", file=sys.stderr)
