"""Small helpers with no flatnet-rl dependencies (JSON, output paths)."""
