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
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import gguf
from gguf import GGMLQuantizationType as QT
import transformers
from transformers import DynamicCache, EncoderDecoderCache, T5Config, T5ForConditionalGeneration

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "worker" / "tests" / "fixtures"

QTYPE = {"q8_0": QT.Q8_0, "q4_0": QT.Q4_0}

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

PAD, EOS, DEC_START = 0, 1, 0

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

# t5-tiny-vocab: the REAL vocabulary size (32,128 rows = 32,100 tokenizer entries + 28 padding rows, as in
# t5-small), tiny otherwise, for tests with the real tokenizer (static/tokenizers/t5.json) and the browser.
# T5 v1.0 style like t5-small (ReLU FF, lm_head tied to shared, decoder output x d_model^-0.5). Only
# config.json and model-q8_0.gguf are written; expected.json comes from the DEQUANTIZED q8_0 weights.
VOCAB_NAME = "t5-tiny-vocab"
VOCAB_CFG = dict(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
                 relative_attention_num_buckets=32, relative_attention_max_distance=128, layer_norm_epsilon=1e-6,
                 pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=DEC_START,
                 feed_forward_proj="relu", tie_word_embeddings=True)
# t5-tiny's std's rescaled to width 32 (same attention-logit and FF output scale), plus decoder.final_layer_norm
# weights around 4: the tied logits then have a std of ~10 (instead of ~2.5), which 32,128 candidates need for
# top-1/top-2 gaps of a few tenths. Seed 185 was picked off-line (seeds 1..240 tried, the q8_0 runs checked as
# below) for the largest smallest gap among seeds whose greedy runs both have >= 8 distinct tokens.
VOCAB_SEED = 185
VOCAB_STD = dict(shared=2.5, q=0.15, k=0.15, v=0.28, o=0.21, x_o=0.64, wi=0.42, wo=1.41, wo_zero_row_mean=True,
                 rel=0.5, norm=0.1, dec_final_norm=4.0)
T5_TOKENIZER = REPO / "static" / "tokenizers" / "t5.json"
VOCAB_GREEDY_TEXTS = ["translate English to German: The house is wonderful.",
                      "summarize: The students trained a small model."]
VOCAB_TRANSLATE_IDS = [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]  # the HF docs' example
VOCAB_N_NEW, VOCAB_GAP, VOCAB_MIN_DISTINCT = 12, 0.15, 4
VOCAB_TOKENIZER_SIZE = 32100  # ids 32100..32127 are padding rows: no token in the tokenizer
VOCAB_LABEL_TEXT = "sst2 sentence: A warm, funny film."
VOCAB_LABELS = ["positive", "negative"]

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


def tied(model: T5ForConditionalGeneration) -> bool:
    return model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()


def check_embeddings(model: T5ForConditionalGeneration, want_tied: bool) -> None:
    p = model.shared.weight.data_ptr()
    assert model.encoder.embed_tokens.weight.data_ptr() == p, "encoder.embed_tokens not tied to shared"
    assert model.decoder.embed_tokens.weight.data_ptr() == p, "decoder.embed_tokens not tied to shared"
    assert tied(model) == want_tied, f"lm_head tied={tied(model)}, wanted {want_tied}"
    assert model.config.scale_decoder_outputs == want_tied, model.config.scale_decoder_outputs


def build_model(name: str) -> T5ForConditionalGeneration:
    """T5ForConditionalGeneration with non-trivial random weights (eval mode, f32, eager attention)."""
    kw, seed, std = MODELS[name]
    return build_t5(make_config(name), seed, std, untie=not kw["tie_word_embeddings"])


def build_t5(cfg: T5Config, seed: int, std: dict, untie: bool) -> T5ForConditionalGeneration:
    """The init of build_model for any config. Optional std keys (absent for t5-tiny / flan-tiny, so their
    random draws are unchanged): "x_q" / "x_k" / "x_v" / "x_o" (cross-attention), "wo_zero_row_mean",
    "dec_final_norm" (mean of decoder.final_layer_norm.weight instead of 1: scales the tied logits)."""
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    if untie:
        # transformers 5.x: T5Config forces tie_word_embeddings=True (the kwarg only sets
        # scale_decoder_outputs=False) and the model ties lm_head to shared anyway: untie by hand.
        assert tied(model)
        model.lm_head.weight = nn.Parameter(torch.empty(cfg.vocab_size, cfg.d_model))
    check_embeddings(model, want_tied=not untie)
    g = torch.Generator().manual_seed(seed)

    def normal_(p: torch.Tensor, mean: float, s: float) -> None:
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * s + mean)

    with torch.no_grad():
        # named_parameters() lists tied parameters once (shared.weight; lm_head.weight only when untied)
        for pname, p in model.named_parameters():
            last = pname.split(".")[-2]
            if pname == "shared.weight":
                normal_(p, 0.0, std["shared"])
            elif pname == "lm_head.weight":
                normal_(p, 0.0, std["lm_head"])
            elif pname.endswith("relative_attention_bias.weight"):
                normal_(p, 0.0, std["rel"])
            elif pname == "decoder.final_layer_norm.weight" and "dec_final_norm" in std:
                normal_(p, std["dec_final_norm"], std["norm"])
            elif pname.endswith("layer_norm.weight"):  # layer_norm and final_layer_norm
                normal_(p, 1.0, std["norm"])
            elif last in ("q", "k", "v", "o"):
                # cross-attention may have its own std's (keys "x_q", ...)
                key = f"x_{last}" if ".EncDecAttention." in pname and f"x_{last}" in std else last
                normal_(p, 0.0, std[key])
            elif last in ("wi", "wi_0", "wi_1"):
                normal_(p, 0.0, std["wi"])
            elif last == "wo":
                normal_(p, 0.0, std["wo"])
                if std.get("wo_zero_row_mean"):
                    # ReLU outputs have a positive mean, so W_o adds an almost input-independent vector
                    # (W_o @ 1 * mean) that makes most inputs predict the same few tokens. Rows of W_o
                    # summing to zero remove most of it.
                    p.sub_(p.mean(dim=1, keepdim=True))
            else:
                raise RuntimeError(f"unexpected parameter {pname}")
    check_embeddings(model, want_tied=not untie)
    return model


def saved_state_dict(model: T5ForConditionalGeneration) -> dict[str, np.ndarray]:
    """The tensors save_pretrained writes: state_dict() without the tied duplicates, in state_dict order."""
    out = {}
    for k, v in model.state_dict().items():
        if k in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            continue
        if k == "lm_head.weight" and tied(model):
            continue
        out[k] = v.detach().cpu().numpy().astype(np.float32)
    return out


def save_hf(model: T5ForConditionalGeneration, out: Path) -> None:
    model.save_pretrained(str(out))
    gen = out / "generation_config.json"
    if gen.exists():
        gen.unlink()
    # transformers 5.x writes "tie_word_embeddings": true for every T5 (with "scale_decoder_outputs": false
    # for the untied one). Hub flan-t5 configs say "tie_word_embeddings": false: write that, as a loader
    # must handle it (transformers 5.24 reads it back to the same model, asserted in check_saved()).
    cfg_path = out / "config.json"
    c = json.loads(cfg_path.read_text())
    c["tie_word_embeddings"] = bool(tied(model))
    cfg_path.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
    for f in ("config.json", "model.safetensors"):
        os.chmod(out / f, 0o644)


# ----------------------------------------------------------------------------
# GGUF (layout of lmz/candle-quantized-t5: HF names, HF [out, in] shapes, no metadata)


def encode_tensor(arr: np.ndarray, mode: str) -> tuple[np.ndarray, QT | None]:
    """2-D tensors whose rows are a multiple of 32 long in `mode`; everything else F32."""
    if mode == "f32" or arr.ndim != 2 or arr.shape[-1] % 32 != 0:
        return arr.astype(np.float32), None
    q = QTYPE[mode]
    return gguf.quants.quantize(arr.astype(np.float32), q), q


def write_gguf(path: Path, model: T5ForConditionalGeneration, mode: str) -> None:
    w = gguf.GGUFWriter(str(path), arch="t5")
    # candle's tensor-tools (which made lmz/candle-quantized-t5) writes no metadata at all: drop the
    # general.architecture key GGUFWriter adds by itself.
    w.kv_data[0].pop(gguf.Keys.General.ARCHITECTURE)
    for tname, arr in saved_state_dict(model).items():
        data, raw = encode_tensor(arr, mode)
        w.add_tensor(tname, data, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_gguf(path: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, list[int], list[int]]], dict]:
    """Dequantized tensors in numpy (row-major) shape, plus (type, GGUFReader shape, numpy shape) per tensor."""
    r = gguf.GGUFReader(str(path))
    tensors, info = {}, {}
    for t in r.tensors:
        np_shape = [int(x) for x in reversed(t.shape.tolist())]  # GGUFReader shape is ne[] order
        arr = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(np_shape)
        tensors[t.name] = arr
        info[t.name] = (t.tensor_type.name, [int(x) for x in t.shape.tolist()], np_shape)
    meta = {f.name: f.contents() for f in r.fields.values() if not f.name.startswith("GGUF.")}
    return tensors, info, meta


def check_readback(path: Path, model: T5ForConditionalGeneration, mode: str, log: list[str]) -> dict[str, np.ndarray]:
    tensors, info, meta = read_gguf(path)
    ref = saved_state_dict(model)
    assert list(info) == list(ref), (list(info), list(ref))
    assert meta == {}, meta
    for name, arr in ref.items():
        qtype, _, npshape = info[name]
        want = "F32" if (mode == "f32" or arr.ndim != 2 or arr.shape[-1] % 32) else mode.upper()
        assert qtype == want, (path.name, name, qtype, want)
        assert tuple(npshape) == arr.shape, (path.name, name, npshape, arr.shape)
        if want == "F32":
            assert np.array_equal(tensors[name], arr), (path.name, name)
    log.append(f"{path.parent.name}/{path.name}: {len(info)} tensors, {path.stat().st_size} bytes, no metadata")
    if mode == "q4_0":  # the types are the same in every file but f32: list them once
        for name, (qtype, gshape, npshape) in info.items():
            log.append(f"    {name:58s} {qtype:5s} GGUFReader.shape={gshape} numpy={npshape}")
    return tensors


def model_from_tensors(base: T5ForConditionalGeneration, tensors: dict[str, np.ndarray]) -> T5ForConditionalGeneration:
    """Load (dequantized) GGUF tensors back into a copy of `base` (ties are kept by deepcopy)."""
    m = copy.deepcopy(base)
    params = dict(m.named_parameters())  # tied ones once
    assert set(params) == set(tensors), set(params) ^ set(tensors)
    with torch.no_grad():
        for tname, arr in tensors.items():
            p = params[tname]
            assert tuple(p.shape) == arr.shape, (tname, p.shape, arr.shape)
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr)))
    check_embeddings(m, want_tied=tied(base))
    return m


# ----------------------------------------------------------------------------
# reference computations (all by transformers)


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


@torch.no_grad()
def forward(model, enc: list[int], dec: list[int], **kw):
    return model(input_ids=torch.tensor([enc]), decoder_input_ids=torch.tensor([dec]), **kw)


@torch.no_grad()
def greedy(model, enc: list[int], n_new: int) -> tuple[list[int], list[float]]:
    """Manual argmax loop from decoder_start, full decoder recompute each step, no eos stop.
    Also returns the top-1/top-2 logit gap of each step."""
    dec = [DEC_START]
    gaps = []
    enc_out = model.encoder(input_ids=torch.tensor([enc]))
    for _ in range(n_new):
        logits = model(encoder_outputs=enc_out, decoder_input_ids=torch.tensor([dec])).logits[0, -1]
        top = torch.topk(logits, 2).values
        gaps.append(float(top[0] - top[1]))
        dec.append(int(torch.argmax(logits)))
    return dec[1:], gaps


def gap_stats(logits: torch.Tensor) -> dict:
    top = torch.topk(logits.reshape(-1, logits.shape[-1]), 2, dim=-1).values
    gap = top[:, 0] - top[:, 1]
    return {"logit_std": float(logits.std()), "max_abs_logit": float(logits.abs().max()),
            "min_top2_gap": float(gap.min()), "frac_gap_gt_0.05": float((gap > 0.05).float().mean())}


def enc_ids(rng: np.random.Generator, n: int, vocab: int) -> list[int]:
    """n ids: n-1 random ids in [2, vocab) (no pad/eos), then eos."""
    return [int(v) for v in rng.integers(2, vocab, size=n - 1)] + [EOS]


def dec_ids(rng: np.random.Generator, n: int, vocab: int) -> list[int]:
    """n ids: decoder_start, then n-1 random ids in [2, vocab)."""
    return [DEC_START] + [int(v) for v in rng.integers(2, vocab, size=n - 1)]


def write_json(path: Path, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def package_version(name: str) -> str:
    from importlib.metadata import version
    return version(name)


def check_saved(out: Path, model: T5ForConditionalGeneration, probes: list[tuple[list[int], list[int]]],
                log: list[str]) -> list[str]:
    """The written config.json + model.safetensors load back (transformers) to the same model."""
    from safetensors import safe_open
    with safe_open(str(out / "model.safetensors"), "np") as f:
        keys = list(f.keys())
        saved = {k: f.get_tensor(k) for k in keys}
    want = saved_state_dict(model)
    assert set(keys) == set(want), set(keys) ^ set(want)
    for k, v in want.items():
        assert np.array_equal(saved[k], v), k
    if not tied(model):
        assert "lm_head.weight" in saved and not np.array_equal(saved["lm_head.weight"], saved["shared.weight"])
    reloaded = T5ForConditionalGeneration.from_pretrained(str(out), attn_implementation="eager").eval()
    check_embeddings(reloaded, want_tied=tied(model))
    for enc, dec in probes:
        d = (forward(reloaded, enc, dec).logits - forward(model, enc, dec).logits).abs().max().item()
        assert d < 1e-5, f"safetensors round trip: {d}"
    c = json.loads((out / "config.json").read_text())
    log.append(f"{out.name}/model.safetensors: {len(keys)} tensors; config.json tie_word_embeddings="
               f"{c['tie_word_embeddings']} scale_decoder_outputs={c.get('scale_decoder_outputs')}")
    return keys


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


def write_config_json(model: T5ForConditionalGeneration, dest: Path) -> None:
    """config.json exactly as save_hf writes it (save_pretrained into a scratch folder; only the config kept)."""
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        save_hf(model, Path(tmp))
        shutil.copyfile(Path(tmp) / "config.json", dest)
    os.chmod(dest, 0o644)


def t5_tokenizer():
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(T5_TOKENIZER))
    assert tok.get_vocab_size() == VOCAB_TOKENIZER_SIZE, tok.get_vocab_size()
    assert tok.encode(VOCAB_GREEDY_TEXTS[0]).ids == VOCAB_TRANSLATE_IDS
    return tok


def make_tiny_vocab(log: list[str]) -> None:
    out = FIXTURES / VOCAB_NAME
    out.mkdir(parents=True, exist_ok=True)
    cfg = T5Config(**VOCAB_CFG)
    model = build_t5(cfg, VOCAB_SEED, VOCAB_STD, untie=False)
    check_embeddings(model, want_tied=True)
    D = cfg.d_model
    write_config_json(model, out / "config.json")
    path = out / "model-q8_0.gguf"
    write_gguf(path, model, "q8_0")
    tensors = check_readback(path, model, "q8_0", log)
    _, info, _ = read_gguf(path)
    types = {}
    for qtype, _, _ in info.values():
        types[qtype] = types.get(qtype, 0) + 1
    log.append(f"{VOCAB_NAME}/model-q8_0.gguf types {types}; shared.weight {info['shared.weight']}")
    deq = model_from_tensors(model, tensors)

    tok = t5_tokenizer()
    import hashlib
    import tokenizers
    greedy_out = []
    for text in VOCAB_GREEDY_TEXTS:
        ids = tok.encode(text).ids
        gen, gaps = greedy(deq, ids, VOCAB_N_NEW)
        assert min(gaps) >= VOCAB_GAP, (text, gen, gaps)
        assert len(set(gen)) >= VOCAB_MIN_DISTINCT, (text, gen)
        assert all(2 <= i < VOCAB_TOKENIZER_SIZE for i in gen), (text, gen)
        with torch.no_grad():  # the KV-cached generate() agrees
            hf = deq.generate(torch.tensor([ids]), max_new_tokens=VOCAB_N_NEW, min_new_tokens=VOCAB_N_NEW,
                              do_sample=False, num_beams=1, decoder_start_token_id=DEC_START,
                              past_key_values=EncoderDecoderCache(DynamicCache(), DynamicCache()))
        assert hf[0].tolist() == [DEC_START] + gen, (hf[0].tolist(), gen)
        f32_gen, f32_gaps = greedy(model, ids, VOCAB_N_NEW)
        # candle 0.11.1's two-sided decoder buckets (see make_fixture): positions >= 9 may change
        bug = copy.deepcopy(deq)
        bug.decoder.block[0].layer[0].SelfAttention.is_decoder = False
        bug_gen, _ = greedy(bug, ids, VOCAB_N_NEW)
        greedy_out.append({"text": text, "input_ids": ids, "generated_ids": gen, "top2_gaps": r7(gaps)})
        log.append(f"{VOCAB_NAME} greedy q8_0 {text!r} {ids}: {gen} ({len(set(gen))} distinct) "
                   f"decoded {tok.decode(gen)!r}; gaps min {min(gaps):.3g} {[round(g, 3) for g in gaps]}")
        log.append(f"    f32 weights: {sum(a == b for a, b in zip(f32_gen, gen))}/{VOCAB_N_NEW} tokens equal, "
                   f"min gap {min(f32_gaps):.3g}; two-sided decoder buckets: "
                   f"{sum(a == b for a, b in zip(bug_gen, gen))}/{VOCAB_N_NEW} equal {bug_gen}")

    # label-word probabilities at the first decoder step
    fs_ids = tok.encode(VOCAB_LABEL_TEXT).ids
    label_ids = []
    for w in VOCAB_LABELS:
        wids = tok.encode(w, add_special_tokens=False).ids
        label_ids.append(wids[0])
        log.append(f"{VOCAB_NAME} label {w!r} -> {wids} {tok.encode(w, add_special_tokens=False).tokens}")
    assert len(set(label_ids)) == len(label_ids), label_ids
    logits = forward(deq, fs_ids, [DEC_START]).logits[0, -1]
    probs = torch.softmax(logits, dim=-1)
    lab_logits = logits[label_ids]
    first_step = {"text": VOCAB_LABEL_TEXT, "input_ids": fs_ids, "decoder_input_ids": [DEC_START],
                  "labels": VOCAB_LABELS, "label_ids": label_ids, "probs": r7(probs[label_ids]),
                  "log_probs": r7(torch.log_softmax(logits, dim=-1)[label_ids]), "logits": r7(lab_logits), "probs_over_labels": r7(torch.softmax(lab_logits, dim=-1)),
                  "argmax": int(torch.argmax(logits)), "max_prob": r7(float(probs.max()))}
    log.append(f"{VOCAB_NAME} first step {fs_ids}: label ids {label_ids} probs {first_step['probs']} "
               f"logits {first_step['logits']} over labels {first_step['probs_over_labels']}; "
               f"argmax {first_step['argmax']} p={first_step['max_prob']}; logit std {float(logits.std()):.3g}")

    expected = {
        "generator": {"script": "reference/make_t5_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"), "numpy": np.__version__,
                      "tokenizers": tokenizers.__version__,
                      "tokenizer": "static/tokenizers/t5.json sha256 "
                                   + hashlib.sha256(T5_TOKENIZER.read_bytes()).hexdigest()},
        "config": json.loads((out / "config.json").read_text()),
        "weights": "model-q8_0.gguf, dequantized (transformers f32 on the q8_0 values)",
        "lm_head_tied": True,
        "decoder_output_scale": r7(D ** -0.5),
        "greedy": greedy_out,
        "first_step": first_step,
    }
    write_json(out / "expected.json", expected)
    sizes = {f.name: f.stat().st_size for f in sorted(out.iterdir())}
    log.append(f"{VOCAB_NAME}: {sum(sizes.values())} bytes {sizes}")


# t5-k256: a flan-style T5 whose every 2-D weight (except the [32, heads] relative_attention_bias tables, which stay
# f32 in Rust) has a last dim that is a multiple of 256, for candle's k-quants (q4_k, q6_k) applied at load in Rust.
# Stored as f16: the weights are rounded to float16 right after the init, every expected value comes from the f32
# model holding those f16-rounded values, and model.safetensors holds F16 tensors (the same values, exactly).
K256_NAME = "t5-k256"
K256_CFG = dict(vocab_size=256, d_model=256, d_kv=64, d_ff=256, num_layers=1, num_decoder_layers=1, num_heads=4,
                relative_attention_num_buckets=32, relative_attention_max_distance=128, layer_norm_epsilon=1e-6,
                pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=DEC_START,
                feed_forward_proj="gated-gelu", tie_word_embeddings=False)
# flan-tiny's std's rescaled to width 256 / d_kv 64 (same attention-logit, FF and output-logit scale)
K256_SEED = 256
K256_STD = dict(shared=1.0, lm_head=0.175, q=0.025, k=0.025, v=0.075, o=0.06, wi=0.075, wo=0.18, rel=0.5, norm=0.1)


def quant_roundtrip(model: T5ForConditionalGeneration, qtype: QT) -> T5ForConditionalGeneration:
    """A copy of `model` whose 2-D weights with rows of a multiple of 32 went through `qtype` and back (in memory)."""
    t = {}
    for name, arr in saved_state_dict(model).items():
        if arr.ndim == 2 and arr.shape[-1] % 32 == 0:
            arr = gguf.quants.dequantize(gguf.quants.quantize(arr, qtype), qtype).reshape(arr.shape)
        t[name] = arr
    return model_from_tensors(model, t)


def make_k256(log: list[str]) -> None:
    out = FIXTURES / K256_NAME
    out.mkdir(parents=True, exist_ok=True)
    cfg = T5Config(**K256_CFG)
    model = build_t5(cfg, K256_SEED, K256_STD, untie=True)
    model.half().float()  # round every weight to float16 (in place; ties kept)
    check_embeddings(model, want_tied=False)
    for pname, p in model.named_parameters():
        assert p.dtype == torch.float32, pname
        assert torch.equal(p, p.half().float()), pname
        assert p.ndim == 1 or p.shape[-1] % 256 == 0 or pname.endswith("relative_attention_bias.weight"), pname
    assert not torch.equal(model.lm_head.weight, model.shared.weight)
    V = cfg.vocab_size

    # f16 files: save a half copy (untied lm_head kept by deepcopy)
    half = copy.deepcopy(model).half()
    save_hf(half, out)
    from safetensors import safe_open
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
        saved = {k: f.get_tensor(k) for k in keys}
    want = saved_state_dict(model)
    assert keys == list(want) or set(keys) == set(want), set(keys) ^ set(want)
    for k, v in want.items():
        assert saved[k].dtype == torch.float16, (k, saved[k].dtype)
        assert np.array_equal(saved[k].float().numpy(), v), k
    assert not torch.equal(saved["lm_head.weight"], saved["shared.weight"])

    rng = np.random.default_rng(256256)
    case_io = [(enc_ids(rng, 4, V), dec_ids(rng, 3, V)), (enc_ids(rng, 9, V), dec_ids(rng, 8, V))]
    cases, all_logits = [], []
    for enc, dec in case_io:
        lg = forward(model, enc, dec).logits[0]
        with torch.no_grad():  # untied, unscaled output layer (asserted)
            enc_last = model.encoder(input_ids=torch.tensor([enc])).last_hidden_state
            dec_last = model.decoder(input_ids=torch.tensor([dec]), encoder_hidden_states=enc_last).last_hidden_state
        assert (dec_last[0] @ model.lm_head.weight.T - lg).abs().max().item() < 1e-5
        all_logits.append(lg)
        cases.append({"name": f"enc{len(enc)}_dec{len(dec)}", "input_ids": enc, "decoder_input_ids": dec,
                      "logits": r7(lg)})
    stats = gap_stats(torch.cat(all_logits))
    log.append(f"{K256_NAME} f32 (f16-rounded weights) case logits: {stats}")

    # reload: config.json + f16 safetensors, read as f32, give the same logits
    reloaded = T5ForConditionalGeneration.from_pretrained(str(out), attn_implementation="eager",
                                                          dtype=torch.float32).eval()
    check_embeddings(reloaded, want_tied=False)
    for (enc, dec), ref in zip(case_io, all_logits):
        d = (forward(reloaded, enc, dec).logits[0] - ref).abs().max().item()
        assert d < 1e-5, f"safetensors round trip: {d}"

    # greedy: like gpt2-k256, in-memory q8_0 / q5_1 round trips stand in for candle's q6_k (gguf-py cannot
    # write k-quants). Prompt drawn until the f32 run has every gap >= 0.1, >= 10 distinct tokens, no 0 / 1,
    # and the q8_0 and q5_1 round trips give the same 12 tokens with every gap >= 0.05.
    proxies = {k: quant_roundtrip(model, q) for k, q in (("q8_0", QT.Q8_0), ("q5_1", QT.Q5_1), ("q4_1", QT.Q4_1))}
    prng = np.random.default_rng(2562)
    n_new = 12
    for attempt in range(2000):
        p = enc_ids(prng, 6, V)
        gen, gaps = greedy(model, p, n_new)
        if min(gaps) < 0.1 or len(set(gen)) < 10 or PAD in gen or EOS in gen:
            continue
        ok = True
        for k in ("q8_0", "q5_1"):
            g2, gaps2 = greedy(proxies[k], p, n_new)
            if g2 != gen or min(gaps2) < 0.05:
                ok = False
                break
        if ok:
            break
    else:
        raise RuntimeError(f"{K256_NAME}: no greedy prompt found")
    with torch.no_grad():
        hf = model.generate(torch.tensor([p]), max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                            num_beams=1, decoder_start_token_id=DEC_START,
                            past_key_values=EncoderDecoderCache(DynamicCache(), DynamicCache()))
    assert hf[0].tolist() == [DEC_START] + gen, (hf[0].tolist(), gen)
    log.append(f"{K256_NAME} greedy prompt found after {attempt + 1} draws: {p} -> {gen}, "
               f"gaps {[round(g, 3) for g in gaps]}")
    proxy_diff, proxy_greedy = {}, {}
    for k, m in proxies.items():
        md = max((forward(m, enc, dec).logits[0] - ref).abs().max().item()
                 for (enc, dec), ref in zip(case_io, all_logits))
        proxy_diff[k] = r7(md)
        g2, _ = greedy(m, p, n_new)
        proxy_greedy[k] = g2
        log.append(f"{K256_NAME} {k} round trip: max |logit - f32| {md:.4g} on the cases; greedy {g2} "
                   f"({sum(a == b for a, b in zip(g2, gen))}/{n_new} equal to f32)")

    expected = {
        "generator": {"script": "reference/make_t5_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"),
                      "safetensors": package_version("safetensors"), "numpy": np.__version__},
        "config": json.loads((out / "config.json").read_text()),
        "weights": "model.safetensors (F16); expected values from the f32 model holding the same f16 values",
        "safetensors_keys": keys,
        "lm_head_tied": False,
        "decoder_output_scale": 1.0,
        "logit_stats": r7(stats),
        "cases": cases,
        "greedy": [{"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)}],
        "proxy_quant": {"note": "transformers on in-memory gguf-py round trips of every 2-D weight whose rows are a "
                                "multiple of 32 (not the [32, 4] bias tables); information only, not candle's k-quants",
                        "max_abs_diff_vs_f32": proxy_diff, "greedy_generated_ids": proxy_greedy},
    }
    write_json(out / "expected.json", expected)
    sizes = {f.name: f.stat().st_size for f in sorted(out.iterdir())}
    log.append(f"{K256_NAME}: {sum(sizes.values())} bytes {sizes}")


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
