"""``flatnet-rl compare`` and ``flatnet-rl sweep`` (loaded by :mod:`flatnet_rl.cli`).

flatnet-rl compare                              # the default set, see DEFAULT_MODELS
flatnet-rl compare flatnet baseline entropy:kappa=1,outliers=2000 --out runs/cmp
flatnet-rl sweep --kappa 0,0.1,0.3,1 --outliers 0,2000 --seeds 3 --workers 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flatnet_rl.cli import csv_of, finite_float, non_negative_int, positive_int

__all__ = ["DEFAULT_MODELS", "cmd_compare", "cmd_sweep", "register"]

#: What ``compare`` runs without MODEL arguments: the two zoo reward models and one model
#: per seed objective with its default hyperparameters and no outliers (trained on the fly
#: with the same 40 epochs / seed 0 as ``baseline``, so they are comparable to it).
DEFAULT_MODELS: tuple[str, ...] = (
    "flatnet",
    "baseline",
    "min_ent",
    "mix_ent",
    "pc_softmax",
    "dropmax",
    "label_smoothing",
    "logitnorm",
)


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the evaluation data (outliers, targets, morph paths)",
    )
    parser.add_argument(
        "--paths",
        type=positive_int,
        default=100,
        help="number of morph paths (forward and reverse each)",
    )
    parser.add_argument(
        "--outliers-per-family", type=positive_int, default=1000, help="outlier images per family"
    )
    parser.add_argument(
        "--cache", default="runs/cache", help="cache of models trained on the fly (by spec hash)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` and ``sweep`` subcommands."""
    p = subparsers.add_parser(
        "compare",
        help="compare reward models: false positives, smoothness, hacking",
        description=(
            "Evaluate reward models on the same seeded data and write report.md, "
            "results.json and figures. MODEL is a zoo name (flatnet, baseline, judge), a "
            "checkpoint path, or a training spec LOSS[:key=value,...] such as "
            "entropy:kappa=0.3,outliers=2000 (keys: any Objective field, outliers, seed, "
            "epochs, arch), trained on the fly and cached. Without MODEL: "
            + ", ".join(DEFAULT_MODELS)
            + "."
        ),
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="models to compare")
    p.add_argument("--out", default="runs/compare", help="output folder")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        help="worker processes (one torch thread each); 1 = in this process",
    )
    _add_eval_arguments(p)
    p.add_argument(
        "--hacking",
        default=None,
        metavar="JSON",
        help="agent results: JSON object model name -> {proxy_mean, judge_mean, gap, "
        "fooling_rate} (or proxy_p/judge_p lists, or canvases/targets lists)",
    )
    p.add_argument(
        "--judge",
        default="judge",
        help="judge model for raw canvases in --hacking (zoo name or path)",
    )
    p.set_defaults(handler=cmd_compare)

    p = subparsers.add_parser(
        "sweep",
        help="train and compare kappa x outliers x seeds",
        description=(
            "Train flatnet models over the grid kappa x outliers x seeds in worker processes "
            "(kappa 0 = plain cross-entropy) and write a report with mean ± std over seeds."
        ),
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
    p.add_argument("--seeds", type=positive_int, default=3, help="training seeds 0..N-1")
    p.add_argument("--out", default="runs/sweep", help="output folder")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes")
    p.add_argument("--epochs", type=positive_int, default=40, help="training epochs per model")
    _add_eval_arguments(p)
    p.set_defaults(handler=cmd_sweep)


def _load_hacking(path: str) -> dict[str, dict]:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"--hacking {path}: not valid JSON ({err})") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"--hacking {path}: expected a JSON object model name -> object")
    return data


def cmd_compare(args: argparse.Namespace) -> int:
    """Resolve (train if needed) and evaluate the models in workers, write and print the report."""
    from functools import partial

    from flatnet_rl.evaluation.compare import evaluate_spec, hacking_row, resolve_model_spec
    from flatnet_rl.evaluation.report import comparison_table, write_report
    from flatnet_rl.evaluation.sweep import run_in_workers

    specs = list(args.models) or list(DEFAULT_MODELS)
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"model(s) given more than once: {', '.join(repeated)}")
    hacking = _load_hacking(args.hacking) if args.hacking else None

    # Each worker trains (or loads) one model and scores it on data rebuilt from --seed,
    # identical in every process, so the reports are directly comparable.
    job = partial(
        evaluate_spec,
        cache_dir=args.cache,
        seed=args.seed,
        n_outliers=args.outliers_per_family,
        n_paths=args.paths,
    )
    reports = run_in_workers(job, specs, args.workers, desc="models", progress=not args.quiet)
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
        judge = resolve_model_spec(args.judge, args.cache)
        for report, spec in zip(reports, specs, strict=True):
            if report.name in hacking:
                # Cached by now: loading is cheap, and raw canvases need the model itself.
                model = resolve_model_spec(spec, args.cache)
                report.hacking = hacking_row(model, hacking[report.name], judge)
    path = write_report(
        reports,
        args.out,
        seed=args.seed,
        n_outliers=args.outliers_per_family,
        n_paths=args.paths,
        judge_name=judge.name if judge is not None else None,
    )
    print(comparison_table(reports))
    print(f"\nreport: {path}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the grid and print the seed-averaged table and the report path."""
    from flatnet_rl.evaluation.compare import TABLE_COLUMNS
    from flatnet_rl.evaluation.report import markdown_table
    from flatnet_rl.evaluation.sweep import run_sweep

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
