"""``flatnet-rl`` command line: one subcommand per job.

flatnet-rl train-classifier --loss entropy --kappa 0.3 --outliers 2000 --out model.safetensors
flatnet-rl info model.safetensors
flatnet-rl compare [MODEL ...] --out runs/compare
flatnet-rl sweep --kappa 0,0.1,0.3,1 --outliers 0,2000 --seeds 3
flatnet-rl train-agent / evaluate-agent ...
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flatnet_rl.checkpoint import CheckpointError
from flatnet_rl.data.digits import SOURCES, DatasetNotFoundError, DataSpec
from flatnet_rl.data.outliers import FAMILIES, TRAIN_FAMILIES
from flatnet_rl.losses import LOSSES, Objective
from flatnet_rl.models import ARCHITECTURES

Handler = Callable[[argparse.Namespace], int]


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got 0")
    return value


def csv_of(kind: Callable[[str], object]) -> Callable[[str], list]:
    def parse(text: str) -> list:
        items = [t for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        return [kind(t.strip()) for t in items]

    return parse


def parse_dataclass_args(cls: type, argv: Sequence[str] | None = None, description: str = ""):
    """Build an instance of dataclass ``cls`` from ``--field value`` flags (cleanrl-style
    examples: one dataclass of arguments). bool fields become ``--flag`` / ``--no-flag``."""
    import dataclasses

    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, int):
            parser.add_argument(flag, type=int, default=default)
        elif isinstance(default, float):
            parser.add_argument(flag, type=finite_float, default=default)
        else:
            parser.add_argument(flag, type=str, default=default)
    return cls(**vars(parser.parse_args(argv)))


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that define a classifier training run (shared by train-classifier and sweep)."""
    defaults = Objective()
    g = parser.add_argument_group("objective")
    g.add_argument("--loss", choices=LOSSES, default="entropy", help="training objective")
    g.add_argument("--kappa", type=finite_float, default=defaults.kappa, help="entropy weight")
    g.add_argument("--hinge-beta", type=finite_float, default=defaults.hinge_beta)
    g.add_argument("--hinge-gamma", type=finite_float, default=defaults.hinge_gamma)
    g.add_argument("--smoothing", type=finite_float, default=defaults.smoothing)
    g.add_argument("--tau", type=finite_float, default=defaults.tau, help="logitnorm temperature")
    g.add_argument("--b1", type=finite_float, default=defaults.b1, help="min_ent/mix_ent CE weight")
    g.add_argument("--b2", type=finite_float, default=defaults.b2, help="min_ent/mix_ent weight")
    g.add_argument(
        "--outliers",
        type=non_negative_int,
        default=0,
        help="number of outlier canvases (uniform target); 0 = no outlier exposure",
    )
    g.add_argument(
        "--outlier-weight",
        type=finite_float,
        default=defaults.outlier_weight,
        help="outlier exposure lambda",
    )
    g.add_argument(
        "--outlier-families",
        type=csv_of(str),
        default=list(TRAIN_FAMILIES),
        help=f"comma-separated subset of {','.join(FAMILIES)}",
    )
    g.add_argument(
        "--energy-weight",
        type=finite_float,
        default=0.0,
        help="energy add-on weight (needs --outliers)",
    )
    d = parser.add_argument_group("data and optimisation")
    d.add_argument("--arch", choices=sorted(ARCHITECTURES), default="flatnet")
    d.add_argument("--canvas", type=positive_int, default=8, help="canvas side in pixels")
    d.add_argument("--source", choices=SOURCES, default="digits")
    d.add_argument("--mnist-root", default="data", help="folder holding MNIST/raw")
    d.add_argument(
        "--mnist-download",
        action="store_true",
        help="download missing MNIST files with torchvision (needs internet)",
    )
    d.add_argument("--split-seed", type=non_negative_int, default=0)
    d.add_argument("--epochs", type=positive_int, default=40)
    d.add_argument("--batch-size", type=positive_int, default=128)
    d.add_argument("--lr", type=finite_float, default=1e-3)
    d.add_argument(
        "--shift",
        type=non_negative_int,
        default=1,
        help="random translation augmentation, in pixels",
    )
    d.add_argument("--seed", type=non_negative_int, default=0)
    d.add_argument("--device", default="auto", help="auto, cpu or cuda")


def config_from_args(args: argparse.Namespace, **overrides: object):
    from flatnet_rl.training import TrainConfig

    objective = Objective(
        loss=args.loss,
        kappa=args.kappa,
        hinge_beta=args.hinge_beta,
        hinge_gamma=args.hinge_gamma,
        smoothing=args.smoothing,
        tau=args.tau,
        b1=args.b1,
        b2=args.b2,
        outlier_weight=args.outlier_weight,
        energy_weight=args.energy_weight,
    )
    values = {
        "objective": objective,
        "arch": args.arch,
        "data": DataSpec(
            source=args.source,
            canvas=args.canvas,
            split_seed=args.split_seed,
            mnist_root=args.mnist_root,
            mnist_download=args.mnist_download,
        ),
        "outliers": args.outliers,
        "outlier_families": tuple(args.outlier_families),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "shift": args.shift,
        "seed": args.seed,
        "device": args.device,
    }
    values.update(overrides)
    return TrainConfig(**values)


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from flatnet_rl.training import train_classifier

    if args.energy_weight > 0 and args.outliers == 0:
        raise ValueError("--energy-weight needs outlier canvases: set --outliers > 0")
    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise ValueError(f"--out must end in .safetensors, got {out}")
    config = config_from_args(args, name=args.name or out.stem)
    result = train_classifier(config, progress=not args.quiet)
    result.classifier.save(out)
    m = result.metrics
    print(
        f"test accuracy {m['test_accuracy']:.4f} | mean max-probability on {2000} held-out "
        f"random canvases {m['random_mean_max_prob']:.4f} | trained in {m['train_seconds']:.1f} s"
    )
    print(f"saved {out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from flatnet_rl.checkpoint import read_metadata
    from flatnet_rl.classifier import zoo_manifest

    if args.path is None:
        print(json.dumps(zoo_manifest(), indent=2))
        return 0
    print(json.dumps(read_metadata(args.path), indent=2, sort_keys=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flatnet-rl", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train-classifier", help="train a digit classifier (reward model)")
    add_training_arguments(p)
    p.add_argument("--out", required=True, help="output checkpoint (.safetensors)")
    p.add_argument("--name", default=None, help="model name stored in the checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train_classifier)

    p = sub.add_parser("info", help="print a checkpoint's metadata (or the zoo manifest)")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(handler=cmd_info)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands that live beside the code they drive (evaluation, agents)."""
    found = []
    for module, attr in (
        ("flatnet_rl.evaluation.cli", "register"),
        ("flatnet_rl.agents.cli", "register"),
    ):
        try:
            mod = __import__(module, fromlist=[attr])
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue
        found.append(getattr(mod, attr))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, CheckpointError, DatasetNotFoundError, FileNotFoundError) as err:
        print(f"flatnet-rl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
