"""celeba-facts (T25 §2.2; SPEC §1): the counts the reproduction reports are the counts of the
metadata files. Every count is compared for equality with its published value (claims/thresholds/
celeba-facts.toml); one mismatch refutes the claim. Without the metadata folder the claim is not run
(a missing input is not a verdict): the report names the folder it needs and how to give it."""

import pytest

from studies.claims.verdict import REFUTED, SUPPORTED
from studies.data.celeba import default_meta_dir
from studies.data.facts import compute_facts

META = default_meta_dir()
# what provides the metadata (the folder holding list_attr_celeba.txt and identity_CelebA.txt)
NEEDS_META = "MEMGEN_CELEBA_META=DIR (or the folder ../shared/celeba beside the checkout); memgen data facts --meta DIR reads the same files"

# (measure name, threshold name, how to read it from compute_facts)
COUNTS = [
    ("images", "images", lambda f: f["images"]),
    ("identities", "identities", lambda f: f["identities"]),
    ("images per identity (min)", "images_per_identity_min", lambda f: f["images_per_identity"]["min"]),
    ("images per identity (max)", "images_per_identity_max", lambda f: f["images_per_identity"]["max"]),
    ("Eyeglasses yes", "eyeglasses_pos", lambda f: f["attributes"]["Eyeglasses"]["pos"]),
    ("Eyeglasses no", "eyeglasses_neg", lambda f: f["attributes"]["Eyeglasses"]["neg"]),
    ("Male yes", "male_pos", lambda f: f["attributes"]["Male"]["pos"]),
    ("Male no", "male_neg", lambda f: f["attributes"]["Male"]["neg"]),
]


@pytest.mark.claim("celeba-facts")
@pytest.mark.parametrize("meta_dir", [pytest.param(META, id="metadata" if META else "no-metadata")])
def test_celeba_facts(claim, meta_dir):
    claim.method("exact counts of list_attr_celeba.txt and identity_CelebA.txt (studies.data.facts.compute_facts); every count must equal its published value")
    if meta_dir is None:
        claim.param(meta_dir="absent")
        claim.not_run("CelebA metadata folder not found (list_attr_celeba.txt and identity_CelebA.txt)", NEEDS_META)
    claim.param(meta_dir=str(meta_dir))
    facts = compute_facts(meta_dir)
    wrong = []
    for i, (name, threshold_name, read) in enumerate(COUNTS):
        value, published = read(facts), claim.threshold(threshold_name)
        claim.measure(name, value, threshold=published, direction="==", key=i == 0)
        if value != published:
            wrong.append(f"{name} {value:,} != {published:,.0f}")
    claim.measure("images per identity (mean)", facts["images_per_identity"]["mean"])
    claim.table(
        "attributes (all 40)",
        ["attribute", "yes", "no"],
        [[name, c["pos"], c["neg"]] for name, c in facts["attributes"].items()],
    )
    claim.figure("attribute balance", _attribute_figure(facts), "fraction of images with each attribute; Eyeglasses and Male are the attribute protocols")
    if wrong:
        claim.conclude(REFUTED, "counts differ from the published ones: " + "; ".join(wrong))
    else:
        claim.conclude(SUPPORTED, f"all {len(COUNTS)} published counts match exactly")


def _attribute_figure(facts):
    from matplotlib.figure import Figure

    names = list(facts["attributes"])
    share = [c["pos"] / (c["pos"] + c["neg"]) for c in facts["attributes"].values()]
    fig = Figure(figsize=(9, 3))
    ax = fig.subplots()
    ax.bar(range(len(names)), share, color=["#b3261e" if n in ("Eyeglasses", "Male") else "#777" for n in names])
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_ylabel("share with attribute")
    ax.set_ylim(0, 1)
    return fig
