"""JSON for the fixtures: numbers rounded as every expected.json records them, and versions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch


def r7(x):
    """Round to 7 significant digits, recursively; floats become the shortest repr of that value."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    if isinstance(x, np.ndarray):
        return r7(x.tolist())
    if isinstance(x, list):
        return [r7(v) for v in x]
    if isinstance(x, dict):
        return {k: r7(v) for k, v in x.items()}
    if isinstance(x, float):
        if x == 0.0 or not math.isfinite(x):
            return x
        return float(f"{x:.7g}")
    return x


def write_json(path: Path, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def package_version(name: str) -> str:
    from importlib.metadata import version
    return version(name)
