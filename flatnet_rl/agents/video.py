"""Watch an agent paint: episodes recorded with Gymnasium's ``RecordVideo`` (MP4, moviepy)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gymnasium.wrappers import RecordVideo
from stable_baselines3.common.base_class import BaseAlgorithm

from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.agents.envs import canvas_of
from flatnet_rl.classifier import Classifier
from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.reward import FlatnetReward
from flatnet_rl.util.paths import check_writable_file

VIDEO_SEED = 30_000


def record_video(
    config: AgentConfig,
    model: BaseAlgorithm,
    proxy: Classifier,
    path: str | Path,
    *,
    episodes: int = 3,
    deterministic: bool = False,
    overwrite: bool = False,
) -> Path:
    """Record ``episodes`` episodes of the paint env (from the task's start) as one MP4.

    Raises:
        ValueError: not the paint env, or a path that cannot be written.
        ImportError: moviepy is missing (``pip install "flatnet-rl[video]"``).
    """
    path = check_writable_file(path, overwrite=overwrite, suffix=".mp4")
    if not config.is_paint:
        raise ValueError("--video records the paint env; other envs: wrap them in RecordVideo")
    try:
        import moviepy  # noqa: F401  (RecordVideo needs it; fail before rolling out)
    except ImportError as err:
        raise ImportError(
            'recording videos needs moviepy: pip install "flatnet-rl[video]"'
        ) from err
    env = PaintEnv(
        canvas_size=canvas_of(config, proxy),
        action_mode=config.action_mode,
        target=config.target,
        start=config.eval_start,
        max_steps=config.max_steps,
        render_mode="rgb_array",
        **config.env_kwargs,
    )
    rewarded = FlatnetReward(env, proxy, mode=config.reward_mode, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        recorder = RecordVideo(
            rewarded,
            folder,
            episode_trigger=lambda _: True,
            name_prefix="episode",
            disable_logger=True,
        )
        for episode in range(episodes):
            obs, _ = recorder.reset(seed=VIDEO_SEED + episode)
            done = False
            while not done:
                action, _ = model.predict(obs, deterministic=deterministic)
                obs, _, terminated, truncated, _ = recorder.step(int(action))
                done = terminated or truncated
        recorder.close()
        # RecordVideo writes one file per episode: join them into the one file asked for.
        clips = sorted(Path(folder).glob("episode-*.mp4"))
        if len(clips) == 1:
            shutil.move(clips[0], path)
        else:
            _concatenate(clips, path)
    return path


def _concatenate(clips: list[Path], path: Path) -> None:
    from moviepy import VideoFileClip, concatenate_videoclips

    videos = [VideoFileClip(str(c)) for c in clips]
    try:
        concatenate_videoclips(videos).write_videofile(str(path), logger=None)
    finally:
        for video in videos:
            video.close()
