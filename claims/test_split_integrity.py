"""split-integrity (T25 §3.4, §5.3; SPEC §3): the groups A and B of every split protocol are
disjoint; attribute splits are pure and balanced; identity splits share no identity.

Each protocol runs on two data sources: the real CelebA metadata (``../shared/celeba``, a seeded
order of all 202,599 names, no images needed, the paper's N grid of profile celeba40) and the
synthetic faces of the active profile (their metadata; the N grid of the active profile). Every
split is audited with ``studies.data.audit.audit``, which reads only names and metadata.

What is *not* claimed is measured too (SPEC §3): a random split shares identities, more so as N
grows, and an attribute split is not identity-disjoint. Those numbers are reported (table, figure)
and do not enter the verdict."""

from __future__ import annotations

import dataclasses

import pytest

from studies.claims.verdict import REFUTED, SUPPORTED
from studies.config import SynthConfig
from studies.data.audit import audit
from studies.data.celeba import default_meta_dir, read_metadata
from studies.data.dataset import synthetic_dir
from studies.data.splits import make_split, seeded_order
from studies.profiles import get_profile

PROTOCOLS = ("random", "eyeglasses", "male", "identity")
ATTRIBUTE_OF = {"eyeglasses": "Eyeglasses", "male": "Male"}
# the paper's scale: the N grid and exposure of the reproduction (T25)
PAPER_PROFILE = "celeba40"
# order seed of the real metadata (DataConfig.order_seed's default)
ORDER_SEED = 0

_META_CACHE: dict = {}


def _params():
    out = []
    for protocol in PROTOCOLS:
        out.append(pytest.param(protocol, "celeba", id=f"{protocol}-celeba", marks=pytest.mark.needs_celeba_meta))
        out.append(pytest.param(protocol, "synthetic", id=f"{protocol}-synthetic"))
    return out


def _source(claim, source: str, profile_name: str):
    """(metadata, dataset order, profile whose N grid and split configs are used, description)."""
    if source in _META_CACHE:
        return _META_CACHE[source] + (get_profile(PAPER_PROFILE if source == "celeba" else profile_name),)
    if source == "celeba":
        meta_dir = default_meta_dir()
        if meta_dir is None:
            claim.not_run("CelebA metadata folder not found (list_attr_celeba.txt and identity_CelebA.txt)",
                          "MEMGEN_CELEBA_META=DIR (or the folder ../shared/celeba beside the checkout)")
        desc = f"real CelebA metadata {meta_dir}, seeded order (seed {ORDER_SEED}) of all names, no dedup (no images)"
    else:
        synth = get_profile(profile_name).data.synth or SynthConfig()
        meta_dir = synthetic_dir(synth)  # generated once into the cache, shared with the dataset builder
        desc = f"synthetic faces ({synth.identities} identities, seed {synth.seed}), seeded order (seed {ORDER_SEED})"
    meta = read_metadata(meta_dir)
    order = seeded_order(meta.filenames, ORDER_SEED)
    _META_CACHE[source] = (meta, order, desc)
    return _META_CACHE[source] + (get_profile(PAPER_PROFILE if source == "celeba" else profile_name),)


@pytest.mark.claim("split-integrity")
@pytest.mark.parametrize("protocol, source", _params())
def test_split_integrity(claim, profile_name, protocol, source):
    if source == "synthetic" and get_profile(profile_name).data.source != "synthetic":
        claim.not_applicable(f"profile {profile_name} does not train on synthetic faces; its splits are checked by its own data's claims")
    meta, order, desc, grid_profile = _source(claim, source, profile_name)
    grid = grid_profile.protocol(protocol)
    cfg = grid.split
    claim.param(protocol=protocol, source=source, data=desc, n_grid=list(grid.n_grid), grid_profile=grid_profile.name,
                seed=cfg.seed, images=len(order))
    claim.method(
        "exact audit (studies.data.audit.audit) of each split at every N of the grid: name overlap, shared identities, "
        "attribute purity; a single violation refutes; no statistics needed (deterministic counts)"
    )
    attribute = ATTRIBUTE_OF.get(protocol)
    rows, violations, reports = [], [], []
    for n in grid.n_grid:
        split = make_split(cfg, n, names=order, meta=meta)
        rep = audit(split.names_a, split.names_b, meta, attribute=attribute)
        reports.append((n, split, rep))
        if rep["overlap_names"] != 0:
            violations.append(f"N={n}: {rep['overlap_names']} names in both groups")
        if rep["n_a"] != rep["n_b"]:
            violations.append(f"N={n}: unbalanced groups {rep['n_a']} vs {rep['n_b']}")
        row = [n, split.n, split.capped, split.exposure_a.copies, split.exposure_a.samples, rep["overlap_names"],
               rep["shared_identities"], round(rep["frac_b_identity_in_a"], 4), round(rep["frac_a_identity_in_b"], 4)]
        if attribute:
            at = rep["attribute"]
            row += [at["purity_a"], at["purity_b"], at["positives_a"], at["positives_b"]]
            if at["purity_a"] < claim.threshold("purity_min") or at["purity_b"] < claim.threshold("purity_min"):
                violations.append(f"N={n}: purity {at['purity_a']:.4f} / {at['purity_b']:.4f}")
            if at["positives_a"] != split.n or at["positives_b"] != 0:
                violations.append(f"N={n}: A should carry {attribute} (value 1), B not")
        if protocol == "identity" and rep["shared_identities"] != 0:
            violations.append(f"N={n}: {rep['shared_identities']} identities in both groups")
        rows.append(row)

    columns = ["N requested", "N used", "capped", "copies", "samples", "names in both", "shared identities",
               "frac B identity in A", "frac A identity in B"]
    if attribute:
        columns += ["purity A", "purity B", "positives A", "positives B"]
    claim.table(f"{protocol} split audit by N ({source})", columns, rows)
    last_n, last, last_rep = reports[-1]
    claim.measure("names in both groups (all N)", sum(r[5] for r in rows), threshold="overlap_names_max", direction="<=", key=protocol == "random")
    claim.measure("shared identities at the largest N", last_rep["shared_identities"], key=protocol == "identity")
    claim.measure("fraction of B images whose identity is in A (largest N)", last_rep["frac_b_identity_in_a"])

    if protocol == "random":
        _random_extras(claim, meta, order, cfg, grid.n_grid, reports, source)
    elif attribute:
        claim.measure(f"side size ({attribute})", last.available, key=True)
        claim.measure("purity A (largest N)", last_rep["attribute"]["purity_a"], threshold="purity_min", direction=">=")
        claim.measure("purity B (largest N)", last_rep["attribute"]["purity_b"], threshold="purity_min", direction=">=")
        claim.note(
            f"an attribute split is not identity-disjoint (SPEC §3): at N={last.n}, {last_rep['shared_identities']} identities "
            f"appear in both groups and {last_rep['frac_b_identity_in_a']:.1%} of B's images show a person also in A"
        )
        if source == "celeba":
            published = {"Eyeglasses": 13_193, "Male": 84_434}[attribute]
            claim.note(f"side size {last.available:,} (T25: {published:,} per side); minority side kept whole")
            if last.available != published:
                violations.append(f"side size {last.available} differs from T25's {published}")
    else:
        whole = audit([order[i] for i in last.side_a.tolist()], [order[i] for i in last.side_b.tolist()], meta)
        info = last.info
        claim.measure("shared identities, whole groups", whole["shared_identities"], threshold="identity_shared_max", direction="<=")
        claim.measure("image-count imbalance |nA-nB|/(nA+nB)", info["imbalance"], threshold=cfg.identity_tolerance, direction="<=")
        claim.table("identity groups before taking N", ["group", "images", "identities"],
                    [["A", info["images_a"], info["identities_a"]], ["B", info["images_b"], info["identities_b"]]])
        if source == "celeba":
            claim.note(f"groups of {info['images_a']:,} and {info['images_b']:,} images ({info['identities_a']:,} and "
                       f"{info['identities_b']:,} identities); T25: 101,255 and 101,344 (5,113 and 5,064)")
        if whole["shared_identities"] != 0:
            violations.append(f"whole groups share {whole['shared_identities']} identities")
        if info["imbalance"] > cfg.identity_tolerance:
            violations.append(f"imbalance {info['imbalance']:.4f} above tolerance {cfg.identity_tolerance}")

    capped = [f"{n:,} -> {s.n:,}" for n, s, _ in reports if s.capped]
    if capped:
        claim.note("N capped at what the protocol can give (recorded in each split): " + ", ".join(capped))
    if violations:
        claim.conclude(REFUTED, "; ".join(violations))
        return
    what = {
        "random": "A and B share no name at any N (identity overlap reported, not claimed)",
        "identity": "A and B share no identity at any N; groups balanced within the tolerance",
    }.get(protocol, f"A and B share no name, each side is pure in {attribute} and both sides have N images")
    claim.conclude(SUPPORTED, what)


def _random_extras(claim, meta, order, cfg, n_grid, reports, source):
    """Identity overlap of random splits as a function of N, for the code's and the text's B."""
    text_cfg = dataclasses.replace(cfg, variant="text")
    rows, xs, ys_code, ys_text = [], [], [], []
    for n, split, rep in reports:
        text = make_split(text_cfg, n, names=order, meta=meta)
        rep_t = audit(text.names_a, text.names_b, meta)
        rows.append([split.n, rep["shared_identities"], round(rep["frac_b_identity_in_a"], 4),
                     rep_t["overlap_names"], rep_t["shared_identities"], round(rep_t["frac_b_identity_in_a"], 4)])
        xs.append(split.n)
        ys_code.append(rep["frac_b_identity_in_a"])
        ys_text.append(rep_t["frac_b_identity_in_a"])
    claim.table(f"random split: identities shared by A and B vs N ({source})",
                ["N", "shared identities (code: B = last N)", "frac B identity in A (code)",
                 "names in both (text)", "shared identities (text: B = N+1..2N)", "frac B identity in A (text)"], rows)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot()
    ax.plot(xs, ys_code, "o-", label="code (B = last N)")
    ax.plot(xs, ys_text, "s--", label="text (B = N+1..2N)")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("N (images per group)")
    ax.set_ylabel("share of B's images whose identity is in A")
    ax.set_title(f"random split identity overlap ({source})")
    ax.grid(alpha=0.3)
    ax.legend()
    claim.figure(f"random split identity overlap ({source})", fig,
                 "a random split is name-disjoint but shares identities: the share of B's images whose person is in A, vs N")
    claim.note(
        f"random splits are name-disjoint, not identity-disjoint: at N={xs[-1]:,}, {ys_code[-1]:.1%} of B's images show a "
        f"person also in A (code variant); the claim tested here is name disjointness"
    )
