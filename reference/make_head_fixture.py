#!/usr/bin/env python3
"""The optimum of an L2-regularised softmax regression, for worker/src/head.rs.

Run by hand, never by CI. A seeded toy problem (90 rows, 6 features, 3 classes
from a noisy linear rule), the features standardised as the head does
(population std), then PyTorch L-BFGS to the unique optimum of

    mean cross-entropy + l2 / 2 * sum(W ** 2)      (biases not penalised)

in float64. The head, trained by its own Adam loop, must reach the same
probabilities.

    $HOME/.cache/pretrain-lab/refvenv/bin/python reference/make_head_fixture.py
        -> worker/tests/fixtures/head/expected.json
"""

import json
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "worker" / "tests" / "fixtures" / "head"
L2 = 0.05

rng = np.random.default_rng(11)
x = rng.normal(size=(90, 6)) * np.array([1.0, 3.0, 0.5, 2.0, 1.0, 10.0]) + 4.0
rule = rng.normal(size=(6, 3))
x = x.round(6)  # as written to the fixture

z = (x - x.mean(0)) / x.std(0)
y = np.argmax(z @ rule + rng.normal(scale=1.0, size=(90, 3)), axis=1)
zt = torch.tensor(z)
yt = torch.tensor(y)
w = torch.zeros(6, 3, dtype=torch.float64, requires_grad=True)
b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
opt = torch.optim.LBFGS([w, b], max_iter=2000, tolerance_grad=1e-12, tolerance_change=1e-14,
                        line_search_fn="strong_wolfe")


def loss_fn():
    return torch.nn.functional.cross_entropy(zt @ w + b, yt) + L2 / 2 * (w ** 2).sum()


def closure():
    opt.zero_grad()
    loss = loss_fn()
    loss.backward()
    return loss


for _ in range(10):
    opt.step(closure)
with torch.no_grad():
    probs = torch.softmax(zt @ w + b, dim=1)
    loss = loss_fn().item()
grad = torch.autograd.grad(loss_fn(), [w, b])
assert max(g.abs().max().item() for g in grad) < 1e-8, "not at the optimum"

OUT.mkdir(parents=True, exist_ok=True)
(OUT / "expected.json").write_text(json.dumps({
    "generator": {"script": "reference/make_head_fixture.py", "torch": torch.__version__},
    "l2": L2,
    "x": x.tolist(),
    "y": y.tolist(),
    "loss": loss,
    "probs": probs.numpy().round(7).tolist(),
}, indent=1) + "\n")
print(f"loss {loss:.6f}, classes {np.bincount(y)}")
