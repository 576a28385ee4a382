"""``flatnet-rl train-classifier`` and ``flatnet-rl info``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from flatnet_rl.cli.choices import (
    ARCHITECTURES,
    CLIP_PARTS,
    IMAGE_OUTLIER_FAMILIES,
    LOSSES,
    MAX_EPOCHS,
    MAX_OUTLIERS,
    MAX_SIDE,
    MIN_SIDE,
    OBJECTIVE_DEFAULTS,
    OUTLIER_FAMILIES,
    TIMM_PREFIX,
)
from flatnet_rl.cli.choices import DATA_SOURCES as SOURCES
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.types import (
    csv_of,
    finite_float,
    int_in,
    non_negative_float,
    non_negative_int,
    positive_float,
    probability,
)
from flatnet_rl.util.paths import check_writable_file

if TYPE_CHECKING:
    from flatnet_rl.data import DataSpec
    from flatnet_rl.losses import Objective

#: The CLI's defaults are the shipped ``flatnet`` recipe (``baseline``: --loss ce --outliers 0).
FLATNET_RECIPE = {"loss": "entropy", "kappa": 0.3, "outliers": 2000}


def arch(text: str) -> str:
    if text in ARCHITECTURES or (text.startswith(TIMM_PREFIX) and len(text) > len(TIMM_PREFIX)):
        return text
    raise argparse.ArgumentTypeError(
        f"expected one of {', '.join(sorted(ARCHITECTURES))} or {TIMM_PREFIX}<name>, got {text!r}"
    )


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Which labelled images (shared by train-classifier, compare and sweep)."""
    d = parser.add_argument_group("data")
    d.add_argument(
        "--source",
        choices=SOURCES,
        default=None,
        help="labelled images: digits (embedded 8x8), mnist5k (5,000 bundled 28x28 MNIST "
        "digits), mnist (torchvision files), images (--data) (None: images with --data, else "
        "digits)",
    )
    d.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="your labelled images: an ImageFolder directory (PATH/<class>/<file>.png) or an "
        ".npz with x (images), y (labels) and optional class_names",
    )
    d.add_argument(
        "--canvas",
        "--image-size",
        dest="canvas",
        type=int_in(MIN_SIDE, MAX_SIDE),
        default=None,
        help="side of the square images (digits: 8 embedded / 28 MNIST; --data: as stored)",
    )
    d.add_argument(
        "--grey", action="store_true", help="--data: convert colour images to one grey channel"
    )
    d.add_argument("--mnist-root", default="data", help="folder holding MNIST/raw (--source mnist)")
    d.add_argument(
        "--mnist-download",
        action="store_true",
        help="download missing MNIST files with torchvision (needs internet)",
    )
    d.add_argument(
        "--split-seed", type=non_negative_int, default=0, help="seed of the train/test split"
    )


def data_spec(args: argparse.Namespace) -> DataSpec | None:
    """The data spec of the flags (``None``: the embedded digits at their default)."""
    from flatnet_rl.data import DataSpec

    source = args.source or ("images" if args.data else "digits")
    if args.data and source != "images":
        raise ValueError(f"--data goes with --source images, not --source {source}")
    if source == "images" and not args.data:
        raise ValueError("--source images needs --data PATH")
    return DataSpec(
        source=source,
        canvas=args.canvas,
        split_seed=args.split_seed,
        mnist_root=args.mnist_root,
        mnist_download=args.mnist_download,
        path=args.data,
        grey=args.grey,
    )


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that define a classifier training run."""
    defaults = argparse.Namespace(**OBJECTIVE_DEFAULTS)
    g = parser.add_argument_group("objective (defaults: the shipped flatnet recipe)")
    g.add_argument("--loss", choices=LOSSES, default=FLATNET_RECIPE["loss"], help="objective")
    g.add_argument(
        "--kappa",
        type=finite_float,
        default=FLATNET_RECIPE["kappa"],
        help="entropy weight of --loss entropy (CE - kappa H(p))",
    )
    g.add_argument(
        "--hinge-beta",
        type=finite_float,
        default=defaults.hinge_beta,
        help="entropy_hinge: weight beta",
    )
    g.add_argument(
        "--hinge-gamma",
        type=finite_float,
        default=defaults.hinge_gamma,
        help="entropy_hinge: entropy floor Gamma (nats)",
    )
    g.add_argument(
        "--smoothing",
        type=finite_float,
        default=defaults.smoothing,
        help="label_smoothing: epsilon",
    )
    g.add_argument(
        "--tau", type=positive_float, default=defaults.tau, help="logitnorm: temperature"
    )
    g.add_argument(
        "--b1",
        type=finite_float,
        default=defaults.b1,
        help="min_ent / mix_ent: cross-entropy weight",
    )
    g.add_argument(
        "--b2", type=finite_float, default=defaults.b2, help="min_ent / mix_ent: entropy weight"
    )
    g.add_argument(
        "--outliers",
        type=int_in(0, MAX_OUTLIERS),
        default=FLATNET_RECIPE["outliers"],
        help="generated outlier images (uniform target); 0 = no outlier exposure",
    )
    g.add_argument(
        "--outlier-weight",
        type=non_negative_float,
        default=defaults.outlier_weight,
        help="outlier exposure weight lambda",
    )
    g.add_argument(
        "--outlier-families",
        type=csv_of(str),
        default=None,
        help=f"comma-separated families; digits: {','.join(OUTLIER_FAMILIES)}; images: "
        f"{','.join(IMAGE_OUTLIER_FAMILIES)} (None: all but blocks, held out for evaluation)",
    )
    g.add_argument(
        "--outliers-from-env",
        default=None,
        metavar="ENV_ID",
        help="add frames of random-policy episodes of this Gymnasium env as outliers",
    )
    g.add_argument(
        "--env-outlier-frames",
        type=int_in(1, MAX_OUTLIERS),
        default=1000,
        help="how many env frames --outliers-from-env adds",
    )
    g.add_argument(
        "--env-image",
        default="auto",
        help="where the env's image is: auto, obs, render or a Dict key",
    )
    g.add_argument(
        "--energy-weight",
        type=non_negative_float,
        default=0.0,
        help="energy add-on weight (needs outliers)",
    )
    o = parser.add_argument_group("model and optimisation")
    o.add_argument(
        "--arch",
        type=arch,
        default="flatnet",
        help=f"{', '.join(sorted(ARCHITECTURES))} or {TIMM_PREFIX}<name> (needs the timm extra)",
    )
    o.add_argument(
        "--init",
        default=None,
        metavar="CHECKPOINT",
        help="fine-tune this classifier, a zoo name (flatnet, ...) or a checkpoint file (same "
        "architecture, input and classes), or a CLIP model clip:SOURCE (with --classes, "
        "--prompts; trains only its head)",
    )
    o.add_argument(
        "--clip-part",
        choices=CLIP_PARTS,
        default=None,
        help="CLIP: train the class text embeddings (text) or a linear head on the frozen image "
        "features (head); None: the checkpoint's (text for clip:SOURCE)",
    )
    o.add_argument("--epochs", type=int_in(1, MAX_EPOCHS), default=40, help="training epochs")
    o.add_argument("--batch-size", type=int_in(1, 1 << 20), default=128, help="batch size")
    o.add_argument("--lr", type=positive_float, default=1e-3, help="AdamW learning rate")
    o.add_argument(
        "--weight-decay", type=non_negative_float, default=1e-2, help="AdamW weight decay"
    )
    o.add_argument(
        "--shift",
        type=non_negative_int,
        default=1,
        help="random translation augmentation, in pixels",
    )
    o.add_argument(
        "--stroke-width-aug",
        type=probability,
        default=0.0,
        help="digit canvases: probability of drawing a training digit one pixel thicker or "
        "thinner (judges of agents that draw with another pen)",
    )
    o.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, help="training seed")
    o.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    add_data_arguments(parser)


def objective_from_args(args: argparse.Namespace) -> Objective:
    from flatnet_rl.losses import Objective

    return Objective(
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


def config_from_args(args: argparse.Namespace, **overrides: object):
    """The :class:`~flatnet_rl.training.TrainConfig` the flags describe."""
    from flatnet_rl.training import TrainConfig

    if args.energy_weight > 0 and args.outliers == 0 and not args.outliers_from_env:
        raise ValueError("--energy-weight needs outlier images: set --outliers > 0")
    values = {
        "objective": objective_from_args(args),
        "arch": args.arch,
        "data": data_spec(args),
        "outliers": args.outliers,
        "outlier_families": None if args.outlier_families is None else tuple(args.outlier_families),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "shift": args.shift,
        "stroke_width_aug": args.stroke_width_aug,
        "seed": args.seed,
        "device": args.device,
        "env_outliers": args.env_outlier_frames if args.outliers_from_env else 0,
        "env_id": args.outliers_from_env,
        "env_image": args.env_image,
        "init": args.init,
        "evaluation_only": getattr(args, "evaluation_only", False),
    }
    values.update(overrides)
    return TrainConfig(**values)


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from flatnet_rl.classifier import checkpoint_path
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
    config = config_from_args(args, name=args.name or out.stem, clip_part=args.clip_part)
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
    from flatnet_rl.classifier import zoo_manifest

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
    p.add_argument(
        "--name", default=None, help="model name stored in the checkpoint (None: the file name)"
    )
    p.add_argument(
        "--evaluation-only",
        action="store_true",
        help="mark the model as a judge: it can evaluate agents, never reward them",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--cache", default="runs/cache", help="where clip:SOURCE heads are cached")
    add_clip_arguments(p)
    p.set_defaults(handler=cmd_train_classifier)

    p = add_subparser(sub, "info", "print a checkpoint's metadata (or the zoo manifest)")
    p.add_argument("path", nargs="?", default=None, help="checkpoint (omitted: the zoo)")
    p.set_defaults(handler=cmd_info)


__all__ = ["add_data_arguments", "add_training_arguments", "config_from_args", "data_spec"]
