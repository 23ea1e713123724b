"""``memgen dedup`` and ``memgen dedup compare`` end to end on small arrays."""

import json

import numpy as np
import pytest

from studies.cli import main
from studies.data.dedup import remove_duplicates
from studies.data.dedup_facelike import facelike


@pytest.fixture
def npy(tmp_path):
    x, _ = facelike(300, seed=2, duplicate_rate=0.05)
    removed = set(remove_duplicates(x, method="dense").tolist())
    k = next(k for k in range(100) if k not in removed and k + 100 not in removed)
    x[k + 100] = x[k]  # k and k + 1·b with b = 100: the published listing misses this pair
    path = tmp_path / "faces.npy"
    np.save(path, x)
    return path


def test_json_output_fields(npy, capsys):
    assert main(["dedup", "--data", str(npy), "--method", "exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"method", "pool", "n_in", "n_removed", "removed", "seconds", "peak_bytes"}
    assert out["method"] == "exact" and out["n_in"] == 300
    assert out["removed"] == sorted(out["removed"]) and out["n_removed"] == len(out["removed"])


def test_compare_names_the_first_disagreement(npy, capsys):
    assert main(["dedup", "compare", "--data", str(npy), "--a", "dense", "--b", "blockwise-published", "--block", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agree"] is False and out["removed_by"] == "dense"
    assert out["dense_pair"]["i"] == out["index"]
    assert main(["dedup", "compare", "--data", str(npy), "--a", "dense", "--b", "exact"]) == 0
    assert "agree" in capsys.readouterr().out


def test_bad_inputs_exit_2(tmp_path, capsys):
    assert main(["dedup", "--data", str(tmp_path / "missing.npy")]) == 2
    bad = tmp_path / "flat.npy"
    np.save(bad, np.zeros((3, 20, 20), np.float32))
    assert main(["dedup", "--data", str(bad)]) == 2
    assert "(N, C, H, W)" in capsys.readouterr().err
    np.save(bad, np.zeros((3, 1, 20, 20), np.float32))
    assert main(["dedup", "--data", str(bad), "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err
