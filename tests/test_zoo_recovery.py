"""Zoo entries and training folders whose JSON files are corrupt: a finished entry is rebuilt with a
warning saying why, an unfinished run with unreadable resumption state starts over, and a torn last
log line (what a kill during the append leaves) is dropped on resume; the resumed weights equal an
uninterrupted run's."""

import json
import logging

import pytest
import torch

from studies.config import ModelConfig, TrainConfig
from studies.errors import ArtifactError
from studies.train import read_log, train
from studies.zoo import Zoo

from test_zoo_build import _tiny, isolated

MODEL = ModelConfig(blocks=1, width=4)
FAST = TrainConfig(epochs=3, batch_size=16, eval_images=8, lr_decay_every=1, seed=0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with isolated(tmp_path_factory):
        yield _tiny()


@pytest.fixture(scope="module")
def built(tiny, tmp_path_factory):
    """One finished entry, copied per test that damages it."""
    root = tmp_path_factory.mktemp("zoo")
    m = Zoo(root, progress=False).get(tiny, "random", "A", 3)
    return root, m.key, m


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


# each: what is done to the finished entry, and the words the warning must contain
ENTRY_FAULTS = {
    "log-garbled": (lambda d: (d / "log.jsonl").write_text('{"epoch": 1}\n{not json\n'), "log.jsonl: line 2 is not valid JSON"),
    "log-missing": (lambda d: (d / "log.jsonl").unlink(), "log.jsonl: training log is missing"),
    "log-torn": (lambda d: (d / "log.jsonl").write_text((d / "log.jsonl").read_text()[:-7]), "log.jsonl: line 2 is incomplete"),
    "log-not-rows": (lambda d: (d / "log.jsonl").write_text("[1, 2]\n"), "line 1 is not a log row"),
    "log-empty": (lambda d: (d / "log.jsonl").write_text(""), "log of a finished model is empty"),
    "model-json-list": (lambda d: (d / "model.json").write_text("[]"), "model.json: holds a JSON list"),
    "model-json-garbled": (lambda d: (d / "model.json").write_text("{"), "model.json: not valid JSON"),
    "model-json-blocks-str": (lambda d: _edit(d / "model.json", lambda m: m["model_config"].update(blocks="1")), "ModelConfig.blocks: expected int"),
    "entry-json-list": (lambda d: (d / "entry.json").write_text("[1]"), "entry.json: zoo entry record holds a list"),
    "entry-json-garbled": (lambda d: (d / "entry.json").write_bytes(b"\xff\xfe"), "entry.json: zoo entry record is not valid JSON"),
    "weights-flipped": (lambda d: _flip(d / "model.safetensors"), "does not match model.json"),
}


def _edit(path, change):
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


def _flip(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fault", sorted(ENTRY_FAULTS))
def test_corrupt_entry_is_rebuilt_with_a_message(tiny, built, tmp_path, caplog, fault):
    import shutil

    root, key, good = built
    shutil.copytree(root / key, tmp_path / key)
    damage, words = ENTRY_FAULTS[fault]
    damage(tmp_path / key)
    caplog.set_level(logging.WARNING, logger="memgen.zoo")
    zoo = Zoo(tmp_path, progress=False)
    m = zoo.get(tiny, "random", "A", 3)
    assert zoo.trained == 1, "rebuilt, not used"
    assert "is corrupt" in caplog.text and words in caplog.text and "rebuilding" in caplog.text
    assert m.key == key and _same(m.net, good.net) and len(m.log) == len(good.log)
    # the rebuilt entry is whole: the next process loads it without training
    again = Zoo(tmp_path, progress=False)
    again.get(tiny, "random", "A", 3)
    assert again.trained == 0
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name], "the corrupt copy is deleted"


def test_build_false_names_the_corruption_and_trains_nothing(tiny, built, tmp_path):
    import shutil

    root, key, _ = built
    shutil.copytree(root / key, tmp_path / key)
    (tmp_path / key / "log.jsonl").write_text("{\n")
    zoo = Zoo(tmp_path, progress=False)
    with pytest.raises(ArtifactError, match=r"is corrupt: .*log\.jsonl: line 1 is not valid JSON"):
        zoo.get(tiny, "random", "A", 3, build=False)
    assert zoo.trained == 0 and (tmp_path / key / "log.jsonl").read_text() == "{\n"


@pytest.mark.parametrize("fault, words", [
    ("run-json-garbled", "run.json: run record is not valid JSON"),
    ("run-json-list", "run.json: run record holds a list"),
    ("pointer-garbled", "checkpoint.json: checkpoint pointer is not valid JSON"),
    ("pointer-no-file", "checkpoint pointer names no checkpoint file"),
    ("log-middle-line", "log.jsonl: line 1 is not valid JSON"),
])
def test_unresumable_unfinished_run_starts_over_in_the_zoo(tiny, built, tmp_path, caplog, fault, words):
    """An interrupted zoo run whose resumption state is unreadable is trained from the start."""
    root, key, good = built
    zoo = Zoo(tmp_path, progress=False)
    folder = tmp_path / key
    # an unfinished run: what a kill after the first epoch's checkpoint leaves
    ds = zoo.dataset(tiny)
    split = zoo.split(tiny, "random", 3)
    from studies.zoo import train_config

    train(ds.images[torch.from_numpy(split.a)], ds.images[torch.from_numpy(split.b)], tiny.model, train_config(tiny, "A"),
          n_total=split.exposure_a.n_total, exposure_mode=split.exposure_a.mode, out_dir=folder, progress=False, stop_after_epoch=1)
    if fault == "run-json-garbled":
        (folder / "run.json").write_text("{")
    elif fault == "run-json-list":
        (folder / "run.json").write_text("[]")
    elif fault == "pointer-garbled":
        (folder / "checkpoint.json").write_text("nope")
    elif fault == "pointer-no-file":
        (folder / "checkpoint.json").write_text('{"file": "../x", "epoch": 1}')
    elif fault == "log-middle-line":
        (folder / "log.jsonl").write_text("{torn\n" + (folder / "log.jsonl").read_text())
    caplog.set_level(logging.WARNING, logger="memgen.zoo")
    m = zoo.get(tiny, "random", "A", 3)
    assert "cannot be resumed" in caplog.text and words in caplog.text and "starting it over" in caplog.text
    assert _same(m.net, good.net) and len(m.log) == len(good.log)


def test_torn_last_log_line_is_dropped_on_resume(tmp_path, caplog):
    a = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    b = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    full = train(a, b, MODEL, FAST, n_total=30, out_dir=tmp_path / "full", progress=False)
    train(a, b, MODEL, FAST, n_total=30, out_dir=tmp_path / "cut", progress=False, stop_after_epoch=1)
    log_file = tmp_path / "cut" / "log.jsonl"
    # a kill in the middle of appending epoch 2's row: half a line, no newline
    row = json.dumps({"epoch": 2, "steps": 4, "lr": 0.0005, "train_loss": 0.1})
    with open(log_file, "a") as f:
        f.write(row[: len(row) // 2])
    with pytest.raises(ArtifactError, match="line 2 is incomplete"):
        read_log(log_file, allow_torn_tail=False)
    caplog.set_level(logging.WARNING, logger="memgen.train")
    resumed = train(a, b, MODEL, FAST, n_total=30, out_dir=tmp_path / "cut", progress=False)
    assert "dropping the torn last line 2" in caplog.text
    assert _same(resumed.net, full.net)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(resumed.log) == strip(full.log)
    assert log_file.read_text().endswith("\n") and len(read_log(log_file, allow_torn_tail=False)) == FAST.epochs


def test_train_on_a_finished_folder_with_a_corrupt_record_names_it(tmp_path):
    a = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    train(a, a, MODEL, FAST, n_total=30, out_dir=tmp_path, progress=False)
    (tmp_path / "run.json").write_text('"a string"')
    with pytest.raises(ArtifactError, match=r"run\.json: run record holds a str"):
        train(a, a, MODEL, FAST, n_total=30, out_dir=tmp_path, progress=False)
