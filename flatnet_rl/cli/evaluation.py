"""``flatnet-rl compare`` and ``flatnet-rl sweep``."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

from flatnet_rl.cli.classifier import add_data_arguments, data_spec
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.types import csv_of, int_in, non_negative_float, non_negative_int, positive_int
from flatnet_rl.evaluation.engines import ENGINES

if TYPE_CHECKING:
    from flatnet_rl.data import DataSpec

#: What ``compare`` runs on the embedded 8x8 digits without MODEL arguments: the two shipped
#: reward models, one model per other objective with its default hyperparameters and no
#: outliers (trained on the fly with the same 40 epochs / seed 0 as ``baseline``), and the
#: ensemble defences (5 baseline seeds: mean, and mean - 1 std).
DEFAULT_MODELS: tuple[str, ...] = (
    "flatnet",
    "baseline",
    "min_ent",
    "mix_ent",
    "pc_softmax",
    "dropmax",
    "label_smoothing",
    "logitnorm",
    "ensemble:baseline*5",
    "ensemble@k=1:baseline*5",
)
OTHER_OBJECTIVES = ("min_ent", "mix_ent", "pc_softmax", "dropmax", "label_smoothing", "logitnorm")
#: ... on MNIST 5k at a shipped size (28x28 training is slower): the shipped models of that
#: size and the two objectives that flatten without outliers, at the shipped recipe's epochs.
MNIST_OBJECTIVES = ("label_smoothing", "logitnorm")
#: ... on your own images: the two recipes and the other objectives, trained on them.
IMAGE_MODELS: tuple[str, ...] = (
    "entropy:kappa=0.3,outliers=2000",
    "ce",
    *OTHER_OBJECTIVES,
)
REPORT_FILES = ("report.md", "results.json", "table.md")


def default_models(data: DataSpec | None) -> list[str]:
    """The models ``compare`` evaluates when none are named, for the data."""
    from flatnet_rl.shipped import zoo_manifest, zoo_name

    if data is None or (data.source == "digits" and data.canvas == 8):
        return list(DEFAULT_MODELS)
    if data.is_digits:
        from flatnet_rl.training.specs import parse_model_spec

        zoo = zoo_manifest()
        shipped = [zoo_name(base, data.canvas) for base in ("flatnet", "baseline")]
        found = [name for name in shipped if name in zoo]
        if not found:
            return ["entropy:kappa=0.3,outliers=2000", "ce", *OTHER_OBJECTIVES]
        epochs = parse_model_spec(zoo[found[0]]["spec"])[1].get("epochs", 40)
        return found + [f"{loss}:epochs={epochs}" for loss in MNIST_OBJECTIVES]
    return list(IMAGE_MODELS)


def _eval_data(args: argparse.Namespace) -> DataSpec | None:
    from flatnet_rl.data import DataSpec

    spec = data_spec(args)
    return None if spec == DataSpec() else spec


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    e = parser.add_argument_group("evaluation data")
    e.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the evaluation data (outliers, targets, morph paths)",
    )
    e.add_argument(
        "--paths",
        type=positive_int,
        default=100,
        help="number of morph paths (forward and reverse each)",
    )
    e.add_argument(
        "--outliers-per-family", type=positive_int, default=1000, help="outlier images per family"
    )
    add_data_arguments(parser)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("where the jobs run")
    g.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local worker processes, or Ray tasks (the ray extra)",
    )
    g.add_argument(
        "--address",
        default=None,
        help="Ray cluster address ('auto': the running cluster; None: start a local Ray for "
        "the run)",
    )
    g.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        help="worker processes (one torch thread each; 1 = in this process), or the "
        "CPUs of a local Ray",
    )
    g.add_argument(
        "--cache",
        "--cache-dir",
        default="runs/cache",
        help="models trained from specs and finished job results, by hash (shared "
        "storage on a cluster)",
    )


def cmd_compare(args: argparse.Namespace) -> int:
    """Resolve (train if needed) and evaluate the models, write and print the report."""
    from flatnet_rl.agents.runs import check_outputs
    from flatnet_rl.evaluation.compare import evaluate_spec, hacking_row, load_hacking
    from flatnet_rl.evaluation.engines import check_engine, run_jobs
    from flatnet_rl.evaluation.report import write_report
    from flatnet_rl.evaluation.tables import comparison_table
    from flatnet_rl.training.model_specs import check_model_spec, resolve_model_spec

    check_engine(args.engine)  # before any model is resolved or job started
    check_outputs(args.out, REPORT_FILES, overwrite=args.overwrite)
    data = _eval_data(args)
    specs = resolve_clip_specs(list(args.models), args) or default_models(data)
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"model(s) given more than once: {', '.join(repeated)}")
    for spec in specs:  # every spec is checked before any model trains
        check_model_spec(spec, data)
    if args.seeds > 1:
        if args.hacking:
            raise ValueError("--hacking scores one model per row: use it with --seeds 1")
        from flatnet_rl.evaluation.sweep import compare_over_seeds

        path = compare_over_seeds(
            specs,
            args.seeds,
            args.out,
            cache_dir=args.cache,
            seed=args.seed,
            n_outliers=args.outliers_per_family,
            n_paths=args.paths,
            data=data,
            engine=args.engine,
            workers=args.workers,
            address=args.address,
            progress=not args.quiet,
        )
        print((path.parent / "table.md").read_text())
        print(f"report: {path}")
        return 0
    hacking = load_hacking(args.hacking) if args.hacking else None

    # Each worker trains (or loads) one model and scores it on data rebuilt from --seed,
    # identical in every process, so the reports are directly comparable.
    job = partial(
        evaluate_spec,
        cache_dir=args.cache,
        seed=args.seed,
        n_outliers=args.outliers_per_family,
        n_paths=args.paths,
        data=data,
    )
    reports = run_jobs(
        job,
        specs,
        engine=args.engine,
        workers=args.workers,
        address=args.address,
        desc="models",
        progress=not args.quiet,
    )
    # Two checkpoints may carry the same stored name: fall back to what the user typed.
    names = [r.name for r in reports]
    for report, spec in zip(reports, specs, strict=True):
        if names.count(report.name) > 1:
            report.name = spec
    judge = None
    if hacking is not None:
        unknown = sorted(set(hacking) - {r.name for r in reports})
        if unknown:
            raise ValueError(f"--hacking names unknown models {unknown}")
        judge = resolve_model_spec(args.judge, args.cache, data=data)
        for report, spec in zip(reports, specs, strict=True):
            if report.name in hacking:
                model = resolve_model_spec(spec, args.cache, data=data)  # cached by now
                report.hacking = hacking_row(model, hacking[report.name], judge)
    path = write_report(
        reports,
        args.out,
        seed=args.seed,
        n_outliers=args.outliers_per_family,
        n_paths=args.paths,
        judge_name=judge.name if judge is not None else None,
        data=data,
    )
    print(comparison_table(reports))
    print(f"\nreport: {path}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the grid and print the seed-averaged table and the report path."""
    from flatnet_rl.agents.runs import check_outputs
    from flatnet_rl.evaluation.columns import TABLE_COLUMNS
    from flatnet_rl.evaluation.engines import check_engine
    from flatnet_rl.evaluation.sweep import run_sweep
    from flatnet_rl.evaluation.tables import markdown_table

    check_engine(args.engine)  # before any model is resolved or job started
    check_outputs(args.out, REPORT_FILES, overwrite=args.overwrite)
    result = run_sweep(
        args.kappa,
        args.outliers,
        args.seeds,
        args.out,
        workers=args.workers,
        epochs=args.epochs,
        cache_dir=args.cache,
        eval_seed=args.seed,
        n_outliers=args.outliers_per_family,
        n_paths=args.paths,
        data=_eval_data(args),
        engine=args.engine,
        address=args.address,
        progress=not args.quiet,
    )
    stats = [row.stats() for row in result.rows]
    print(
        markdown_table(
            [row.name for row in result.rows],
            [m for m, _ in stats],
            TABLE_COLUMNS,
            stds=[s for _, s in stats],
            first_header="configuration",
        )
    )
    print(f"\nreport: {result.report_path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` and ``sweep`` subcommands."""

    p = add_subparser(
        sub,
        "compare",
        "compare reward models: false positives, smoothness, hacking",
        "Evaluate reward models on the same seeded data and write report.md, results.json and "
        "figures. MODEL is a zoo name (flatnet, baseline, flatnet-28, ...), a checkpoint path, "
        "a training spec LOSS[:key=value,...] such as entropy:kappa=0.3,outliers=2000 (trained "
        "on the fly and cached), or an ensemble spec such as ensemble:baseline*5 or "
        "ensemble@k=1:baseline*5. Without MODEL, on the embedded digits: "
        + ", ".join(DEFAULT_MODELS)
        + ". --source mnist5k --canvas 28 (or 14) compares the shipped models of that size; "
        "--data PATH compares models trained on your images.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="models to compare")
    p.add_argument(
        "--seeds",
        type=int_in(1, 100),
        default=1,
        help="train each model trained on the fly with this many seeds and report mean ± std "
        "(fixed weights are evaluated once)",
    )
    p.add_argument("--out", default="runs/compare", help="output folder")
    add_engine_arguments(p)
    _add_eval_arguments(p)
    p.add_argument(
        "--hacking",
        default=None,
        metavar="JSON",
        help="agent results: JSON object model name -> an evaluate-agent eval.json, or "
        "{proxy_p_target, judge_p_target, gap, fooling_rate}, or proxy_p/judge_p lists, or "
        "canvases/targets lists",
    )
    p.add_argument(
        "--judge", default="judge", help="judge for raw canvases in --hacking (zoo name or path)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_clip_arguments(p)
    p.set_defaults(handler=cmd_compare)

    p = add_subparser(
        sub,
        "sweep",
        "train and compare kappa x outliers x seeds",
        "Train flatnet models over the grid kappa x outliers x seeds (kappa 0 = plain "
        "cross-entropy) in worker processes or on Ray, and write a report with mean ± std over "
        "seeds. Finished jobs are stored in --cache and not rerun.",
    )
    p.add_argument(
        "--kappa",
        type=csv_of(non_negative_float),
        default=[0.0, 0.1, 0.3, 1.0],
        help="comma-separated entropy weights (0 = plain CE)",
    )
    p.add_argument(
        "--outliers",
        type=csv_of(non_negative_int),
        default=[0, 2000],
        help="comma-separated outlier pool sizes (0 = no outlier exposure)",
    )
    p.add_argument("--seeds", type=int_in(1, 1000), default=3, help="training seeds 0..N-1")
    p.add_argument(
        "--epochs", type=int_in(1, 100_000), default=40, help="training epochs per model"
    )
    p.add_argument("--out", default="runs/sweep", help="output folder")
    add_engine_arguments(p)
    _add_eval_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_sweep)
