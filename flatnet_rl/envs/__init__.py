"""Environments and their registration: the painting env (single and natively vectorized)
and a coloured-shapes env. Names are imported on first use (:mod:`flatnet_rl.util.lazy`):
registering the envs needs no torch."""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.envs.paint": ("PaintEnv",),
        "flatnet_rl.envs.paint_config": ("PaintConfig",),
        "flatnet_rl.envs.paint_sb3": ("PaintVecEnv",),
        "flatnet_rl.envs.paint_vector": ("PaintVectorEnv",),
        "flatnet_rl.envs.registration": (
            "BARE_ID",
            "PAINT_ID",
            "SHAPES_ID",
            "make_flatnet_paint",
            "register_envs",
        ),
        "flatnet_rl.envs.shapes": ("ShapesEnv",),
    },
)
