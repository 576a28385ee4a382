"""flatnet-rl: turn an image classifier into a reward model for RL, and show when to trust it."""

__version__ = "0.1.0"
