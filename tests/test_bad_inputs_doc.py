"""docs/BAD_INPUTS.md lists every row of the bad-input tables, and its counts show no traceback
and no silent result (regenerate its tables with scripts/bad_inputs_table.py when a row is added)."""

import re
from pathlib import Path

import test_bad_inputs_arrays as arrays
import test_bad_inputs_cache as cache
import test_bad_inputs_celeba as celeba
import test_bad_inputs_checkpoints as checkpoints
import test_bad_inputs_images as images
import test_bad_inputs_cli as cli
import test_zoo_recovery as zoo

DOC = Path(__file__).resolve().parents[1] / "docs" / "BAD_INPUTS.md"


def test_every_row_is_documented():
    text = DOC.read_text(encoding="utf-8")
    ids = [r[0] for r in celeba.REFUSED + celeba.ACCEPTED + arrays.REFUSED + checkpoints.REFUSED + cli.ROWS + cli.SPLIT_ROWS]
    ids += [r[0] + suffix for r in cache.FAULTS for suffix in (" (read)", " (build)")]
    ids += list(zoo.ENTRY_FAULTS)
    ids += [r[0] + suffix for r in images.ROWS for suffix in ("", " (--skip-bad)")]
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"rows missing from {DOC.name}: {missing}"


def test_no_traceback_and_no_silent_result():
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"\*\*Counts:\*\* (\d+) inputs; (\d+) named error, (\d+) recovered, (\d+) TRACEBACK, (\d+) SILENT", text)
    assert m, "counts line missing"
    total, named, recovered, tb, silent = map(int, m.groups())
    assert (tb, silent) == (0, 0) and named + recovered == total
    assert "| TRACEBACK |" not in text and "| SILENT |" not in text
