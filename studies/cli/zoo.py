"""``memgen zoo build``: train the models of a profile that are not in the zoo yet."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _at_least_one(text: str) -> int:
    """An integer >= 1, refused while the arguments are parsed rather than after the data is built."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser("zoo", help="trained denoisers: build the missing models of a profile, list them")
    sub = parser.add_subparsers(dest="zoo_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="train the missing models of a profile (or list them with --dry-run)")
    b.add_argument("--profile", required=True, help="profile name (smoke, celeba40, celeba80)")
    b.add_argument("--protocol", action="append", default=None, help="protocol to build (repeatable; default: all of the profile)")
    b.add_argument("--executor", choices=("local", "slurm"), default="local", help="local processes, or one Slurm job per model via submitit")
    b.add_argument("--workers", type=_at_least_one, default=1, help="local: parallel processes of one thread each (default 1: in this process)")
    b.add_argument("--eval-every", type=_at_least_one, default=1, help="log PSNR every K epochs and at the last (default 1, as K24); weights do not depend on it")
    b.add_argument("--dry-run", action="store_true", help="list the models with their estimated cost; train nothing")
    b.add_argument("--json", action="store_true", help="--dry-run: print JSON")
    b.add_argument("--root", type=Path, default=None, help="zoo folder (default: $MEMGEN_CACHE/zoo)")
    b.add_argument("--celeba", type=Path, default=None, help="real CelebA folder (profiles on real images)")
    b.add_argument("--slurm-partition", default=None)
    b.add_argument("--slurm-gpus", type=int, default=0, help="GPUs per job")
    b.add_argument("--slurm-cpus", type=int, default=1, help="CPUs per job")
    b.add_argument("--slurm-timeout-min", type=int, default=24 * 60)
    b.add_argument("--submitit-cluster", default=None, help=argparse.SUPPRESS)  # "local": run the jobs here (tests)
    b.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> int:
    from ..profiles import get_profile
    from ..zoo import Zoo, build_missing, missing_specs

    prof = get_profile(args.profile)
    zoo = Zoo(args.root, celeba_dir=args.celeba, eval_every=args.eval_every)
    if args.dry_run:
        rows = zoo.plan(prof, args.protocol, with_status=prof.data.source == "synthetic" or args.celeba is not None)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"{'model':<36} {'N':>7} {'copies':>6} {'steps':>9} {'FLOPs':>9} {'CPU-s':>10} {'GPU-h':>8}  status")
        for r in rows:
            print(f"{r['model']:<36} {r['n']:>7} {r['copies']:>6} {r['steps']:>9} {r['flops']:>9.2e} {r['cpu_seconds']:>10.0f} {r['gpu_hours']:>8.3f}  {r['status']}")
        todo = [r for r in rows if r["status"] == "missing" or r["status"].startswith("unknown")]
        blocked = [r for r in rows if r["status"].startswith("unavailable")]
        print(f"{len(rows)} models, {len(todo)} to build: {sum(r['cpu_seconds'] for r in todo):.0f} CPU-s (one core) "
              f"or {sum(r['gpu_hours'] for r in todo):.2f} GPU-h (estimates; parameters {rows[0]['parameters'] if rows else 0:,})"
              + (f"; {len(blocked)} cannot be built on this data" if blocked else ""))
        return 0
    specs = missing_specs(zoo, prof, args.protocol)
    print(f"{len(specs)} model(s) to build in {zoo.root}")
    progress = None
    if args.executor == "local" and specs:
        from ..progress import Progress
        from ..run_plan import make_plan

        needed = zoo.specs(prof, args.protocol)
        plan = make_plan(zoo, prof, needed, specs, workers=max(1, min(args.workers, len(specs))), protocols=args.protocol)
        print(plan.describe(), end="", flush=True)
        # a terminal gets one line rewritten in place; a log (CI) one line per finished model
        progress = Progress("models trained", len(specs), estimates=plan.estimates, parallel=plan.workers)
        zoo.progress = False  # the per-step bar of studies.train would break the one-line display
    slurm = {"cpus_per_task": args.slurm_cpus, "timeout_min": args.slurm_timeout_min}
    if args.slurm_partition:
        slurm["slurm_partition"] = args.slurm_partition
    if args.slurm_gpus:
        slurm["gpus_per_node"] = args.slurm_gpus
    import contextlib

    with progress.ticking() if progress is not None else contextlib.nullcontext():
        done = build_missing(zoo, specs, executor=args.executor, workers=args.workers, cluster=args.submitit_cluster, slurm=slurm, profiles={prof.name: prof}, progress=progress)
    for path in done:
        print(path)
    return 0
