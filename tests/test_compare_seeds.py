"""``flatnet-rl compare --seeds N``: models trained on the fly are replicated over training
seeds (mean ± std), fixed weights are evaluated once and shown exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flatnet_rl.cli import main
from flatnet_rl.training.ensemble_specs import parse_ensemble_spec
from flatnet_rl.training.model_specs import seed_replicate
from flatnet_rl.training.specs import parse_model_spec


def test_training_specs_move_their_seed():
    assert seed_replicate("label_smoothing", 0) == "label_smoothing"
    assert parse_model_spec(seed_replicate("label_smoothing", 2)) == (
        "label_smoothing",
        {"seed": 2},
    )
    _, values = parse_model_spec(seed_replicate("ce:seed=5,epochs=3", 1))
    assert values == {"seed": 6, "epochs": 3}


def test_fixed_weights_have_no_replicates(tmp_path: Path):
    assert seed_replicate("flatnet", 1) is None
    assert seed_replicate("flatnet", 0) == "flatnet"
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"x")
    assert seed_replicate(str(ckpt), 1) is None


@pytest.mark.parametrize("spec", ["ensemble:baseline*5", "ensemble@k=1:baseline*3+ce:seed=7*2"])
def test_ensemble_replicates_share_no_member(spec: str):
    k, members = parse_ensemble_spec(spec)
    seeds = [{seed for _, seed in members}]
    for r in (1, 2):
        k_r, members_r = parse_ensemble_spec(seed_replicate(spec, r))
        assert k_r == k and len(members_r) == len(members)
        seeds.append({seed for _, seed in members_r})
    # Disjoint seeds: no replicate shares a trained member (zoo members become their recipe).
    assert sum(len(s) for s in seeds) == len(set().union(*seeds)) == 3 * len(members)


def test_cli_compare_over_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "flatnet", "ce:epochs=1", "--seeds", "2", "--out", str(out)]
    argv += ["--paths", "10", "--outliers-per-family", "100", "--cache", str(tmp_path / "c")]
    assert main([*argv, "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    table = (out / "table.md").read_text()
    assert table in printed
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert "±" not in rows["`flatnet`"]  # fixed weights: exact
    assert rows["`ce:epochs=1`"].count("±") == 8  # every column mean ± std
    results = json.loads((out / "results.json").read_text())
    assert [row["n_seeds"] for row in results["rows"]] == [1, 2]
    assert (out / "families.md").is_file() and (out / "report.md").is_file()


def test_cli_compare_over_seeds_refuses_hacking(tmp_path: Path, capsys) -> None:
    argv = ["compare", "flatnet", "--seeds", "2", "--hacking", "{}", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--seeds 1" in capsys.readouterr().err
