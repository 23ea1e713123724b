"""A UNet pair trained on the Gaussian control's images, and its test MSE against the closed-form MMSE.

The Gaussian control (``studies.gaussian``) knows its optimal denoiser: for x ~ N(mu, C) it is
linear, D(y) = mu + C (C + sigma^2 I)^-1 (y - mu). A UNet trained on draws of that distribution
has a known target: its test MSE at every noise level can be set against the MMSE, and the
excess is what the network (architecture, budget, N) costs.

``unet_pair(zoo, profile, n, replicate)``: models A and B of the profile's UNet, trained with the
profile's training config (B's seed + 1, as in the zoo) and the exposure of its random protocol on
the same disjoint halves of one Gaussian draw as ``studies.gaussian.gaussian_pair`` (A: images
0..N-1, B: n_max..n_max+N-1; each one's test images are the other's training images and the fresh
held-out draws). Content-addressed in the zoo like every trained model (folder
``gaussian-unet-<hash>``: the draw's SHA-256, N, group, model, training config, exposure and the
training math version), trained once under a file lock and loaded, hash-verified, after.

``mmse_rows(model, resolution)``: per sigma of the PSNR grid (SPEC §7), the model's test MSE, the
MMSE (true mean and covariance, sigma known) and the excess with a CI over images."""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any, Optional, Sequence

import numpy as np
import torch
from scipy import stats as st

from .config import Profile, config_hash
from .errors import ArtifactError, InputError
from .gaussian import GAUSSIAN, MEAN, VERSION, GaussianDenoiser, GaussianModel, _Data, draw_images, spectrum_covariance

log = logging.getLogger("memgen.gaussian_unet")

GAUSSIAN_UNET = "gaussian-unet"
# bump when what decides a Gaussian-control UNet's weights changes beyond what its address names
UNET_VERSION = 1
N_MAX, HELDOUT = 4000, 256  # as studies.gaussian.gaussian_pair: one draw serves every N
MMSE_IMAGES = 1024  # test images of the MMSE comparison: the excess CI is ~1% of the MSE at this size


def _draw(resolution: int, replicate: int) -> tuple[torch.Tensor, str]:
    images = draw_images(resolution, 2 * N_MAX + HELDOUT, seed=10_000 + replicate)
    return images, hashlib.sha256(images.numpy().tobytes()).hexdigest()


def _exposure(prof: Profile) -> tuple[int, str]:
    """(n_total, mode) of the profile's random protocol: the Gaussian UNet sees what a random-split model sees."""
    grids = {g.name: g for g in prof.protocols}
    split = (grids.get("random") or prof.protocols[0]).split
    return split.n_total, split.exposure


def address(prof: Profile, n: int, group: str, replicate: int, draw_sha256: str) -> str:
    """The zoo folder name of one Gaussian-control UNet: the hash of what decides its weights."""
    from .train import TRAINING_MATH_VERSION
    from .zoo import train_config

    n_total, mode = _exposure(prof)
    what = {
        "kind": GAUSSIAN_UNET, "version": UNET_VERSION,
        "data": {"kind": GAUSSIAN, "version": VERSION, "resolution": prof.data.resolution, "seed": 10_000 + replicate,
                 "n_max": N_MAX, "heldout": HELDOUT, "sha256": draw_sha256},
        "n": int(n), "group": group, "model": prof.model, "train": train_config(prof, group),
        "n_total": n_total, "exposure": mode, "training_math_version": TRAINING_MATH_VERSION,
    }
    return f"{GAUSSIAN_UNET}-" + config_hash(what, length=24)


def unet_pair(zoo: Any, prof: Profile, n: int, replicate: int = 0, *, build: bool = True, on_train=None) -> tuple[GaussianModel, GaussianModel]:
    """Models A and B (``GaussianModel`` records holding a trained UNet) of the Gaussian control at
    N, trained on a miss unless ``build=False`` (then ArtifactError). ``prof`` is the replicate's
    profile (``Profile.replicate``), which sets the training seeds; ``replicate`` the image draw.
    ``on_train(wall_s, cpu_s)`` hears of each model this call trained (CPU: this process's, where training runs)."""
    import time

    from filelock import FileLock

    from .cache import atomic_write_json
    from .train import train
    from .zoo import ENTRY_FILE, _complete, _read_entry, train_config

    if not 1 <= n <= N_MAX:
        raise InputError(f"Gaussian-control UNet: N must be in 1..{N_MAX}, got {n}")
    res = prof.data.resolution
    if prof.model.channels != 1:
        raise InputError(f"Gaussian-control UNet: the control's images are grayscale; profile {prof.name} has a {prof.model.channels}-channel model")
    images, sha = _draw(res, replicate)
    a_imgs, b_imgs, fresh = images[:n], images[N_MAX : N_MAX + n], images[2 * N_MAX :]
    data = _Data(images=images, manifest={"kind": GAUSSIAN, "seed": 10_000 + replicate, "sha256": sha})
    n_total, mode = _exposure(prof)
    out = []
    for group, mine, other in (("A", a_imgs, b_imgs), ("B", b_imgs, a_imgs)):
        key = address(prof, n, group, replicate, sha)
        folder = zoo.root / key
        test = torch.cat([other, fresh])
        if not _complete(folder):
            if not build:
                raise ArtifactError(f"zoo {zoo.root}: Gaussian-control UNet {group}/N{n} (draw {replicate}, {key}) is not built")
            with FileLock(str(folder) + ".lock"):
                if not _complete(folder):  # another process may have trained it while we waited
                    log.info("zoo: training the Gaussian-control UNet %s/N%d (draw %d) into %s", group, n, replicate, folder)
                    t0, c0 = time.monotonic(), time.process_time()
                    train(mine, test, prof.model, train_config(prof, group), n_total=n_total, exposure_mode=mode, out_dir=folder,
                          progress=zoo.progress, eval_every=zoo.eval_every)
                    atomic_write_json(folder / ENTRY_FILE, {"profile": prof.name, "protocol": GAUSSIAN_UNET, "group": group, "n": n,
                                                            "replicate": replicate, "draw_sha256": sha, "address": key})
                    zoo.trained += 1
                    if on_train is not None:
                        on_train(time.monotonic() - t0, time.process_time() - c0)
        net, info, rows = _read_entry(folder, prof)
        config = {k: info[k] for k in ("model_config", "train_config", "exposure", "training_math_version", "steps", "seconds") if k in info}
        out.append(GaussianModel(net=net, train_images=mine, test_images=test, dataset=data, key=key, protocol=GAUSSIAN_UNET,
                                 group=group, n=n, config=config))
    return out[0], out[1]


@torch.no_grad()
def mmse_rows(model: Any, resolution: int, sigmas: Optional[Sequence[float]] = None, *, images: int = MMSE_IMAGES, seed: int = 0,
              batch_size: int = 512, alpha: float = 0.05) -> list[dict]:
    """Per sigma (default: the PSNR grid of SPEC §7, ``studies.metrics.psnr.default_sigmas``): the
    test MSE of ``model.net`` (a residual denoiser, denoised = y - net(y), not clipped) on the first
    ``images`` of ``model.test_images``, the MMSE of the true distribution on the same noisy images
    (closed form, sigma known: a lower bound for any denoiser, blind or not), the excess MSE with
    a two-sided (1 - alpha) t CI over images (paired: one noise draw per image serves both), and the
    excess in dB, 10 log10(MSE / MMSE). A fitted Gaussian denoiser on the model's own training
    images (empirical mean and covariance, blind) is measured beside it: what N images allow a
    denoiser of the right form."""
    from .metrics.psnr import default_sigmas

    sig = np.asarray(default_sigmas() if sigmas is None else sigmas, dtype=np.float64)
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or (sig <= 0).any():
        raise InputError(f"mmse_rows: sigmas must be positive finite numbers, got {sig[:5].tolist()}")
    x = model.test_images[:images].to(torch.float32)
    if x.shape[0] < 2:
        raise InputError(f"mmse_rows: needs at least 2 test images, the model has {x.shape[0]}")
    if tuple(x.shape[1:]) != (1, resolution, resolution):
        raise InputError(f"mmse_rows: test images have shape {tuple(x.shape[1:])}, the control's are (1, {resolution}, {resolution})")
    oracle = GaussianDenoiser(np.full(resolution**2, MEAN), spectrum_covariance(resolution))
    fitted = GaussianDenoiser.fitted(model.train_images)
    net = model.net
    was_training = getattr(net, "training", False)
    if hasattr(net, "eval"):
        net.eval()
    t = float(st.t.ppf(1 - alpha / 2, x.shape[0] - 1))
    rows = []
    try:
        for i, s in enumerate(sig):
            g = torch.Generator().manual_seed(int(seed) * 1000 + i)
            y = x + float(s) * torch.randn(x.shape, generator=g)
            den = torch.cat([(yb - net(yb)).to(torch.float64) for yb in y.split(batch_size)])
            err = ((den - x.double()) ** 2).flatten(1).mean(1)
            best = ((oracle.denoise(y, torch.full((x.shape[0],), float(s) ** 2, dtype=torch.float64)).double() - x.double()) ** 2).flatten(1).mean(1)
            fit = ((fitted.denoise(y).double() - x.double()) ** 2).flatten(1).mean(1)
            d = (err - best).numpy()
            half = t * float(d.std(ddof=1)) / math.sqrt(d.size)
            mse, mmse = float(err.mean()), float(best.mean())
            rows.append({"sigma": float(s), "sigma_255": float(s) * 255.0, "mse": mse, "mmse": mmse, "excess": mse - mmse,
                         "excess_ci": (float(d.mean()) - half, float(d.mean()) + half), "excess_db": 10.0 * math.log10(mse / mmse),
                         "fitted_mse": float(fit.mean()), "fitted_excess_db": 10.0 * math.log10(float(fit.mean()) / mmse)})
    finally:
        if was_training:
            net.train()
    return rows


def excess_summary(rows: Sequence[dict]) -> dict:
    """The numbers verdict.json carries beside the table: mean, least and largest excess in dB over
    the sigma grid, and at how many sigmas the excess CI lies above 0 (MSE above the MMSE)."""
    db = np.array([r["excess_db"] for r in rows], dtype=np.float64)
    worst, best = int(np.argmax(db)), int(np.argmin(db))
    return {"mean_excess_db": float(db.mean()), "max_excess_db": float(db[worst]), "max_at_sigma": rows[worst]["sigma"],
            "min_excess_db": float(db[best]), "min_at_sigma": rows[best]["sigma"], "sigmas": len(rows),
            "sigmas_above_mmse": int(sum(r["excess_ci"][0] > 0 for r in rows)), "sigmas_below_mmse": int(sum(r["excess_ci"][1] < 0 for r in rows))}



def excess_report(claim: Any, models: Sequence[Any], resolution: int) -> list[dict]:
    """Record, on a claim, each model's test MSE against the MMSE at every sigma of the PSNR grid:
    one table (the report) and the summary numbers as measures (verdict.json). Descriptive: the
    verdict stays the claim's own rule."""
    out, table = [], []
    for m in models:
        rows = mmse_rows(m, resolution)
        out.append(rows)
        for r in rows:
            table.append([m.group, m.n, round(r["sigma_255"], 2), round(r["sigma"], 5), float(f"{r['mse']:.4g}"), float(f"{r['mmse']:.4g}"),
                          float(f"{r['excess']:.3g}"), [float(f"{v:.3g}") for v in r["excess_ci"]], round(r["excess_db"], 3),
                          round(r["fitted_excess_db"], 3)])
    claim.table(f"trained UNet vs the MMSE: test MSE at every sigma of the PSNR grid ({MMSE_IMAGES} test images each)",
                ["model", "N", "sigma x 255", "sigma", "UNet MSE", "MMSE", "excess MSE", "excess 95% CI", "excess (dB)",
                 "fitted Gaussian excess (dB)"], table)
    for m, rows in zip(models, out):
        s = excess_summary(rows)
        claim.measure(f"model {m.group}: UNet excess MSE over the MMSE, mean over {s['sigmas']} sigmas (dB)", s["mean_excess_db"], unit="dB")
        claim.measure(f"model {m.group}: largest excess (dB), at sigma x 255 = {255 * s['max_at_sigma']:.3g}", s["max_excess_db"], unit="dB")
        claim.measure(f"model {m.group}: least excess (dB), at sigma x 255 = {255 * s['min_at_sigma']:.3g}", s["min_excess_db"], unit="dB")
        claim.measure(f"model {m.group}: sigmas with the MSE significantly above / below the MMSE (of {s['sigmas']})",
                      f"{s['sigmas_above_mmse']} / {s['sigmas_below_mmse']}")
    claim.note("MMSE: the closed-form denoiser of the true Gaussian (mean and covariance of studies.gaussian) with sigma known, "
               "on the same noisy test images as the UNet: no denoiser can do better in expectation; the UNet is blind (sigma unknown). "
               "Excess CI: paired t interval over test images")
    return out


def missing_models(zoo: Any, prof: Profile, ns: Sequence[int], replicates: int = 1) -> list[tuple[int, str, int]]:
    """(N, group, draw) of the Gaussian-control UNets at ``ns`` not yet in ``zoo`` (the run plan's list
    of models the control trains when its test runs)."""
    from .zoo import _complete

    out = []
    for r in range(replicates):
        _, sha = _draw(prof.data.resolution, r)
        for n in ns:
            out += [(n, g, r) for g in ("A", "B") if not _complete(zoo.root / address(prof.replica(r), n, g, r, sha))]
    return out


def training_estimates(prof: Profile, missing: Sequence[tuple[int, str, int]], rate_flops: float) -> dict[str, float]:
    """Seconds per missing Gaussian-control UNet at ``rate_flops`` (the run plan's measured rate)."""
    from .data.splits import exposure
    from .zoo import train_config, training_flops

    n_total, mode = _exposure(prof)
    out = {}
    for n, g, r in missing:
        samples = train_config(prof, g).epochs * exposure(n, n_total, mode).samples
        out[f"{prof.name}/{GAUSSIAN_UNET}/{g}/N{n}" + (f"/r{r}" if r else "")] = training_flops(prof.model, prof.data.resolution, samples) / rate_flops
    return out
