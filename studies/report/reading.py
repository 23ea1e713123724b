"""How the verdict page reads: the claims in the papers' order, the claim x protocol matrix, the one
number that decides each run, and the paragraph that says what a profile's verdicts can tell.

Everything here is a plain function of the report JSON (or of the registered profile, when the JSON
is built), so the page never shows a number the JSON lacks."""

from __future__ import annotations

import re
from typing import Any, Optional

from ..claims.verdict import ERROR, NOT_APPLICABLE, NOT_RUN, SKIPPED

# the order of K24 and T25's argument: memorisation at small N, the PSNR gap, same-noise convergence,
# originality, then splits and attributes, the perceptual (LPIPS) measures, and last the facts about
# the data and the model (dedup, counts, parameter count). A claim not listed here comes after the
# LPIPS claims, by id, and before the data facts.
PAPER_ORDER = (
    "memorization-small-n",
    "memorised-fraction-falls",
    "memorisation-time-grows",
    "psnr-gap",
    "same-noise-convergence",
    "originality",
    "attribute-respected",
    "attribute-weakens-convergence",
    "identity-psnr-equal",
    "identity-less-stable",
    "split-integrity",
    "lpips-rank-inversion",
    "correlation-overstates-originality",
    "unet-params",
    "dedup-equivalence",
    "dedup-memory",
    "dedup-count",
    "celeba-facts",
)
# footwear: the attribute protocol of the Fashion-MNIST profiles (its runs end not applicable elsewhere)
PROTOCOLS = ("random", "identity", "eyeglasses", "male", "footwear")
OTHER = "other"  # the matrix column of runs that are not about one split protocol (dedup, facts, parameters)



FACTS_FROM = PAPER_ORDER.index("unet-params")  # the data and model facts close the page


def claim_rank(claim_id: str) -> tuple[float, str]:
    return (PAPER_ORDER.index(claim_id), "") if claim_id in PAPER_ORDER else (FACTS_FROM - 0.5, claim_id)


def protocol_of(record: dict) -> str:
    """The split protocol a run is about: its ``protocol`` parameter, else the first word of its
    parametrisation id (``random-celeba``, ``male-N1000``), else ``other``."""
    p = (record.get("params") or {}).get("protocol")
    if isinstance(p, str) and p in PROTOCOLS:
        return p
    head = re.split(r"[-_\[\]]", str(record.get("param_id") or ""), maxsplit=1)[0]
    return head if head in PROTOCOLS else OTHER


def anchor(record: dict) -> str:
    """The HTML id of one run's block: claim and parametrisation, only [a-z0-9-] kept."""
    text = f"run-{record['claim']}-{record.get('param_id') or 'default'}"
    if record.get("control"):
        text += f"-control-{record['control']}"
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def control_kind(record: dict) -> Optional[str]:
    """The known-answer control a run is (memorising, gaussian, ...), from the record or, for a run
    that ended before saying so (reports of earlier commits), from its parametrisation id."""
    if record.get("control"):
        return record["control"]
    from ..claims.core import parse_case

    return parse_case(str(record.get("param_id") or ""))[1]


def is_control(record: dict) -> bool:
    return control_kind(record) is not None


def outcome_label(record: dict) -> str:
    """What a badge says: the verdict, or why there is none."""
    if record.get("verdict"):
        return record["verdict"]
    return {NOT_RUN: "NOT RUN", NOT_APPLICABLE: "NOT APPLICABLE", ERROR: "ERROR", SKIPPED: "SKIPPED"}.get(record.get("status"), "NO VERDICT")


def outcome_class(record: dict) -> str:
    if record.get("verdict"):
        return f"v-{record['verdict']}"
    return {NOT_RUN: "v-notrun", NOT_APPLICABLE: "v-notapplicable", ERROR: "v-error"}.get(record.get("status"), "v-none")


def matrix(records: list[dict], claim_order: list[str]) -> dict:
    """Rows (one per claim, in ``claim_order``) of cells per protocol column, each a list of runs.
    Control runs stay out: they have their own section. ``columns`` holds ``other`` only when a
    run needs it."""
    rows: dict[str, dict[str, list[dict]]] = {c: {} for c in claim_order}
    for r in records:
        if is_control(r) or r["claim"] not in rows:
            continue
        rows[r["claim"]].setdefault(protocol_of(r), []).append(r)
    # a protocol column whose every run is not applicable (a protocol the profile lacks: footwear on
    # smoke, identity on Fashion-MNIST) says nothing per claim: it goes, named under the matrix
    used = [p for p in list(PROTOCOLS) + [OTHER] if any(p in cells for cells in rows.values())]
    absent = [p for p in used if all(r.get("status") == NOT_APPLICABLE for cells in rows.values() for r in cells.get(p, []))]
    columns = [p for p in used if p not in absent]
    shown = [c for c in claim_order if any(rows[c].get(p) for p in columns)]
    hidden = [c for c in claim_order if rows[c] and c not in shown]
    return {"columns": columns, "absent": absent, "hidden": hidden, "rows": [(c, rows[c]) for c in shown]}


def deciding_measure(record: dict) -> Optional[dict]:
    """The number that decides a run: the key measure when it has a threshold, else the first
    measure with a threshold and a direction, else the key measure (shown without a rule)."""
    measures = record.get("measures") or []
    key = next((m for m in measures if m.get("key")), measures[0] if measures else None)
    if key is not None and key.get("threshold") is not None:
        return key
    ruled = next((m for m in measures if m.get("threshold") is not None and m.get("direction")), None)
    return ruled or key


_DIRECTION_WORDS = {">": "more than", ">=": "at least", "<": "less than", "<=": "at most", "==": "exactly"}


def scale_of(m: dict, thresholds: dict) -> str:
    """The scale a reader judges a number on: the measure's unit, the registered threshold's unit,
    or what the measure's name says it is (a correlation runs from -1 to 1, a share from 0 to 1)."""
    unit = m.get("unit") or (thresholds.get(m.get("threshold_name") or "", {}) or {}).get("unit") or ""
    name = str(m.get("name", "")).lower()
    if unit:
        return unit
    if "relative" in name:
        return "relative difference, 0 = none"
    if "correlation" in name or "excess" in name or name.startswith("r_") or "tau" in name:
        return "correlation scale, -1 to 1"
    if "share" in name or "fraction" in name or "rate" in name or "purity" in name:
        return "share, 0 to 1"
    if name.startswith("trend p") or name.endswith(" p") or " p " in name:
        return "p-value"
    if "psnr" in name or "gap" in name:
        return "dB"
    return ""


def deciding_sentence(record: dict, fmt) -> str:
    """'<measure> = <value> [lo, hi] (<scale>); the claim needs more than <threshold> (<name>)'."""
    m = deciding_measure(record)
    if m is None:
        return ""
    text = f"{m['name']} = {fmt(m['value'])}"
    if m.get("ci"):
        text += f" [{fmt(m['ci'][0])}, {fmt(m['ci'][1])}]"
    scale = scale_of(m, record.get("thresholds") or {})
    if scale:
        text += f" ({scale})"
    if m.get("threshold") is not None and m.get("direction"):
        text += f"; the claim needs {_DIRECTION_WORDS.get(m['direction'], m['direction'])} {fmt(m['threshold'])}"
        if m.get("threshold_name"):
            text += f" ({m['threshold_name']})"
        if m.get("meets") is not None:
            text += " — met" if m["meets"] else " — not met"
    return text


def deciding_short(record: dict, fmt) -> str:
    """The summary table's cell: '<measure> = <value> [lo, hi]; needs < <threshold>'."""
    m = deciding_measure(record)
    if m is None:
        return ""
    text = f"{m['name']} = {fmt(m['value'])}" + (f" {m['unit']}" if m.get("unit") else "")
    if m.get("ci"):
        text += f" [{fmt(m['ci'][0])}, {fmt(m['ci'][1])}]"
    if m.get("threshold") is not None and m.get("direction"):
        text += f"; needs {m['direction']} {fmt(m['threshold'])}"
    return text


def profile_summary(name: str) -> dict:
    """What a profile is and what its verdicts can and cannot say, from the registered profile."""
    # no torch here (the parameter count would need it): the report is built in pytest's session
    # end, and importing torch there again breaks in-process test runs that restore sys.modules
    try:
        from ..profiles import get_profile

        p = get_profile(name)
    except Exception:  # an unregistered name (a test's or a later profile's): say only its name
        return {"name": name, "description": "", "facts": [], "can": "", "cannot": ""}
    d = p.data
    source = {
        "synthetic": f"synthetic CelebA-like faces ({d.synth.identities if d.synth else '?'} identities, generated by studies.data.synth)",
        "celeba": "CelebA photographs",
        "fashion": "Fashion-MNIST (Zalando's clothing photographs: 60,000 training and 10,000 test images, from Debian's "
                   "dataset-fashion-mnist; the test images are every model's held-out set)",
    }.get(d.source, "the user's images" if d.source == "array" else d.source)
    grids = "; ".join(f"{g.name} N = {', '.join(f'{n:,}' for n in g.n_grid)}" for g in p.protocols)
    # where the training-seed replicates are (Profile.replicated): not always each protocol's largest N
    cells = [f"{g.name} N = {n:,}" for g in p.protocols for n in g.n_grid if p.replicates > 1 and p.replicated(g.name, n)]
    facts = [
        f"data: {source} at {d.resolution}x{d.resolution}, {'grayscale' if d.grayscale else 'colour'}",
        f"model: UNet with {p.model.blocks} blocks of width {p.model.width}, "
        f"{p.train.epochs} epochs at batch {p.train.batch_size}",
        f"pairs of models trained on disjoint halves A and B: {grids}",
        f"sampling: {p.sample.n_seeds} seeds per pair"
        + (f"; {p.replicates} training-seed replicates of the pairs at {', '.join(cells)}" if cells else ""),
    ]
    if d.source == "synthetic":
        can = ("whether the measurements and decision rules behave as the papers' claims predict on a small testbed with a "
               "known construction: memorisation at small N, convergence of A and B as N grows, the PSNR gap, and how splits "
               "by identity or attribute change that")
        cannot = (f"anything about CelebA or about the papers' models: the images are {d.resolution}x{d.resolution} synthetic faces "
                  f"and the UNet has {p.model.blocks} blocks of width {p.model.width}, so a verdict here is about this testbed. "
                  "The paper-scale verdicts come from profiles celeba40 and celeba80 on real images")
    elif d.source == "fashion":
        can = ("whether the papers' claims hold on real photographs of another kind than faces, with a small model trained on "
               "two CPU cores: memorisation at small N, the PSNR gap, same-noise convergence up to "
               f"{max(n for g in p.protocols for n in g.n_grid):,} images per half, originality"
               + "".join(f", and an attribute split ({g.split.attribute} against the other garments)" for g in p.protocols if g.split.attribute))
        cannot = (f"anything about CelebA or the papers' 7.6M-parameter UNet: the model is a UNet of {p.model.blocks} blocks of "
                  f"width {p.model.width} with a short training budget, so a verdict is about that model on this data; and "
                  "nothing about identities, which Fashion-MNIST does not have")
    elif d.source == "array":
        can = "whether the papers' claims hold on your images, under the fashion profile's model, budget and sampler"
        cannot = ("more than that model and budget allow, nor anything a protocol needs that your labels lack (those claims "
                  "are not applicable)")
    else:
        can = "the published claims on the papers' data and scale, within the seeds and replicates this profile trains"
        cannot = "more than the trained pairs allow: a verdict rests on the replicates listed, not on a population of training runs"
    return {"name": p.name, "description": p.description, "facts": facts, "can": can, "cannot": cannot}


def count_outcomes(records: list[dict]) -> dict:
    """Verdicts, runs without a verdict on purpose (not run, not applicable) and the rest, apart."""
    verdicts: dict[str, int] = {}
    out = {"verdicts": verdicts, "with_verdict": 0, NOT_RUN: 0, NOT_APPLICABLE: 0, "other": 0}
    for r in records:
        if r.get("verdict"):
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
            out["with_verdict"] += 1
        elif r.get("status") in (NOT_RUN, NOT_APPLICABLE):
            out[r["status"]] += 1
        else:
            out["other"] += 1
    return out


def rule_text(rule: Any, fmt) -> str:
    """The decision rule of a run with its measured false-positive rate and power, when recorded."""
    if not isinstance(rule, dict) or not rule:
        return ""
    parts = [str(rule.get("name") or "decision rule")]
    if rule.get("alpha") is not None:
        parts.append(f"alpha {fmt(rule['alpha'])}")
    if rule.get("false_positive_rate") is not None:
        parts.append(f"measured false-positive rate {fmt(rule['false_positive_rate'])}" + (f" ({rule['null']})" if rule.get("null") else ""))
    if rule.get("power") is not None:
        parts.append(f"power {fmt(rule['power'])}" + (f" ({rule['effect']})" if rule.get("effect") else ""))
    if rule.get("simulations") is not None:
        parts.append(f"over {fmt(rule['simulations'])} simulations")
    return ", ".join(parts)
