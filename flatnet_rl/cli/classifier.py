"""``flatnet-rl train-classifier`` and ``flatnet-rl info``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from flatnet_rl.cli.choices import (
    ARCHITECTURES,
    IMAGE_OUTLIER_FAMILIES,
    OUTLIER_FAMILIES,
    TIMM_PREFIX,
)
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.config_options import add_config_options, config_kwargs
from flatnet_rl.cli.types import csv_tuple
from flatnet_rl.util.paths import check_writable_file

if TYPE_CHECKING:
    from flatnet_rl.data import DataSpec

#: The CLI's defaults are the shipped ``flatnet`` recipe (``baseline``: --loss ce --outliers 0).
FLATNET_RECIPE = {"loss": "entropy", "kappa": 0.3, "outliers": 2000}


def arch(text: str) -> str:
    if text in ARCHITECTURES or (text.startswith(TIMM_PREFIX) and len(text) > len(TIMM_PREFIX)):
        return text
    raise argparse.ArgumentTypeError(
        f"expected one of {', '.join(sorted(ARCHITECTURES))} or {TIMM_PREFIX}<name>, got {text!r}"
    )


#: DataSpec fields offered wherever labelled images are named (train-classifier, compare, sweep).
DATA_FIELDS = (
    "source",
    "path",
    "canvas",
    "grey",
    "crop",
    "mnist_root",
    "mnist_limit",
    "mnist_download",
    "split_seed",
    "test_fraction",
    "threshold",
)
OBJECTIVE_FIELDS = (
    "loss",
    "kappa",
    "hinge_beta",
    "hinge_gamma",
    "smoothing",
    "tau",
    "b1",
    "b2",
    "mix_eps",
    "outlier_weight",
    "energy_weight",
    "energy_m_in",
    "energy_m_out",
)
OUTLIER_FIELDS = (
    "outliers",
    "outlier_families",
    "outlier_ratio",
    "env_id",
    "env_outliers",
    "env_image",
)
MODEL_FIELDS = (
    "arch",
    "init",
    "clip_part",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "shift",
    "stroke_width_aug",
    "seed",
    "device",
    "name",
    "evaluation_only",
)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Which labelled images (shared by train-classifier, compare and sweep)."""
    add_config_options(
        parser.add_argument_group("data"),
        "DataSpec",
        DATA_FIELDS,
        flags={"path": ["--data"], "canvas": ["--canvas", "--image-size"]},
        # Named by what is given: --data PATH alone means --source images.
        defaults={"source": None},
        extra_help={"source": "None: images with --data, else digits"},
    )


def data_spec(args: argparse.Namespace) -> DataSpec | None:
    """The data spec of the flags."""
    from flatnet_rl.data import DataSpec

    options = config_kwargs(args, DATA_FIELDS)
    source = options["source"] = args.source or ("images" if args.path else "digits")
    if args.path and source != "images":
        raise ValueError(f"--data goes with --source images, not --source {source}")
    if source == "images" and not args.path:
        raise ValueError("--source images needs --data PATH")
    return DataSpec(**options)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that define a classifier training run: the fields of TrainConfig, its Objective
    and its DataSpec; the defaults are the shipped flatnet recipe, not the dataclasses' plain
    cross-entropy."""
    recipe = {"loss": FLATNET_RECIPE["loss"], "kappa": FLATNET_RECIPE["kappa"]}
    add_config_options(
        parser.add_argument_group("objective (defaults: the shipped flatnet recipe)"),
        "Objective",
        OBJECTIVE_FIELDS,
        defaults=recipe,
    )
    add_config_options(
        parser.add_argument_group("outlier exposure"),
        "TrainConfig",
        OUTLIER_FIELDS,
        flags={
            "env_id": ["--outliers-from-env"],
            "env_outliers": ["--env-outlier-frames", "--env-outliers"],
        },
        types={"outlier_families": csv_tuple},
        # With --outliers-from-env, 1,000 of its frames unless told (off without it).
        defaults={"outliers": FLATNET_RECIPE["outliers"], "env_outliers": 1000},
        extra_help={
            "outlier_families": f"digits: {','.join(OUTLIER_FAMILIES)}; images: "
            f"{','.join(IMAGE_OUTLIER_FAMILIES)}"
        },
    )
    add_config_options(
        parser.add_argument_group("model and optimisation"),
        "TrainConfig",
        MODEL_FIELDS,
        flags={"init": ["--init"]},
        types={"arch": arch},
    )
    add_data_arguments(parser)


def config_from_args(args: argparse.Namespace, **overrides: object):
    """The :class:`~flatnet_rl.training.TrainConfig` the flags describe."""
    from flatnet_rl.losses import Objective
    from flatnet_rl.training import TrainConfig

    objective = Objective(**config_kwargs(args, OBJECTIVE_FIELDS))
    if objective.energy_weight > 0 and args.outliers == 0 and not args.env_id:
        raise ValueError("--energy-weight needs outlier images: set --outliers > 0")
    values = {
        **config_kwargs(args, OUTLIER_FIELDS + MODEL_FIELDS),
        "objective": objective,
        "data": data_spec(args),
        "env_outliers": args.env_outliers if args.env_id else 0,
    }
    values.update(overrides)
    return TrainConfig(**values)


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from flatnet_rl.shipped import checkpoint_path
    from flatnet_rl.training import train_classifier

    out = check_writable_file(args.out, overwrite=args.overwrite, suffix=".safetensors")
    if args.init:
        args.init = resolve_clip_specs([args.init], args)[0]  # clip:SOURCE -> its zero-shot head
        try:  # before any training
            checkpoint_path(args.init)
        except ValueError as err:
            raise FileNotFoundError(f"--init {args.init}: {err}") from err
    elif args.classes or args.prompts or args.clip_part:
        raise ValueError("--classes, --prompts and --clip-part apply to --init clip:SOURCE")
    config = config_from_args(args, name=args.name or out.stem)
    result = train_classifier(config, progress=not args.quiet)
    result.classifier.save(out)
    m = result.metrics
    print(
        f"test accuracy {m['test_accuracy']:.4f} | mean max-probability on 2000 held-out "
        f"random images {m['random_mean_max_prob']:.4f} | trained in {result.seconds:.1f} s"
    )
    print(f"saved {out} (classes: {', '.join(result.classifier.class_names)})")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from flatnet_rl.checkpoint import read_metadata
    from flatnet_rl.shipped import zoo_manifest

    if args.path is None:
        print(json.dumps(zoo_manifest(), indent=2))
        return 0
    print(json.dumps(read_metadata(args.path), indent=2, sort_keys=True))
    return 0


def register(sub: argparse._SubParsersAction) -> None:

    p = add_subparser(
        sub,
        "train-classifier",
        "train a classifier (reward model) on digits or your own labelled images",
        "Train a classifier with any objective; the defaults are the shipped flatnet recipe "
        "(entropy regularization kappa 0.3 + 2,000 outlier images with a uniform target) on "
        "the embedded 8x8 digits. --data trains on your own images (input size, channels and "
        "class names from the data).",
    )
    add_training_arguments(p)
    p.add_argument("--out", required=True, help="output checkpoint (.safetensors)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--cache", "--cache-dir", default="runs/cache", help="where clip:SOURCE heads are cached"
    )
    add_clip_arguments(p)
    p.set_defaults(handler=cmd_train_classifier)

    p = add_subparser(sub, "info", "print a checkpoint's metadata (or the zoo manifest)")
    p.add_argument("path", nargs="?", default=None, help="checkpoint (omitted: the zoo)")
    p.set_defaults(handler=cmd_info)


__all__ = ["add_data_arguments", "add_training_arguments", "config_from_args", "data_spec"]
