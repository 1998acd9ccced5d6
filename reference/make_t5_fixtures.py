#!/usr/bin/env python3
"""Build random-weight T5 reference models and the test fixtures computed from them.

Run by hand, never by CI. Everything numeric in expected.json is computed by
Hugging Face transformers (PyTorch, float32, eager attention, eval mode).

Setup: the same venv as make_gpt2_fixtures.py (see reference/README.md).
Run from the repository root:

    $HOME/.cache/pretrain-lab/refvenv/bin/python reference/make_t5_fixtures.py
        -> worker/tests/fixtures/t5-tiny/    (T5 v1.0 style: ReLU FF, lm_head tied to shared, scaled decoder output)
        -> worker/tests/fixtures/flan-tiny/  (T5 v1.1 / flan style: gated-gelu FF, untied lm_head, no scaling)

        -> worker/tests/fixtures/t5-tiny-vocab/  (the real 32,128-row vocabulary, tiny otherwise; q8_0 only)
        -> worker/tests/fixtures/t5-k256/        (flan style, every weight row a multiple of 256, f16 safetensors)

    --only t5-tiny | flan-tiny | t5-tiny-vocab | t5-k256   writes one of them.
    --bench        also writes t5-small-shaped random models (not committed):
                   $HOME/.cache/pretrain-lab/bench-models/t5-small-{q8_0,q4_0}.gguf + t5-small-config.json
    --only-bench   writes only those.

Deterministic: all randomness comes from seeded torch / numpy generators, so a
re-run with the same package versions rewrites byte-identical files.
See reference/README.md ("T5") for what each file contains.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import gguf
import transformers
from transformers import DynamicCache, EncoderDecoderCache, T5Config, T5ForConditionalGeneration

sys.path.insert(0, str(Path(__file__).resolve().parent))
from t5_reference import (  # noqa: E402
    DEC_START, EOS, FIXTURES, PAD, build_t5, check_embeddings, check_readback, check_saved, dec_ids,
    enc_ids, forward, gap_stats, greedy, model_from_tensors, package_version, r7, save_hf, tied,
    write_gguf, write_json)
from t5_vocab_fixtures import (  # noqa: E402
    K256_NAME, VOCAB_NAME, VOCAB_TRANSLATE_IDS, make_k256, make_tiny_vocab, write_config_json)

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

COMMON = dict(vocab_size=512, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=3, num_heads=4,
              relative_attention_num_buckets=32, relative_attention_max_distance=128,
              layer_norm_epsilon=1e-6, pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=DEC_START)

# name -> (config kwargs, seed, init std's). The std's were chosen (by trial, see reference/README.md) so
# that the logit std is a few units (tied: logit std ≈ std of shared), attention is neither uniform nor
# one-hot, the prompt changes the output, and greedy runs neither echo their input token nor settle
# on one token at once (t5-tiny: large FF output, a stronger cross-attention "o", zero-mean ReLU "wo" rows).
MODELS = {
    "t5-tiny": (dict(feed_forward_proj="relu", tie_word_embeddings=True), 5,
                dict(shared=2.5, q=0.09, k=0.09, v=0.2, o=0.15, x_o=0.45, wi=0.3, wo=1.0, wo_zero_row_mean=True,
                     rel=0.5, norm=0.1)),
    "flan-tiny": (dict(feed_forward_proj="gated-gelu", tie_word_embeddings=False), 11,
                  dict(shared=1.0, lm_head=0.35, q=0.07, k=0.07, v=0.15, o=0.12, wi=0.15, wo=0.25,
                       rel=0.5, norm=0.1)),
}

# --bench: random t5-small-shaped models for speed measurements (not committed)
BENCH_DIR = Path(os.environ.get("HOME", "~")) / ".cache" / "pretrain-lab" / "bench-models"
BENCH_CFG = dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8,
                 relative_attention_num_buckets=32, relative_attention_max_distance=128, layer_norm_epsilon=1e-6,
                 pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=DEC_START,
                 feed_forward_proj="relu", tie_word_embeddings=True)


# ----------------------------------------------------------------------------
# models


def make_config(name: str) -> T5Config:
    kw, _, _ = MODELS[name]
    return T5Config(**COMMON, **kw)


def build_model(name: str) -> T5ForConditionalGeneration:
    """T5ForConditionalGeneration with non-trivial random weights (eval mode, f32, eager attention)."""
    kw, seed, std = MODELS[name]
    return build_t5(make_config(name), seed, std, untie=not kw["tie_word_embeddings"])


# ----------------------------------------------------------------------------
# fixture sets


def make_fixture(name: str, log: list[str]) -> None:
    out = FIXTURES / name
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(name)
    cfg = model.config
    V, D = cfg.vocab_size, cfg.d_model
    is_tied = tied(model)
    save_hf(model, out)

    for mode in ("f32", "q8_0", "q4_0"):
        write_gguf(out / f"model-{mode}.gguf", model, mode)
    deq = {}
    for mode in ("f32", "q8_0", "q4_0"):
        t = check_readback(out / f"model-{mode}.gguf", model, mode, log)
        deq[mode] = model_from_tensors(model, t)

    # unbatched cases
    rng = np.random.default_rng(5150)
    case_io = [(enc_ids(rng, 5, V), dec_ids(rng, 4, V)), (enc_ids(rng, 11, V), dec_ids(rng, 12, V))]
    cases, all_logits = [], []
    for enc, dec in case_io:
        o = forward(model, enc, dec, output_hidden_states=True, output_attentions=True)
        assert len(o.encoder_hidden_states) == cfg.num_layers + 1
        assert len(o.decoder_hidden_states) == cfg.num_decoder_layers + 1
        assert len(o.encoder_attentions) == cfg.num_layers
        assert len(o.decoder_attentions) == cfg.num_decoder_layers == len(o.cross_attentions)
        # HF convention: [0] = embeddings, [i] = block i-1 output, [-1] = final_layer_norm output
        with torch.no_grad():
            enc_last = model.encoder(input_ids=torch.tensor([enc])).last_hidden_state
            dec_last = model.decoder(input_ids=torch.tensor([dec]), encoder_hidden_states=enc_last).last_hidden_state
            emb = model.shared(torch.tensor([enc]))
        assert torch.equal(o.encoder_hidden_states[-1], enc_last)
        assert torch.equal(o.encoder_hidden_states[0], emb)
        assert torch.equal(o.decoder_hidden_states[-1], dec_last)
        # the output layer: tied -> (dec_last * d_model**-0.5) @ shared.T ; untied -> dec_last @ lm_head.T
        scale = D ** -0.5 if is_tied else 1.0
        w = model.shared.weight if is_tied else model.lm_head.weight
        manual = (dec_last * scale) @ w.T
        assert (manual - o.logits).abs().max().item() < 1e-5
        if is_tied:  # and NOT candle 0.11.1's sqrt(d_model)
            wrong = (dec_last * D ** 0.5) @ w.T
            assert (wrong - o.logits).abs().max().item() > 1.0
        all_logits.append(o.logits[0])
        cases.append({
            "name": f"enc{len(enc)}_dec{len(dec)}",
            "input_ids": enc,
            "decoder_input_ids": dec,
            "logits": r7(o.logits[0]),
            "encoder_hidden_states": r7(torch.stack([h[0] for h in o.encoder_hidden_states])),
            "decoder_hidden_states": r7(torch.stack([h[0] for h in o.decoder_hidden_states])),
            "encoder_attentions": r7(torch.stack([a[0] for a in o.encoder_attentions])),
            "decoder_attentions": r7(torch.stack([a[0] for a in o.decoder_attentions])),
            "cross_attentions": r7(torch.stack([a[0] for a in o.cross_attentions])),
        })
    stats = gap_stats(torch.cat(all_logits))
    log.append(f"{name} f32 case logits: {stats}")

    # right-padded batch, decoder rows of equal length 6
    T = max(len(e) for e, _ in case_io)
    b_enc = [e + [PAD] * (T - len(e)) for e, _ in case_io]
    b_mask = [[1] * len(e) + [0] * (T - len(e)) for e, _ in case_io]
    b_dec = [dec_ids(rng, 6, V) for _ in case_io]
    with torch.no_grad():
        b_logits = model(input_ids=torch.tensor(b_enc), attention_mask=torch.tensor(b_mask),
                         decoder_input_ids=torch.tensor(b_dec)).logits
    b_diff = 0.0
    for k, (enc, _) in enumerate(case_io):
        single = forward(model, enc, b_dec[k]).logits[0]
        b_diff = max(b_diff, (b_logits[k] - single).abs().max().item())
    assert b_diff < 1e-4, b_diff
    log.append(f"{name} batch vs unbatched max |diff|: {b_diff:.3g}")
    batch = {"input_ids": b_enc, "attention_mask": b_mask, "pad_id": PAD, "decoder_input_ids": b_dec,
             "logits": r7(b_logits), "max_abs_diff_vs_unbatched": r7(b_diff)}

    # greedy: 2 encoder prompts (lengths 6 and 9), drawn until the greedy run of f32, q8_0 and q4_0
    # (each its own run) has every top-1/top-2 gap >= GAP; the f32 run must have >= 8 distinct tokens
    # and neither pad/decoder_start 0 nor eos 1 (so an eos-stopping loop generates the same 20 tokens).
    GAP, N_NEW = 0.05, 20
    prng = np.random.default_rng(4242)
    g_prompts = []
    for n in (6, 9):
        for attempt in range(3000):
            p = enc_ids(prng, n, V)
            ok = True
            for k, m in enumerate((model, deq["q8_0"], deq["q4_0"])):
                gen, gaps = greedy(m, p, N_NEW)
                if min(gaps) < GAP or (k == 0 and (len(set(gen)) < 8 or PAD in gen or EOS in gen)):
                    ok = False
                    break
            if ok:
                break
        else:
            raise RuntimeError(f"{name}: no prompt of length {n} with greedy gaps >= {GAP}")
        log.append(f"{name} greedy prompt of length {n} found after {attempt + 1} draws")
        g_prompts.append(p)
    greedy_out = []
    for p in g_prompts:
        gen, gaps = greedy(model, p, N_NEW)
        # the KV-cached generate() (decoder positions offset by the cache length) gives the same tokens.
        # transformers 5.24: generate()'s default cache is sized by config.num_layers (the ENCODER depth)
        # and raises IndexError when num_decoder_layers > num_layers: hand it a lazily growing cache.
        with torch.no_grad():
            hf = model.generate(torch.tensor([p]), max_new_tokens=N_NEW, min_new_tokens=N_NEW, do_sample=False,
                                num_beams=1, decoder_start_token_id=DEC_START,
                                past_key_values=EncoderDecoderCache(DynamicCache(), DynamicCache()))
        assert hf[0].tolist() == [DEC_START] + gen, (hf[0].tolist(), gen)
        greedy_out.append({"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)})
        log.append(f"{name} greedy f32 {p}: {gen}  min gap {min(gaps):.3g}")

    # softmax over the vocab at the first decoder step, for label-word probability tests
    fs_enc = case_io[0][0]
    fs_probs = torch.softmax(forward(model, fs_enc, [DEC_START]).logits[0, -1], dim=-1)
    first_step = {"input_ids": fs_enc, "decoder_input_ids": [DEC_START], "probs": r7(fs_probs),
                  "argmax": int(torch.argmax(fs_probs))}

    # quantized: transformers on the dequantized GGUF weights
    quant, maxdiff = {}, {}
    for mode in ("q8_0", "q4_0"):
        m = deq[mode]
        qc, md = [], 0.0
        for (enc, dec), ref in zip(case_io, all_logits):
            lg = forward(m, enc, dec).logits[0]
            md = max(md, (lg - ref).abs().max().item())
            qc.append({"input_ids": enc, "decoder_input_ids": dec, "logits": r7(lg)})
        qg = []
        for p, ref in zip(g_prompts, greedy_out):
            gen, gaps = greedy(m, p, N_NEW)
            qg.append({"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)})
            same = sum(a == b for a, b in zip(gen, ref["generated_ids"]))
            log.append(f"{name} greedy {mode}: {gen}  ({same}/{N_NEW} equal to f32, min gap {min(gaps):.3g})")
        quant[mode] = {"weights": f"model-{mode}.gguf, dequantized", "cases": qc, "greedy": qg}
        maxdiff[mode] = r7(md)
        log.append(f"{name} max |{mode} - f32| case logits: {md:.4g}")

    # the f32 GGUF round trip changes nothing; config.json + safetensors load back to the same model
    for enc, dec in case_io:
        assert torch.equal(forward(deq["f32"], enc, dec).logits, forward(model, enc, dec).logits)
    keys = check_saved(out, model, case_io, log)

    # candle-transformers 0.11.1 computes the decoder's buckets two-sided (as the encoder's). Emulate that
    # (same model, decoder self-attention bias made bidirectional) to show the fixture catches it: decoder
    # positions 0..8 are unaffected (distances <= 8 fall in the same buckets both ways), positions >= 9 differ.
    bug = copy.deepcopy(model)
    bug.decoder.block[0].layer[0].SelfAttention.is_decoder = False  # only selects the bucket function
    enc, dec = case_io[1]
    diff = (forward(bug, enc, dec).logits[0] - all_logits[1]).abs().max(dim=-1).values
    assert diff[:9].max().item() == 0.0 and diff[9:].min().item() > 1e-3, diff
    log.append(f"{name} bidirectional decoder buckets (candle 0.11.1 bug): max |logit diff| per decoder position "
               f"{[round(v, 3) for v in diff.tolist()]}")
    bug_gen = [greedy(bug, p, N_NEW)[0] for p in g_prompts]
    bug_same = [sum(a == b for a, b in zip(bg, r["generated_ids"])) for bg, r in zip(bug_gen, greedy_out)]
    log.append(f"{name} greedy with that bug: {bug_same} of {N_NEW} tokens equal to f32")

    # relative position buckets exactly as transformers computes them (key pos - query pos)
    from transformers.models.t5.modeling_t5 import T5Attention
    rel = torch.arange(-160, 161)
    kw = dict(num_buckets=cfg.relative_attention_num_buckets, max_distance=cfg.relative_attention_max_distance)
    buckets = {
        "relative_position": rel.tolist(),
        "encoder_bidirectional": T5Attention._relative_position_bucket(rel, bidirectional=True, **kw).tolist(),
        "decoder_causal": T5Attention._relative_position_bucket(rel, bidirectional=False, **kw).tolist(),
    }

    expected = {
        "generator": {"script": "reference/make_t5_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"),
                      "safetensors": package_version("safetensors"), "numpy": np.__version__},
        "config": json.loads((out / "config.json").read_text()),
        "safetensors_keys": keys,
        "lm_head_tied": is_tied,
        "decoder_output_scale": r7(D ** -0.5) if is_tied else 1.0,
        "logit_stats": r7(stats),
        "cases": cases,
        "batch": batch,
        "greedy": greedy_out,
        "first_step_probs": first_step,
        "quantized": quant,
        "max_abs_diff_quantized_vs_f32": maxdiff,
        "relative_position_buckets": buckets,
    }
    write_json(out / "expected.json", expected)
    sizes = {f.name: f.stat().st_size for f in sorted(out.iterdir())}
    log.append(f"{name}: {sum(sizes.values())} bytes {sizes}")


def make_bench(log: list[str]) -> None:
    """t5-small-shaped random models, transformers' default T5 init (seeded), for speed only."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cfg = T5Config(**BENCH_CFG)
    torch.manual_seed(512)
    model = T5ForConditionalGeneration._from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    check_embeddings(model, want_tied=True)
    n_params = sum(p.numel() for p in model.parameters())
    write_config_json(model, BENCH_DIR / "t5-small-config.json")
    for mode in ("q8_0", "q4_0"):
        path = BENCH_DIR / f"t5-small-{mode}.gguf"
        t0 = time.time()
        write_gguf(path, model, mode)
        dt = time.time() - t0
        r = gguf.GGUFReader(str(path))
        types = {}
        for t in r.tensors:
            types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
        log.append(f"bench {path}: {path.stat().st_size} bytes, {len(r.tensors)} tensors {types}, "
                   f"quantize+write {dt:.1f} s")
    with torch.no_grad():
        lg = model(input_ids=torch.tensor([VOCAB_TRANSLATE_IDS]), decoder_input_ids=torch.tensor([[DEC_START]])).logits
    log.append(f"bench t5-small: {n_params} parameters (shared counted once); first-step logit std "
               f"{float(lg.std()):.3g} (meaningless outputs: for speed only)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=sorted(MODELS) + [VOCAB_NAME, K256_NAME], help="write only this fixture")
    ap.add_argument("--bench", action="store_true", help="also write the t5-small-shaped benchmark GGUFs "
                    "(not committed) into $HOME/.cache/pretrain-lab/bench-models/")
    ap.add_argument("--only-bench", action="store_true", help="write only the benchmark GGUFs")
    args = ap.parse_args()
    log: list[str] = [f"transformers {transformers.__version__}, torch {torch.__version__}, "
                      f"gguf {package_version('gguf')}, numpy {np.__version__}"]
    t0 = time.time()
    try:
        if not args.only_bench:
            for name in MODELS:
                if args.only in (None, name):
                    make_fixture(name, log)
            if args.only in (None, VOCAB_NAME):
                make_tiny_vocab(log)
            if args.only in (None, K256_NAME):
                make_k256(log)
        if args.bench or args.only_bench:
            make_bench(log)
    finally:
        print("\n".join(log))
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
