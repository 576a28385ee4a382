"""Painting environments and their registration."""

from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.envs.registration import BARE_ID, PAINT_ID, make_flatnet_paint, register_envs

__all__ = ["BARE_ID", "PAINT_ID", "PaintEnv", "make_flatnet_paint", "register_envs"]
