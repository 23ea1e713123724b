"""Print docs/BAD_INPUTS.md's tables: every row of the bad-input test tables (tests/test_bad_inputs_*.py)
run through the CLI, with the exit code and the first line memgen printed. Run from the checkout:
``PYTHONPATH=. python scripts/bad_inputs_table.py > docs/BAD_INPUTS.tables.md`` (paths are shown as
<tmp>, <cache>). A row whose command ends in a traceback is printed as TRACEBACK, a row that exits 0
without the documented recovery as SILENT: the document's counts come from this output."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from studies.cli import main  # noqa: E402

counts = {"named error": 0, "recovered": 0, "TRACEBACK": 0, "SILENT": 0}


def cli(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
        except BaseException:  # noqa: BLE001 - what the table is for
            return "TRACEBACK", traceback.format_exc().strip().splitlines()[-1]
    return rc, err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""


def clean(text, *paths):
    for p, name in paths:
        text = text.replace(str(p), name)
    return re.sub(r"[0-9a-f]{16}\.\.\.", "…", text).replace("|", "\\|")


def row(section_rows, rid, rc, msg, recovered=False):
    if rc == "TRACEBACK":
        kind = "TRACEBACK"
    elif rc == 2:
        kind = "named error"
    elif recovered:
        kind = "recovered"
    else:
        kind = "SILENT"
    counts[kind] += 1
    section_rows.append(f"| `{rid}` | {rc} | {kind} | {msg} |")


def header(title, intro):
    print(f"\n### {title}\n\n{intro}\n\n| input | exit | result | what memgen says |\n|---|---|---|---|")


def main_():
    from bad_input_common import populated_cache, write_meta

    class Factory:
        def mktemp(self, name):
            return Path(tempfile.mkdtemp(prefix=name))

    cache = populated_cache(Factory())
    os.environ["MEMGEN_CACHE"] = str(cache)

    import test_bad_inputs_celeba as celeba
    header("CelebA metadata (attributes, identities, order files)", "Through `memgen data facts --meta DIR` (attribute and identity rows) or `memgen split make --order FILE` (order rows).")
    rows = []
    for rid, kind, content, _ in celeba.REFUSED:
        tmp = Path(tempfile.mkdtemp())
        meta, order = celeba._setup(tmp, kind, content)
        if kind == "order":
            rc, msg = cli(["split", "make", "--meta", meta, "--order", order, "--protocol", "random", "--n", "2", "--out", tmp / "s.json"])
        else:
            rc, msg = cli(["data", "facts", "--meta", meta])
        row(rows, rid, rc, clean(msg, (tmp, "<tmp>")))
    for rid, kind, content, _ in celeba.ACCEPTED:
        tmp = Path(tempfile.mkdtemp())
        meta, _ = celeba._setup(tmp, kind, content)
        rc, msg = cli(["data", "facts", "--meta", meta])
        row(rows, rid, rc, "accepted as documented (read like the clean file)" if rc == 0 else clean(msg, (tmp, "<tmp>")), recovered=rc == 0)
    print("\n".join(rows))

    import test_bad_inputs_arrays as arrays
    header("`.npy` arrays and dedup options", "Through `memgen dedup --data FILE [options]`.")
    rows = []
    for rid, writer, options, _ in arrays.REFUSED:
        tmp = Path(tempfile.mkdtemp())
        path = arrays._file(tmp, rid, writer)
        rc, msg = cli(["dedup", "--data", path, *options])
        row(rows, rid, rc, clean(msg, (tmp, "<tmp>")))
    print("\n".join(rows))

    import test_bad_inputs_checkpoints as ckpt
    header("Checkpoints and their sidecar JSON", "Through `memgen model check PATH [--blocks 1 --width 4]`. No pickle runs code.")
    rows = []
    for r in ckpt.REFUSED:
        tmp = Path(tempfile.mkdtemp())
        path = ckpt._write(tmp, r)
        rc, msg = cli(["model", "check", path, *r[3]])
        row(rows, r[0], rc, clean(msg, (tmp, "<tmp>")))
    tmp = Path(tempfile.mkdtemp())
    from safetensors.torch import save_file
    save_file(ckpt._state(), tmp / "w.pt")
    rc, msg = cli(["model", "check", tmp / "w.pt", *ckpt.ARCH])
    row(rows, "pt-is-safetensors", rc, "read as safetensors (it runs no code either)" if rc == 0 else msg, recovered=rc == 0)
    print("\n".join(rows))

    import test_bad_inputs_images as images
    header("Image files of a CelebA-layout folder", "Through `memgen data build --celeba DIR --res 16` (six 178x218 JPEGs, one damaged); then with `--skip-bad`.")
    rows = []
    for rid, damage, _, skippable in images.ROWS:
        tmp = Path(tempfile.mkdtemp())
        folder = images._folder(tmp, damage)
        rc, msg = cli(["data", "build", "--celeba", folder, "--res", "16"])
        row(rows, rid, rc, clean(msg, (tmp, "<tmp>")))
        os.environ["MEMGEN_CACHE"] = str(tmp / "cache")
        rc, msg = cli(["data", "build", "--celeba", folder, "--res", "16", "--skip-bad"])
        os.environ["MEMGEN_CACHE"] = str(cache)
        if rc == 0:
            row(rows, rid + " (--skip-bad)", rc, "built without the file; recorded in the manifest's skipped list", recovered=True)
        else:
            row(rows, rid + " (--skip-bad)", rc, clean(msg, (tmp, "<tmp>")))
    print("\n".join(rows))

    import test_bad_inputs_cache as cachemod
    header("Cache artifacts (dataset)", "Each fault applied to a dataset artifact; first `memgen dedup --data ARTIFACT` (a reader: refuses), then `memgen data build` (rebuilds, saying why).")
    rows = []
    import logging
    for rid, damage, _ in cachemod.FAULTS:
        root = Path(tempfile.mkdtemp()) / "cache"
        shutil.copytree(cache, root)
        os.environ["MEMGEN_CACHE"] = str(root)
        (folder,) = [p for p in (root / "datasets").iterdir() if p.is_dir()]
        damage(folder)
        rc, msg = cli(["dedup", "--data", folder])
        row(rows, rid + " (read)", rc, clean(msg, (folder, "<artifact>")))
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        logging.getLogger("memgen.data").addHandler(handler)
        logging.getLogger("memgen.data").setLevel(logging.INFO)
        rc, _ = cli(cachemod.BUILD)
        logging.getLogger("memgen.data").removeHandler(handler)
        said = [line for line in stream.getvalue().splitlines() if "failed verification" in line]
        ok = rc == 0 and said
        row(rows, rid + " (build)", rc, ("rebuilt: " + clean(said[0], (folder, "<artifact>"))) if said else "no message", recovered=bool(ok))
        os.environ["MEMGEN_CACHE"] = str(cache)
    print("\n".join(rows))

    import test_bad_inputs_cli as clim
    header("Command-line arguments and paths", "Each command as listed (with a metadata sample as `<meta>` and a plain file as `<file>`); rows from `split-index-huge` to `split-format`: a split artifact made by `memgen split make`, damaged, then given to `memgen split audit --a`; `cache-env-*`: `MEMGEN_CACHE` set so, then `memgen data build`.")
    rows = []
    for rid, argv, _ in clim.ROWS:
        tmp = Path(tempfile.mkdtemp())
        meta = write_meta(tmp / "meta")
        plain = tmp / "plain.bin"
        plain.write_bytes(b"x")
        rc, msg = cli([a.format(tmp=tmp, meta=meta, file=plain) for a in argv])
        row(rows, rid, rc, clean(msg, (plain, "<file>"), (meta, "<meta>"), (tmp, "<tmp>")))
    import json as _json
    for rid, change, _ in clim.SPLIT_ROWS:
        tmp = Path(tempfile.mkdtemp())
        meta = write_meta(tmp / "meta")
        cli(["split", "make", "--meta", meta, "--protocol", "random", "--n", "2", "--out", tmp / "s.json"])
        (tmp / "bad.json").write_text(_json.dumps(change(_json.loads((tmp / "s.json").read_text()))))
        rc, msg = cli(["split", "audit", "--meta", meta, "--a", tmp / "bad.json"])
        row(rows, rid, rc, clean(msg, (meta, "<meta>"), (tmp, "<tmp>")))
    for rid, value in (("cache-env-is-file", "{file}"), ("cache-env-impossible", "/proc/nope")):
        tmp = Path(tempfile.mkdtemp())
        plain = tmp / "plain.bin"
        plain.write_bytes(b"x")
        os.environ["MEMGEN_CACHE"] = value.format(file=plain)
        rc, msg = cli(["data", "build", "--synthetic", "--res", "16"])
        row(rows, rid, rc, clean(msg, (plain, "<file>")))
        os.environ["MEMGEN_CACHE"] = str(cache)
    print("\n".join(rows))
    print(f"\n**Counts:** {sum(counts.values())} inputs; " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".")


if __name__ == "__main__":
    main_()
