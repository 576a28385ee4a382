"""A CLIP reward model, zero-shot and flattened, on FlatnetShapes-v0 (offline, tiny CLIP).

    python examples/clip_reward.py                  # small budget (under a minute)
    python examples/clip_reward.py --full           # the README's budget

No CLIP weights can be downloaded here, so the example makes its own vision-language model:

1. A tiny open_clip CLIP (a 2-layer ViT and a 2-layer text transformer) trained
   contrastively, in seconds, on captioned pictures of crosses, rings and slashes (the
   pictures FlatnetShapes-v0 renders), and saved as an open_clip folder.
2. Its zero-shot classifier, ``Classifier.from_clip`` (prompts ``"a drawing of a {}."`` ...):
   accuracy on held-out pictures, and its false positives: the max-probability it gives
   generated outlier images (families held out from flattening included) and frames of
   random-policy episodes of FlatnetShapes-v0, and the reward ``p(ring)`` that
   ``FlatnetReward`` pays those episodes (its mean, and how often it is >= 0.9: confident
   false positives: random strokes rarely form a ring).
3. Flattening with the CLI: ``flatnet-rl train-classifier --init clip:FOLDER`` (entropy
   objective + outlier exposure, outliers from the env's random-policy frames included),
   training only a linear head (started at the zero-shot classifier) on the frozen image
   features.
4. The same numbers for the flattened model.
5. PPO on each reward (``flatnet-rl train-agent --env FlatnetShapes-v0 --image render``, the
   zero-shot model as a ``clip:FOLDER`` spec): the final frames of stochastic episodes scored
   by the reward model and by a judge (an MLP trained with the CLI on pictures of other
   seeds): fooling = reward model sure (>= 0.9), judge not (< 0.5).

Writes ``table.md`` (both parts) and ``results.json`` to ``--out``.

With real weights, ``--clip SOURCE`` skips step 1 and makes the same table for them, e.g.
``--clip hf:openai/clip-vit-base-patch32`` once that model is in the Hugging Face cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import open_clip
import torch
import torch.nn.functional as F
import tyro
from safetensors.torch import save_file

from flatnet_rl import Classifier, FlatnetReward, load_classifier
from flatnet_rl.cli import main as flatnet_rl
from flatnet_rl.clip import clip_input_spec
from flatnet_rl.data.frames import collect_frames
from flatnet_rl.data.outliers import IMAGE_FAMILIES, make_outliers
from flatnet_rl.data.shapes import SHAPE_CLASSES, make_shape_images, write_shape_folder

TEMPLATES = ("a drawing of a {}.", "a picture of a {}.", "a {} drawn on paper.")
TINY_CLIP = {
    "embed_dim": 32,
    # 8x8 input, one token per cell of the shapes' 8x8 grid: CLIP's own preprocessing
    # (bicubic, antialiased) shrinks a 64x64 frame to it. Coarser patches of a larger input
    # learn far more slowly from scratch (measured: a long plateau at chance).
    "vision_cfg": {"image_size": 8, "patch_size": 1, "width": 64, "layers": 2, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@dataclass
class Args:
    """Train a tiny CLIP on captioned shapes, use it as a reward, flatten it."""

    out: str = "runs/clip"
    """output folder"""
    pictures_per_class: int = 100
    """captioned pictures per class for the tiny CLIP (and for flattening)"""
    clip_epochs: int = 20
    """contrastive training epochs of the tiny CLIP"""
    flat_epochs: int = 20
    """flattening epochs (a linear head on the frozen image features)"""
    outliers: int = 1000
    """generated outliers for flattening (plus as many env frames)"""
    eval_images: int = 300
    """held-out pictures, outliers and env frames each"""
    timesteps: int = 2_048
    """PPO steps per reward model (0 skips PPO)"""
    eval_episodes: int = 20
    """stochastic evaluation episodes per agent"""
    full: bool = False
    """use the README's budget (overrides the settings above)"""
    clip: str | None = None
    """real CLIP weights instead of the tiny CLIP: a Hugging Face or open_clip folder,
    hf:REPO (in the Hugging Face cache) or ARCH:FILE.safetensors"""
    seed: int = 0
    """seeds data, models and envs"""


def train_tiny_clip(args: Args, folder: Path) -> None:
    """Contrastive training on (picture, caption) pairs; captions repeat, so the target of
    an image is every text of the batch with its caption (and vice versa)."""
    torch.manual_seed(args.seed)
    model = open_clip.CLIP(**TINY_CLIP)
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    images, labels, _ = make_shape_images(args.pictures_per_class, size=64, seed=args.seed)
    x, _ = clip_input_spec(model, "open_clip").prepare(images, batched=True)
    rng = np.random.default_rng(args.seed)
    captions = sorted({t.format(c) for t in TEMPLATES for c in SHAPE_CLASSES})
    tokens = tokenizer(captions)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.clip_epochs):
        order = torch.randperm(len(x), generator=gen)
        correct = 0
        for idx in order.split(32):
            picked = rng.integers(len(TEMPLATES), size=len(idx))
            text = [
                TEMPLATES[t].format(SHAPE_CLASSES[labels[i]])
                for t, i in zip(picked, idx, strict=True)
            ]
            caption = torch.tensor([captions.index(c) for c in text])
            img = F.normalize(model.encode_image(x[idx]), dim=-1)
            txt = F.normalize(model.encode_text(tokens), dim=-1)[caption]
            logits = model.logit_scale.exp() * img @ txt.T
            same = (caption[:, None] == caption[None]).float()
            target = same / same.sum(1, keepdim=True)
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            best = idx[logits.argmax(1)]  # the image whose caption this image matches best
            correct += int((labels[best] == labels[idx]).sum())
            with torch.no_grad():
                model.logit_scale.clamp_(0, np.log(100))
        print(f"tiny CLIP epoch {epoch + 1}: caption of the right shape {correct / len(x):.3f}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP}, indent=2))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / "open_clip_model.safetensors")


def evaluation_sets(args: Args) -> dict[str, tuple[np.ndarray, tuple[float, float] | None]]:
    """Held-out pictures and outliers, from seeds the training never used."""
    n = args.eval_images
    pictures, labels, _ = make_shape_images(n // 3, size=64, seed=args.seed + 1000)
    generated = make_outliers(
        n, (64, 64, 3), seed=args.seed + 1001, families=IMAGE_FAMILIES, examples=pictures
    )
    frames, frame_range = collect_frames(
        "FlatnetShapes-v0", n, seed=args.seed + 1002, image="render"
    )
    return {
        "pictures": (pictures, labels),
        "outliers": (generated, (0.0, 255.0)),
        "frames": (frames, frame_range),
    }


def ring_rewards(clf: Classifier, episodes: int, seed: int) -> np.ndarray:
    """The per-step rewards p(ring) FlatnetReward pays random-policy episodes."""
    env = FlatnetReward(
        gym.make("FlatnetShapes-v0", target="ring", render_mode="rgb_array"),
        clf,
        target="ring",
        mode="prob",
        image="render",
    )
    env.action_space.seed(seed)
    rewards = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            rewards.append(reward)
            done = terminated or truncated
    return np.asarray(rewards)


def row(name: str, clf: Classifier, sets: dict, args: Args) -> dict:
    pictures, labels = sets["pictures"]
    probs = clf.predict_proba(pictures, batched=True)
    out = {"model": name, "accuracy": float((probs.argmax(-1) == labels).mean())}
    for key in ("outliers", "frames"):
        images, value_range = sets[key]
        out[f"max_prob_{key}"] = float(
            clf.predict_proba(images, value_range=value_range, batched=True).max(-1).mean()
        )
    rewards = ring_rewards(clf, 10, args.seed + 2000)
    out["p_ring_random_policy"] = float(rewards.mean())
    out["p_ring_at_least_0.9"] = float((rewards >= 0.9).mean())  # confident false positives
    return out


def train_judge(args: Args, out: Path) -> Path:
    """An MLP on pictures from other seeds (evaluation only): the agents' independent judge."""
    pictures = out / "judge_pictures"
    write_shape_folder(pictures, args.pictures_per_class, 32, seed=args.seed + 1)
    judge = out / "judge.safetensors"
    flags = ["train-classifier", "--data", str(pictures), "--arch", "mlp", "--loss", "ce"]
    flags += ["--image-size", "16", "--outliers", "1000", "--evaluation-only", "--split-seed"]
    flags += ["1", "--seed", str(args.seed), "--out", str(judge), "--overwrite", "--quiet"]
    if flatnet_rl(flags) != 0:
        raise SystemExit("training the judge failed")
    return judge


def agent_row(args: Args, name: str, reward: list[str], judge: Path, out: Path) -> dict:
    """PPO through the CLI on one reward for drawing a ring; its evaluation's overall row."""
    flags = ["train-agent", "--env", "FlatnetShapes-v0", "--env-kwargs", '{"target": "ring"}']
    flags += ["--image", "render", *reward, "--target", "ring", "--judges", str(judge)]
    flags += ["--timesteps", str(args.timesteps), "--eval-episodes", str(args.eval_episodes)]
    flags += ["--seed", str(args.seed), "--cache", str(out / "cache"), "--out", str(out)]
    if flatnet_rl([*flags, "--overwrite", "--quiet"]) != 0:
        raise SystemExit(f"PPO on the {name} reward failed")
    overall = json.loads((out / "eval.json").read_text())["overall"]
    keys = ("proxy_p_target", "judge_p_target", "fooling_rate")
    return {"reward": name, **{k: overall[k] for k in keys}}


def markdown(rows: list[dict], first: str) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for r in rows:
        cells = [r[first]] + [f"{r[k]:.3f}" for k in header[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(args: Args) -> Path:
    if args.full:
        args.pictures_per_class, args.clip_epochs, args.flat_epochs = 300, 20, 20
        args.outliers, args.eval_images = 2000, 600
        args.timesteps, args.eval_episodes = 50_000, 100
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.clip is None:
        source = str(out / "tiny_clip")
        train_tiny_clip(args, Path(source))
    else:
        source = args.clip

    pictures, labels, names = make_shape_images(args.pictures_per_class, size=64, seed=args.seed)
    data = out / "pictures.npz"
    np.savez(data, x=pictures, y=labels, class_names=np.array(names))
    flat = out / "flat_clip.safetensors"
    flags = [
        "train-classifier",
        "--init",
        f"clip:{source}",
        "--classes",
        ",".join(SHAPE_CLASSES),
        *[f"--prompts={t}" for t in TEMPLATES],
        "--data",
        str(data),
        "--loss",
        "entropy",
        "--outliers",
        str(args.outliers),
        "--outliers-from-env",
        "FlatnetShapes-v0",
        "--env-image",
        "render",
        "--env-outlier-frames",
        str(args.outliers),
        "--clip-part",
        "head",
        "--lr",
        "1e-2",
        "--epochs",
        str(args.flat_epochs),
        "--seed",
        str(args.seed),
        "--cache",
        str(out / "cache"),
        "--out",
        str(flat),
        "--overwrite",
        "--quiet",
    ]
    if flatnet_rl(flags) != 0:
        raise SystemExit("flattening failed")

    sets = evaluation_sets(args)
    zero_shot = Classifier.from_clip(source, class_names=SHAPE_CLASSES, templates=TEMPLATES)
    name = "tiny CLIP" if args.clip is None else "CLIP"
    rows = [row(f"zero-shot {name}", zero_shot, sets, args)]
    rows.append(row("flattened (linear head)", load_classifier(flat), sets, args))
    table = markdown(rows, "model")
    agents: list[dict] = []
    if args.timesteps > 0:
        judge = train_judge(args, out)
        prompts = [f"--prompts={t}" for t in TEMPLATES]
        zero_shot_spec = ["--reward-model", f"clip:{source}", "--classes", ",".join(SHAPE_CLASSES)]
        rewards = {
            f"zero-shot {name}": [*zero_shot_spec, *prompts],
            "flattened (linear head)": ["--reward-model", str(flat)],
        }
        for i, (reward_name, spec) in enumerate(rewards.items()):
            agents.append(agent_row(args, reward_name, spec, judge, out / f"ppo_{i}"))
        table += "\nPPO drawing a ring on each reward:\n\n" + markdown(agents, "reward")
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps({"models": rows, "agents": agents}, indent=2))
    print(table)
    return out / "table.md"


if __name__ == "__main__":
    main(tyro.cli(Args))
