"""Progress of a long run and its phase timings: the ETA scales the remaining estimates by what the
finished items took; a terminal gets one line rewritten in place, a log one line per finished item;
the zoo's builder reports every model it trains (in-process and in a pool); the plan counts what is
cached and what is not; `memgen zoo build` prints the plan and one line per model to a log."""

import io

import pytest

from studies.progress import PhaseTimer, Progress, fmt_duration, ordered, phases_from_env


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_eta_scales_remaining_estimates_by_the_measured_rate():
    clock = Clock()
    out = io.StringIO()
    p = Progress("models trained", 3, stream=out, live=False, estimates={"a": 10.0, "b": 10.0, "c": 20.0}, clock=clock)
    assert p.eta() == pytest.approx(40.0)  # nothing finished: the plan's estimate
    assert Progress("x", 3, stream=out, live=False, clock=clock).eta() is None  # no estimates, no rate: unknown
    p.start("a")
    clock.t = 30.0  # three times slower than estimated
    p.finish("a", 30.0)
    assert p.eta() == pytest.approx(90.0)  # (10 + 20) estimated seconds left, at 3x
    lines = out.getvalue().splitlines()
    assert lines == ["memgen: models trained 1/3 done: a in 30s; elapsed 30s, ETA 1m30s"]
    p.finish("b", 30.0)
    p.finish("c", 60.0)
    assert p.eta() == 0.0 and len(out.getvalue().splitlines()) == 3


def test_live_display_rewrites_one_line_and_ends_it():
    clock = Clock()
    out = io.StringIO()
    p = Progress("pairs evaluated", 2, stream=out, live=True, clock=clock)
    p.start("smoke/random/N10")
    clock.t = 5.0
    p.finish("smoke/random/N10", 5.0)
    p.start("smoke/random/N300")
    text = out.getvalue()
    assert "\n" not in text and text.count("\r") == 3
    assert "now: smoke/random/N300" in text.split("\r")[-1] and "1/2" in text.split("\r")[-1]
    p.finish("smoke/random/N300", 5.0)
    assert out.getvalue().endswith("\n") and "ETA 0s" in out.getvalue().split("\r")[-1]


def test_phase_timer_adds_wall_and_cpu_per_phase(monkeypatch):
    t = PhaseTimer()
    with t.measure("training", note="2 models"):
        sum(range(200_000))
    with t.measure("training"):
        pass
    t.add("data", 1.5, 1.0)
    assert t.wall("training") > 0 and t.cpu("training") >= 0 and t.phases["training"]["note"] == "2 models"
    assert list(ordered({"report": {}, "data": {}, "setup": {}, "extra": {}})) == ["setup", "data", "report", "extra"]
    monkeypatch.setenv("MEMGEN_PHASES", '{"setup": {"wall_s": 12.5, "cpu_s": 3.0}, "junk": 1}')
    assert phases_from_env() == {"setup": {"wall_s": 12.5, "cpu_s": 3.0}}
    monkeypatch.setenv("MEMGEN_PHASES", "not json")
    assert phases_from_env() == {}
    assert (fmt_duration(59), fmt_duration(61), fmt_duration(3700)) == ("59s", "1m01s", "1h01m")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.test_zoo_build import _tiny, isolated

    with isolated(tmp_path_factory):
        yield _tiny()


class Recorder:
    def __init__(self):
        self.events = []

    def start(self, label):
        self.events.append(("start", label))

    def finish(self, label, seconds):
        assert seconds >= 0
        self.events.append(("finish", label))


@pytest.mark.parametrize("workers", [1, 2])
def test_build_missing_reports_each_model(tiny, tmp_path, workers):
    from studies.zoo import Zoo, build_missing, missing_specs

    zoo = Zoo(tmp_path, progress=False)
    specs = missing_specs(zoo, tiny)[:3]
    rec = Recorder()
    done = build_missing(zoo, specs, executor="local", workers=workers, profiles={tiny.name: tiny}, progress=rec)
    assert len(done) == 3
    labels = [s.label() for s in specs]
    assert sorted(l for e, l in rec.events if e == "finish") == sorted(labels)
    assert sorted(l for e, l in rec.events if e == "start") == sorted(labels)
    for label in labels:  # each model starts before it finishes
        assert rec.events.index(("start", label)) < rec.events.index(("finish", label))


def test_plan_counts_cached_models_and_uses_the_measured_rate(tiny, tmp_path):
    from studies.run_plan import make_plan, measured_rate
    from studies.zoo import Zoo, build_missing, missing_specs

    zoo = Zoo(tmp_path, progress=False)
    assert measured_rate(zoo.root, tiny.model, tiny.data.resolution) == (None, "")
    needed = zoo.specs(tiny)
    build_missing(zoo, needed[:1], profiles={tiny.name: tiny})
    rate, source = measured_rate(zoo.root, tiny.model, tiny.data.resolution)
    assert rate > 0 and "1 models" in source
    # the same model config at another image size is another rate (smoke 16x16 vs fashion 28x28)
    assert measured_rate(zoo.root, tiny.model, tiny.data.resolution + 12) == (None, "")
    missing = missing_specs(zoo, tiny)
    plan = make_plan(zoo, tiny, needed, missing, workers=2)
    assert plan.models_total == len(needed) and len(plan.to_train) == len(needed) - 1
    assert plan.rate_flops == rate and set(plan.estimates) == {s.label() for s in missing}
    assert plan.pairs == [("random", 3, 0), ("random", 20, 0)] and plan.pairs_cached == 0
    text = plan.describe()
    assert f"{len(needed) - 1} to train (2 at a time)" in text and "2 A/B pairs, 0 cached" in text


def test_plan_counts_a_pair_cached_under_the_key_the_evaluation_uses(tiny, tmp_path, monkeypatch):
    """The plan's evaluation key is the fixture's, held-out set included: a data set with its own
    held-out images (Fashion-MNIST's test set) once made the plan call every cached pair "to evaluate"."""
    from studies.evaluation import SUMMARY_FILE, evaluation_key
    from studies.run_plan import make_plan
    from studies.zoo import Zoo, build_missing

    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    zoo = Zoo(tmp_path / "zoo", progress=False)
    needed = zoo.specs(tiny)
    pair = [s for s in needed if s.protocol == "random" and s.n == 3]
    build_missing(zoo, pair, profiles={tiny.name: tiny})
    ds = zoo.dataset(tiny, "random")
    monkeypatch.setitem(ds.manifest, "heldout", {"sha256": "0" * 64})  # as a data set with its own test images has
    a, b = zoo.get(tiny, "random", "A", 3), zoo.get(tiny, "random", "B", 3)
    assert a.dataset is ds
    summary = tmp_path / "cache" / "evaluations" / evaluation_key(a, b, tiny, k=10) / SUMMARY_FILE
    summary.parent.mkdir(parents=True)
    summary.write_text("{}")
    plan = make_plan(zoo, tiny, needed, [], workers=1)
    assert plan.pairs_cached == 1


def test_plan_lists_the_models_a_claim_trains_when_its_test_runs(monkeypatch):
    """memorisation-time-grows trains snapshotted models inside its test: the plan names them with
    their time (fashion's 4 took ~10 unannounced minutes on 2026-12-03)."""
    from studies.memtime import memtime_config, model_label, training_estimates
    from studies.profiles import get_profile
    from studies.run_plan import RunPlan
    from studies.zoo import training_flops

    monkeypatch.setenv("MEMGEN_ZOO_WORKERS", "2")
    prof = get_profile("smoke")
    cfg = memtime_config(prof)
    missing = [(n, "A") for n in cfg.ns]
    est = training_estimates(prof, cfg, missing, 1e9)
    assert list(est) == [model_label(prof, cfg, n, "A") for n in cfg.ns] == [f"smoke/random/A/N{n}/snapshots" for n in cfg.ns]
    # smoke's exposure is 25,600 samples an epoch at every N of the memtime grid (tile: floor(25,600 / N) copies)
    assert est["smoke/random/A/N10/snapshots"] == training_flops(prof.model, 16, cfg.run.epochs * 25_600) / 1e9
    plan = RunPlan(profile="smoke", models_total=0, in_claims=est, in_claims_what="memorisation-time-grows' snapshotted models")
    text = plan.describe()
    assert "memorisation-time-grows' snapshotted models: 4 to train when the tests that use them run (2 at a time)" in text
    assert plan.in_claims_seconds == sum(est.values()) / 2
    assert "estimated training and evaluation" in text and "the models trained inside the claims included" in text


def test_plan_lists_the_gaussian_control_unet_pair_until_it_is_built(tmp_path, monkeypatch):
    """gaussian-control-unet trains its UNet pair inside its first test: an empty zoo lists both with
    their time at smoke's exposure; a zoo holding them lists none."""
    from studies import gaussian_unet as gu
    from studies.claims.core import GAUSSIAN_UNET_GRID
    from studies.profiles import get_profile
    from studies.zoo import ENTRY_FILE, MODEL_FILE, Zoo, training_flops

    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    prof, zoo = get_profile("smoke"), Zoo(tmp_path / "zoo")
    missing = gu.missing_models(zoo, prof, GAUSSIAN_UNET_GRID)
    assert missing == [(4000, "A", 0), (4000, "B", 0)]
    est = gu.training_estimates(prof, missing, 1e9)
    # smoke's random exposure: floor(25,600 / 4,000) = 6 copies of the 4,000 images an epoch, 4 epochs
    assert est == {f"smoke/gaussian-unet/{g}/N4000": training_flops(prof.model, 16, 4 * 6 * 4000) / 1e9 for g in "AB"}
    _, sha = gu._draw(16, 0)
    for g in "AB":  # the files by which the zoo calls a model complete (weights, model record, entry)
        folder = zoo.root / gu.address(prof, 4000, g, 0, sha)
        folder.mkdir(parents=True)
        for name in (MODEL_FILE, "model.json", ENTRY_FILE):
            (folder / name).write_text("{}")
    assert gu.missing_models(zoo, prof, GAUSSIAN_UNET_GRID) == []


def test_zoo_build_cli_prints_the_plan_and_a_line_per_model(tiny, tmp_path, capsys):
    from studies.cli import main as memgen

    assert memgen(["zoo", "build", "--profile", tiny.name, "--root", str(tmp_path), "--protocol", "random"]) == 0
    captured = capsys.readouterr()
    assert "memgen plan (profile zootest):" in captured.out
    lines = [l for l in captured.err.splitlines() if l.startswith("memgen: models trained")]
    assert len(lines) == 4 and lines[-1].startswith("memgen: models trained 4/4 done: zootest/random/")


def test_ticking_redraws_a_live_line_while_an_item_runs_and_is_silent_in_a_log():
    import time as _time

    out = io.StringIO()
    p = Progress("models trained", 1, stream=out, live=True)
    with p.ticking(every=0.02):
        p.start("smoke/random/A/N10")
        _time.sleep(0.2)
        p.finish("smoke/random/A/N10", 0.2)
    assert out.getvalue().count("\r") >= 4 and out.getvalue().endswith("\n")
    log = io.StringIO()
    q = Progress("models trained", 1, stream=log, live=False)
    with q.ticking(every=0.02):
        q.start("x")
        _time.sleep(0.1)
        q.finish("x", 0.1)
    assert log.getvalue().count("\n") == 1 and "\r" not in log.getvalue()


def test_the_plan_knows_when_memorisation_time_grows_will_train():
    """Only memorisation-time-grows on trained models (raw / standardised) trains snapshotted
    models; its control cases and other claims do not."""
    from types import SimpleNamespace

    from fixtures.evaluation import _selects_memtime

    def item(claim, **params):
        marker = SimpleNamespace(args=(claim,), kwargs={})
        return SimpleNamespace(callspec=SimpleNamespace(params=params), get_closest_marker=lambda name: marker if name == "claim" else None)

    def session(*items):
        return SimpleNamespace(items=list(items))

    assert _selects_memtime(session(item("memorisation-time-grows", space="raw")))
    assert _selects_memtime(session(item("psnr-gap", protocol="random"), item("memorisation-time-grows", space="standardised")))
    assert not _selects_memtime(session(item("memorisation-time-grows", space="random-control-memorising"),
                                        item("memorisation-time-grows", space="gaussian-control")))
    assert not _selects_memtime(session(item("psnr-gap", protocol="random")))
