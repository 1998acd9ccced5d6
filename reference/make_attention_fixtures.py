#!/usr/bin/env python3
"""Attention probabilities of the two tokenizer-sized fixtures, for the page's attention maps.

Run by hand, never by CI, after make_gpt2_fixtures.py and make_t5_fixtures.py. It reads the
committed q8_0 GGUFs of gpt2-tiny-vocab and t5-tiny-vocab, dequantizes them into transformers
models (float32, eager attention) and writes, next to each, attention.json: for the greedy run
already in expected.json, the attention while that answer was written. The page feeds the input
and the answer minus its last token (the last one was chosen, never read):
- GPT-2: one sequence, prompt + answer[:-1]; "attentions" is [layer][head][query][key] (causal).
- T5: the encoder reads the input ("encoder_attentions", bidirectional); the decoder reads
  [decoder start] + answer[:-1] ("decoder_attentions", causal; "cross_attentions", decoder
  positions x input positions).

    $HOME/.cache/pretrain-lab/refvenv/bin/python reference/make_attention_fixtures.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import GPT2Config, T5Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpt2_reference as g  # noqa: E402
import t5_reference as t  # noqa: E402
import t5_vocab_fixtures as tv  # noqa: E402


torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

GENERATOR = {"script": "reference/make_attention_fixtures.py", "transformers": transformers.__version__,
             "torch": torch.__version__}


def gpt2() -> None:
    out = t.FIXTURES / "gpt2-tiny-vocab"
    expected = json.loads((out / "expected.json").read_text())
    cfg = GPT2Config(**{k: v for k, v in expected["config"].items() if k not in ("architectures", "dtype")})
    base = g.GPT2LMHeadModel._from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    tensors, _, _ = g.read_gguf(out / "llama-q8_0.gguf")
    model = g.model_from_tensors(base, tensors, "llama").eval()
    run = expected["greedy"][0]
    ids = run["input_ids"] + run["generated_ids"][:-1]
    with torch.no_grad():
        o = model(torch.tensor([ids]), output_attentions=True)
        again = model.generate(torch.tensor([run["input_ids"]]), max_new_tokens=len(run["generated_ids"]),
                               min_new_tokens=len(run["generated_ids"]), do_sample=False)
    assert again[0].tolist()[len(run["input_ids"]):] == run["generated_ids"], "the greedy run changed"
    g.write_json(out / "attention.json", {
        "generator": GENERATOR,
        "weights": "llama-q8_0.gguf, dequantized",
        "text": run["text"],
        "input_ids": ids,
        "attentions": g.r7(torch.stack([a[0] for a in o.attentions])),
    })
    print(f"gpt2-tiny-vocab: {len(ids)} positions, {len(o.attentions)} layers")


def t5() -> None:
    out = t.FIXTURES / tv.VOCAB_NAME
    expected = json.loads((out / "expected.json").read_text())
    base = t.build_t5(T5Config(**tv.VOCAB_CFG), tv.VOCAB_SEED, tv.VOCAB_STD, untie=False)
    tensors, _, _ = t.read_gguf(out / "model-q8_0.gguf")
    model = t.model_from_tensors(base, tensors).eval()
    run = expected["greedy"][0]
    enc = run["input_ids"]
    dec = [t.DEC_START] + run["generated_ids"][:-1]
    with torch.no_grad():
        o = t.forward(model, enc, dec, output_attentions=True)
    assert o.logits[0].argmax(-1).tolist() == run["generated_ids"], "the greedy run changed"
    stack = lambda xs: t.r7(torch.stack([a[0] for a in xs]))  # noqa: E731
    g.write_json(out / "attention.json", {
        "generator": GENERATOR,
        "weights": "model-q8_0.gguf, dequantized",
        "text": run["text"],
        "input_ids": enc,
        "decoder_input_ids": dec,
        "encoder_attentions": stack(o.encoder_attentions),
        "decoder_attentions": stack(o.decoder_attentions),
        "cross_attentions": stack(o.cross_attentions),
    })
    print(f"{tv.VOCAB_NAME}: {len(enc)} inputs, {len(dec)} decoder positions")


if __name__ == "__main__":
    gpt2()
    t5()
