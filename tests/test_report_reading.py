"""How the verdict page reads, as plain functions of the report JSON: the papers' order, the protocol
column of a run, anchors, the deciding number with threshold and scale, counts kept apart."""

from studies.report.html import fmt
from studies.report.reading import (anchor, claim_rank, control_kind, count_outcomes, deciding_sentence, deciding_short,
                                    is_control, matrix, outcome_label, profile_summary, protocol_of, rule_text)


def _r(claim, param_id, **kw):
    return {"claim": claim, "param_id": param_id, "params": kw.pop("params", {}), "measures": kw.pop("measures", []),
            "thresholds": kw.pop("thresholds", {}), "status": kw.pop("status", "as-expected"), "verdict": kw.pop("verdict", "SUPPORTED"), **kw}


def test_claims_follow_the_papers_order_and_new_claims_come_before_the_data_facts():
    ids = ["celeba-facts", "some-new-claim", "psnr-gap", "lpips-rank-inversion", "memorization-small-n", "dedup-count", "originality"]
    assert sorted(ids, key=claim_rank) == ["memorization-small-n", "psnr-gap", "originality", "lpips-rank-inversion",
                                           "some-new-claim", "dedup-count", "celeba-facts"]


def test_protocol_column_and_anchor():
    assert protocol_of(_r("psnr-gap", "x", params={"protocol": "male"})) == "male"
    assert protocol_of(_r("split-integrity", "eyeglasses-celeba")) == "eyeglasses"
    assert protocol_of(_r("unet-params", "blocks3")) == "other"
    assert anchor(_r("split-integrity", "random-celeba")) == "run-split-integrity-random-celeba"
    assert anchor(_r("originality", "*")) == "run-originality"
    assert anchor(_r("originality", "random", control="random-control-memorising")) == "run-originality-random-control-random-control-memorising"
    assert outcome_label(_r("celeba-facts", "no-metadata", verdict=None, status="not-run")) == "NOT RUN"


def test_deciding_number_prefers_a_measure_with_a_threshold_and_names_its_scale():
    r = _r("attribute-weakens-convergence", "male", measures=[
        {"name": "median convergence, male", "value": 0.061, "ci": None, "threshold": None, "direction": None, "key": True},
        {"name": "Mann-Whitney p (attribute < random)", "value": 0.003, "ci": None, "threshold": 0.05, "direction": "<",
         "threshold_name": None, "meets": True}])
    assert deciding_sentence(r, fmt) == "Mann-Whitney p (attribute < random) = 0.003 (p-value); the claim needs less than 0.05 — met"
    r = _r("same-noise-convergence", "random", measures=[
        {"name": "excess at N=4000", "value": 0.54, "ci": [0.47, 0.61], "threshold": 0.1, "direction": ">", "threshold_name": "excess_min",
         "meets": True, "key": True}])
    assert deciding_sentence(r, fmt) == ("excess at N=4000 = 0.54 [0.47, 0.61] (correlation scale, -1 to 1); "
                                         "the claim needs more than 0.1 (excess_min) — met")
    assert deciding_short(r, fmt) == "excess at N=4000 = 0.54 [0.47, 0.61]; needs > 0.1"
    assert deciding_sentence(_r("x", "y"), fmt) == ""


def test_counts_keep_missing_inputs_apart_and_matrix_leaves_controls_out():
    records = [_r("psnr-gap", "random-N10", params={"protocol": "random"}), _r("psnr-gap", "identity-N10", verdict="REFUTED"),
               _r("celeba-facts", "no-metadata", verdict=None, status="not-run"),
               _r("originality", "male", verdict=None, status="not-applicable"),
               _r("originality", "random", control="random-control-memorising", params={"protocol": "random"})]
    c = count_outcomes(records)
    assert c["verdicts"] == {"SUPPORTED": 2, "REFUTED": 1} and (c["not-run"], c["not-applicable"], c["with_verdict"]) == (1, 1, 3)
    # a control that ended before recording its kind (a report of an earlier commit) is still a control
    late = _r("psnr-gap", "gaussian-control-unet", verdict=None, status="not-applicable")
    assert is_control(late) and control_kind(late) == "gaussian-unet" and not is_control(records[0])
    m = matrix(records + [late], ["psnr-gap", "originality", "celeba-facts"])
    # the male column holds only a not-applicable run (a protocol this profile lacks): it goes, named,
    # and originality, which has no other run outside the controls, with it
    assert m["columns"] == ["random", "identity", "other"] and m["absent"] == ["male"] and m["hidden"] == ["originality"]
    rows = dict(m["rows"])
    assert list(rows) == ["psnr-gap", "celeba-facts"] and [r["param_id"] for r in rows["psnr-gap"]["random"]] == ["random-N10"]
    # a column with a verdict beside not-applicable runs stays
    m = matrix(records + [_r("originality", "male-N10", params={"protocol": "male"})], ["psnr-gap", "originality"])
    assert "male" in m["columns"] and m["absent"] == [] and m["hidden"] == []


def test_rule_text_and_profile_summary():
    assert rule_text({"name": "Wilcoxon", "alpha": 0.05, "false_positive_rate": 0.048, "power": 0.8, "simulations": 1000}, fmt) == \
        "Wilcoxon, alpha 0.05, measured false-positive rate 0.048, power 0.8, over 1,000 simulations"
    assert rule_text(None, fmt) == ""
    smoke = profile_summary("smoke")
    assert "16x16" in smoke["cannot"] and "testbed" in smoke["cannot"] and smoke["facts"]
    assert profile_summary("no-such-profile")["can"] == ""
    # the replicates line names the replicated cells; a real-image profile is not "the papers' data"
    assert "replicates of the pairs at random N = 300, random N = 1,000, random N = 4,000" in smoke["facts"][-1]
    fashion = profile_summary("fashion")
    assert "Fashion-MNIST" in fashion["facts"][0] and "identities" in fashion["cannot"] and "papers' data" not in fashion["can"]
    assert fashion["facts"][-1].endswith("replicates of the pairs at random N = 18,000, footwear N = 18,000")
