"""Environments and their registration: the painting env (single and natively vectorized)
and a coloured-shapes env."""

from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.envs.paint_config import PaintConfig
from flatnet_rl.envs.paint_sb3 import PaintVecEnv
from flatnet_rl.envs.paint_vector import PaintVectorEnv
from flatnet_rl.envs.registration import (
    BARE_ID,
    PAINT_ID,
    SHAPES_ID,
    make_flatnet_paint,
    register_envs,
)
from flatnet_rl.envs.shapes import ShapesEnv

__all__ = [
    "BARE_ID",
    "PAINT_ID",
    "SHAPES_ID",
    "PaintConfig",
    "PaintEnv",
    "PaintVecEnv",
    "PaintVectorEnv",
    "ShapesEnv",
    "make_flatnet_paint",
    "register_envs",
]
