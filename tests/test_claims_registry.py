"""Registry of SPEC §8 claims, expectation lookup order, and the `memgen verdict` command line."""

import argparse
import re

import pytest

from studies.claims.expectations import ANY, load_expectations, lookup
from studies.claims.registry import CLAIMS, ClaimInfo, get_claim, register_claim
from studies.cli.verdict import build_command
from studies.errors import InputError

SPEC_IDS = """dedup-equivalence dedup-memory dedup-count celeba-facts unet-params split-integrity psnr-gap
memorization-small-n same-noise-convergence originality attribute-respected attribute-weakens-convergence
identity-psnr-equal identity-less-stable lpips-rank-inversion correlation-overstates-originality""".split()
# claims made with the field's own measures (SPEC §12)
FIELD_IDS = """memorised-fraction-falls memorisation-time-grows""".split()


def test_registry_holds_exactly_the_sixteen_spec_claims():
    assert sorted(CLAIMS) == sorted(SPEC_IDS + FIELD_IDS)
    assert get_claim("psnr-gap").source == "K24 Fig. 1; T25 Fig. 2"
    assert get_claim("celeba-facts").module == "claims/test_celeba_facts.py"


def test_registry_refuses_duplicates_and_bad_ids():
    with pytest.raises(InputError, match="already registered"):
        register_claim(ClaimInfo("psnr-gap", "s", "t", "m"))
    with pytest.raises(InputError, match="lower-case"):
        register_claim(ClaimInfo("PSNR gap", "s", "t", "m"))
    with pytest.raises(InputError, match="unknown claim id 'nope'"):
        get_claim("nope")


def test_registry_refuses_an_unknown_use_of_replicates():
    with pytest.raises(InputError, match="replicates must be one of"):
        register_claim(ClaimInfo("replicate-test", "s", "t", "m", replicates="some"))


def test_registered_zoo_needs_match_what_the_claim_modules_read():
    """The registry says what a claim needs of the zoo (fixtures.evaluation builds it from that); the
    claim's module is where it reads it: the two must agree, or a run would not train what a claim reads."""
    from pathlib import Path

    from studies.claims.registry import CELL_REPLICATES, NO_REPLICATES, WITH_RANDOM_REPLICATES

    root = Path(__file__).resolve().parents[1]
    for info in CLAIMS.values():
        text = (root / info.module).read_text(encoding="utf-8")
        with_random = any(s in text for s in ("replicated_with_random_reference(", "convergence_vs_random_case("))
        cells = any(s in text for s in ("cell_evaluations(", "grid_case(", "replicate=r"))
        expected = WITH_RANDOM_REPLICATES if with_random else CELL_REPLICATES if cells else NO_REPLICATES
        zoo = re.search(r"def test_\w+\([^)]*\b(evaluation|trained|zoo)\b", text) is not None  # a fixture of trained models
        assert (info.zoo, info.replicates, info.compares_with_random) == (zoo, expected, with_random), info.id
        assert "@pytest.mark.zoo" not in text, f"{info.module}: the registry's zoo=True marks the tests"
        assert f'@pytest.mark.claim("{info.id}")' in text, f"{info.module}: the marker names the id only"


def test_lookup_prefers_exact_profile_and_id(tmp_path):
    text = ""
    for profile, key in [("smoke", "random-N10"), ("smoke", "*"), ("*", "random-N10"), ("*", "*")]:
        text += f'["{profile}"."{key}"]\nexpected = "SUPPORTED"\nprovenance = "{profile}/{key}"\nwhy = "w"\n'
    path = tmp_path / "psnr-gap.toml"
    path.write_text(text)
    table = load_expectations(path, "psnr-gap")
    assert lookup(table, "smoke", "random-N10").provenance == "smoke/random-N10"
    assert lookup(table, "smoke", "identity-N10").provenance == "smoke/*"
    assert lookup(table, "celeba40", "random-N10").provenance == "*/random-N10"
    assert lookup(table, "celeba40", "male-N10").provenance == "*/*"
    assert lookup(table, "celeba40", ANY).provenance == "*/*"
    del table[("*", "*")]
    assert lookup(table, "celeba40", "male-N10") is None


def test_unknown_keys_in_an_expectation_are_refused_with_the_line(tmp_path):
    path = tmp_path / "psnr-gap.toml"
    path.write_text('[smoke.x]\nexpected = "REFUTED"\nprovenance = "p"\nwhy = "w"\nexpectd = "SUPPORTED"\n')
    with pytest.raises(InputError, match=r"psnr-gap.toml:5: .*unknown key 'expectd'"):
        load_expectations(path, "psnr-gap")


def test_contradicted_prediction_kept_beside_its_snapshot(tmp_path):
    path = tmp_path / "psnr-gap.toml"
    path.write_text('[fashion.random]\nexpected = "REFUTED"\nkind = "snapshot"\npredicted = "SUPPORTED"\n'
                    'finding = "the gap did not close"\nprovenance = "p"\nwhy = "w"\n')
    e = lookup(load_expectations(path, "psnr-gap"), "fashion", "random")
    assert (e.expected.value, e.kind, e.predicted.value, e.finding) == ("REFUTED", "snapshot", "SUPPORTED", "the gap did not close")
    path.write_text('[fashion.random]\nexpected = "REFUTED"\nkind = "prediction"\npredicted = "SUPPORTED"\nfinding = "f"\nprovenance = "p"\nwhy = "w"\n')
    with pytest.raises(InputError, match="'predicted' belongs to a snapshot"):
        load_expectations(path, "psnr-gap")
    path.write_text('[fashion.random]\nexpected = "REFUTED"\npredicted = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n')
    with pytest.raises(InputError, match="'predicted' needs 'finding'"):
        load_expectations(path, "psnr-gap")


def test_machine_keyed_snapshot_applies_on_its_machine_only(tmp_path, monkeypatch):
    import studies.claims.expectations as expectations

    path = tmp_path / "psnr-gap.toml"
    path.write_text('[smoke.random]\nexpected = "INCONCLUSIVE"\nkind = "snapshot"\n'
                    'machines = { "CPU X / 0123" = "REFUTED" }\nmachines_why = "seen on X"\nprovenance = "p"\nwhy = "w"\n')
    monkeypatch.setattr(expectations, "machine_key", lambda: "CPU Y / 4567")
    e = lookup(load_expectations(path, "psnr-gap"), "smoke", "random")
    assert (e.expected.value, e.machine, e.why) == ("INCONCLUSIVE", None, "w")
    monkeypatch.setattr(expectations, "machine_key", lambda: "CPU X / 0123")
    e = lookup(load_expectations(path, "psnr-gap"), "smoke", "random")
    assert (e.expected.value, e.machine, e.kind) == ("REFUTED", "CPU X / 0123", "snapshot") and "seen on X" in e.provenance
    # on a prediction, a machine's own verdict is an observation that contradicted it there
    path.write_text('[smoke.random]\nexpected = "SUPPORTED"\nkind = "prediction"\n'
                    'machines = { "CPU X / 0123" = "INCONCLUSIVE" }\nmachines_why = "fails on X"\nprovenance = "p"\nwhy = "w"\n')
    e = lookup(load_expectations(path, "psnr-gap"), "smoke", "random")
    assert (e.expected.value, e.kind, e.predicted.value, e.finding) == ("INCONCLUSIVE", "snapshot", "SUPPORTED", "fails on X")
    path.write_text('[smoke.random]\nexpected = "SUPPORTED"\nmachines = { "CPU X / 0123" = "MAYBE" }\nmachines_why = "m"\nprovenance = "p"\nwhy = "w"\n')
    with pytest.raises(InputError, match="MAYBE"):
        load_expectations(path, "psnr-gap")
    path.write_text('[smoke.random]\nexpected = "SUPPORTED"\nmachines = { "CPU X / 0123" = "REFUTED" }\nprovenance = "p"\nwhy = "w"\n')
    with pytest.raises(InputError, match="'machines' needs 'machines_why'"):
        load_expectations(path, "psnr-gap")


def _args(**kw):
    base = dict(profile=None, k=None, n=None, report_dir=None, recalibrate=False, celeba=None, pytest_args=[], array=None, images=None, labels=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_verdict_command_line():
    cmd = build_command(_args(profile="smoke", k="identity", n=2))
    assert cmd[1:] == ["-m", "pytest", "claims/", "--profile", "smoke", "-k", "identity", "-n", "2"]
    cmd = build_command(_args(pytest_args=["--", "claims/test_celeba_facts.py", "-q"]))
    assert cmd[3:] == ["claims/test_celeba_facts.py", "-q"]
    with pytest.raises(InputError, match="unknown profile"):
        build_command(_args(profile="nope"))


def test_where_a_claim_applies_is_registered_once():
    """A claim test that runs per protocol takes its cases from the registry (ClaimInfo.cases, the
    plugin parametrises ``protocol``), so no claim module carries its own list of protocols."""
    import inspect
    from pathlib import Path

    import pytest

    from studies.claims.core import CONTROLS, PROTOCOLS
    from studies.claims.registry import CLAIMS, ClaimInfo, register_claim
    from studies.errors import InputError

    root = Path(__file__).resolve().parents[1]
    for info in CLAIMS.values():
        text = (root / info.module).read_text()
        import re

        signature = re.search(r"^def test_\w+\(([^)]*)\)", text, re.M).group(1)
        own_list = re.search(r'@pytest\.mark\.parametrize\("protocol\b', text) is not None  # split-integrity: (protocol, source) pairs
        runs_per_protocol = re.search(r"\bprotocol\b", signature) is not None and not own_list
        assert runs_per_protocol == bool(info.cases), f"{info.id}: cases {info.cases} vs its test's protocol argument"
        assert '@pytest.mark.parametrize("protocol",' not in text, f"{info.module}: the cases live in the registry"
        assert all(c in PROTOCOLS or c in CONTROLS for c in info.cases)
    with pytest.raises(InputError, match="unknown cases"):
        register_claim(ClaimInfo(id="x-unknown-case", source="s", statement="s", measurable="m", cases=("nowhere",)))
    assert "x-unknown-case" not in CLAIMS and inspect.isfunction(register_claim)
