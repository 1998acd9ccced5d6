#!/usr/bin/env python3
"""Build random-weight GPT-2 reference models and the test fixtures computed from them.

Run by hand, never by CI. Everything numeric in expected.json is computed by
Hugging Face transformers (PyTorch, float32, eager attention).

Setup (once, outside the repository):

    python3 -m venv $HOME/.cache/pretrain-lab/refvenv
    $HOME/.cache/pretrain-lab/refvenv/bin/pip install -r reference/requirements.txt

Run from the repository root:

    $HOME/.cache/pretrain-lab/refvenv/bin/python reference/make_gpt2_fixtures.py
        -> worker/tests/fixtures/gpt2-tiny/        (numerics fixtures, vocab 1024)
        -> worker/tests/fixtures/gpt2-tiny-vocab/  (full GPT-2 vocab, for tokenizer/browser tests)
        -> worker/tests/fixtures/gpt2-k256/        (rows of 256, for k-quants quantized at load)

    $HOME/.cache/pretrain-lab/refvenv/bin/python reference/make_gpt2_fixtures.py --bench
        -> additionally $HOME/.cache/pretrain-lab/bench-models/gpt2-124M-{q8_0,q4_0}.gguf
           (real GPT-2 shapes, random weights; NOT committed)

    --only-bench writes only the benchmark models.

Deterministic: all randomness comes from seeded torch / numpy generators, so a
re-run with the same package versions rewrites byte-identical files.
See reference/README.md for what each file contains.
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
from gguf import GGMLQuantizationType as QT
from transformers import GPT2Config, GPT2LMHeadModel
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpt2_reference import (  # noqa: E402
    assert_tied, build_model, check_readback, forward, gap_stats, greedy, llama_tensors,
    model_from_tensors, n_inner, passes, r7, random_ids, save_hf, write_hf_gguf, write_json,
    write_llama_gguf)
from fixture_json import package_version  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "worker" / "tests" / "fixtures"
BENCH_DIR = Path(os.environ.get("HOME", "~")) / ".cache" / "pretrain-lab" / "bench-models"

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------
# fixture sets


def make_tiny(log: list[str]) -> None:
    out = FIXTURES / "gpt2-tiny"
    out.mkdir(parents=True, exist_ok=True)
    cfg = GPT2Config(vocab_size=1024, n_positions=64, n_embd=64, n_layer=2, n_head=4, n_inner=None,
                     activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     bos_token_id=1023, eos_token_id=1023, tie_word_embeddings=True)
    model = build_model(cfg, seed=1234, std_emb=0.3, std_pos=0.1, std_attn=0.25,
                        std_mlp_in=0.15, std_mlp_out=0.2)
    save_hf(model, out)

    # GGUF files
    for mode in ("f32", "f16", "q8_0", "q4_0"):
        write_llama_gguf(out / f"llama-{mode}.gguf", model, mode, "gpt2-tiny")
    write_llama_gguf(out / "llama-q8_0-output.gguf", model, "q8_0", "gpt2-tiny", extra_output=True)
    write_hf_gguf(out / "hf-f32.gguf", model, "f32")
    write_hf_gguf(out / "hf-q8_0.gguf", model, "q8_0")

    deq = {}
    for fname, layout, mode in [("llama-f32", "llama", "f32"), ("llama-f16", "llama", "f16"),
                                ("llama-q8_0", "llama", "q8_0"), ("llama-q4_0", "llama", "q4_0"),
                                ("llama-q8_0-output", "llama", "q8_0"),
                                ("hf-f32", "hf", "f32"), ("hf-q8_0", "hf", "q8_0")]:
        t = check_readback(out / f"{fname}.gguf", model, layout, mode, log)
        deq[fname] = model_from_tensors(model, t, layout)

    # f32 reference cases
    rng = np.random.default_rng(20241129)
    case_ids = [random_ids(rng, n, 1023) for n in (1, 5, 12)]
    names = ["len1", "len5", "len12"]
    cases = []
    all_logits = []
    for name, ids in zip(names, case_ids):
        o = forward(model, ids, output_hidden_states=True, output_attentions=True)
        assert len(o.hidden_states) == cfg.n_layer + 1 and len(o.attentions) == cfg.n_layer
        last = model.transformer(torch.tensor([ids])).last_hidden_state
        assert torch.equal(o.hidden_states[-1], last), "hidden_states[-1] is not the ln_f output"
        all_logits.append(o.logits[0])
        cases.append({
            "name": name,
            "input_ids": ids,
            "logits": r7(o.logits[0]),
            "hidden_states": r7(torch.stack([h[0] for h in o.hidden_states])),
            "attentions": r7(torch.stack([a[0] for a in o.attentions])),
        })
    stats = gap_stats(torch.cat(all_logits))
    log.append(f"gpt2-tiny f32 logits: {stats}")

    # one left-padded batch
    T = max(len(i) for i in case_ids)
    b_ids = [[0] * (T - len(i)) + i for i in case_ids]
    b_mask = [[0] * (T - len(i)) + [1] * len(i) for i in case_ids]
    mask_t = torch.tensor(b_mask)
    pos_t = (mask_t.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        b_logits = model(torch.tensor(b_ids), attention_mask=mask_t, position_ids=pos_t).logits
    batch_vs_single = 0.0
    for k, ids in enumerate(case_ids):
        d = (b_logits[k, T - len(ids):] - all_logits[k]).abs().max().item()
        batch_vs_single = max(batch_vs_single, d)
    assert batch_vs_single < 1e-4, batch_vs_single
    log.append(f"gpt2-tiny batch vs unbatched max |diff| on real positions: {batch_vs_single:.3g}")
    batch = {"input_ids": b_ids, "attention_mask": b_mask, "position_ids": pos_t.tolist(),
             "pad_id": 0, "logits": r7(b_logits),
             "max_abs_diff_vs_unbatched_real_positions": r7(batch_vs_single)}

    # greedy: two random prompts (lengths 4 and 8), drawn until every variant's greedy run has all
    # top-1/top-2 gaps >= GAP (so a quantized engine with small extra error still picks the same tokens)
    GAP = 0.05
    search = [model] + [deq[f] for f in ("llama-f16", "llama-q8_0", "llama-q4_0", "hf-q8_0")]
    prng = np.random.default_rng(77)
    g_prompts = []
    for n in (4, 8):
        for attempt in range(2000):
            p = random_ids(prng, n, 1023)
            if passes(search, p, GAP):
                break
        else:
            raise RuntimeError(f"no prompt of length {n} with greedy gaps >= {GAP}")
        log.append(f"gpt2-tiny greedy prompt of length {n} found after {attempt + 1} draws")
        g_prompts.append(p)
    greedy_out = []
    for p in g_prompts:
        gen, gaps = greedy(model, p, 20)
        greedy_out.append({"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)})
        log.append(f"gpt2-tiny greedy f32 {p}: {gen}  min gap {min(gaps):.3g}")

    # quantized / f16 variants: transformers on the dequantized weights
    quant = {}
    maxdiff = {}
    for fname in ("llama-q8_0", "llama-q4_0", "llama-f16", "hf-q8_0"):
        m = deq[fname]
        qc = []
        md = 0.0
        for ids, ref in zip(case_ids, all_logits):
            lg = forward(m, ids).logits[0]
            md = max(md, (lg - ref).abs().max().item())
            qc.append({"input_ids": ids, "logits": r7(lg)})
        qg = []
        for p, ref in zip(g_prompts, greedy_out):
            gen, gaps = greedy(m, p, 20)
            qg.append({"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)})
            same = sum(a == b for a, b in zip(gen, ref["generated_ids"]))
            log.append(f"gpt2-tiny greedy {fname}: {gen}  ({same}/20 equal to f32, min gap {min(gaps):.3g})")
        quant[fname] = {"cases": qc, "greedy": qg}
        maxdiff[fname] = r7(md)
        log.append(f"gpt2-tiny max |{fname} - f32| logits: {md:.4g}")
    # sanity: the saved safetensors, the round trips of the f32 GGUFs and the extra-output file change nothing
    reloaded = GPT2LMHeadModel.from_pretrained(str(out), attn_implementation="eager").eval()
    assert_tied(reloaded)
    for ids in case_ids:
        # not bit-equal: with 1 token, BLAS may take another kernel for the reloaded (mmap'd) weights (~1e-6)
        d = (forward(reloaded, ids).logits - forward(model, ids).logits).abs().max().item()
        assert d < 1e-5, f"safetensors round trip: {d}"
    for fname, twin in (("llama-f32", None), ("hf-f32", None), ("llama-q8_0-output", "llama-q8_0")):
        for ids in case_ids:
            a = forward(deq[fname], ids).logits
            b = forward(deq[twin] if twin else model, ids).logits
            assert torch.equal(a, b), fname

    expected = {
        "generator": {"script": "reference/make_gpt2_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"),
                      "numpy": np.__version__},
        "config": json.loads(model.config.to_json_string()),
        "logit_stats": r7(stats),
        "cases": cases,
        "batch": batch,
        "greedy": greedy_out,
        "quantized": quant,
        "max_abs_diff_quantized_vs_f32": maxdiff,
    }
    write_json(out / "expected.json", expected)


def make_tiny_vocab(log: list[str]) -> None:
    out = FIXTURES / "gpt2-tiny-vocab"
    out.mkdir(parents=True, exist_ok=True)
    cfg = GPT2Config(vocab_size=50257, n_positions=128, n_embd=32, n_layer=2, n_head=2, n_inner=None,
                     activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     bos_token_id=50256, eos_token_id=50256, tie_word_embeddings=True)
    # seed 28 and these std's were picked (by a search over seeds, off-line) so that the greedy run of
    # "Hello world" on the dequantized q8_0 weights has >= 8 distinct tokens and every top-1/top-2
    # logit gap >= 0.1, and the f32 model generates the same tokens.
    model = build_model(cfg, seed=28, std_emb=0.5, std_pos=0.2, std_attn=0.35,
                        std_mlp_in=0.2, std_mlp_out=0.2)
    model.config.architectures = ["GPT2LMHeadModel"]  # as save_pretrained writes it
    model.config.to_json_file(str(out / "config.json"))
    gg = out / "llama-q8_0.gguf"
    write_llama_gguf(gg, model, "q8_0", "gpt2-tiny-vocab")
    t = check_readback(gg, model, "llama", "q8_0", log)
    m = model_from_tensors(model, t, "llama")

    prompt = [15496, 995]  # "Hello world"
    gen, gaps = greedy(m, prompt, 16)
    last = forward(m, prompt).logits[0, -1]
    f32_last = forward(model, prompt).logits[0, -1]
    f32_gen, _ = greedy(model, prompt, 16)
    stats = gap_stats(forward(m, prompt + gen).logits[0])
    log.append(f"gpt2-tiny-vocab greedy q8_0-dequantized: {gen}  min gap {min(gaps):.3g}; "
               f"f32 model gives {f32_gen}; max |q8_0 - f32| last logits {(last - f32_last).abs().max().item():.4g}; {stats}")
    expected = {
        "generator": {"script": "reference/make_gpt2_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"),
                      "numpy": np.__version__},
        "config": json.loads(model.config.to_json_string()),
        "weights": "llama-q8_0.gguf, dequantized",
        "logit_stats": r7(stats),
        "greedy": [{"input_ids": prompt, "text": "Hello world", "generated_ids": gen, "top2_gaps": r7(gaps)}],
        "last_logits": {"input_ids": prompt, "logits": r7(last)},
    }
    write_json(out / "expected.json", expected)


def quant_roundtrip(model: GPT2LMHeadModel, qtype: QT) -> GPT2LMHeadModel:
    """A copy of `model` whose 2-D weights (llama.cpp layout, i.e. rows along the input dim) went through
    `qtype` quantization and back (in memory; nothing is written)."""
    t = {}
    for name, arr in llama_tensors(model).items():
        t[name] = arr if arr.ndim == 1 else gguf.quants.dequantize(gguf.quants.quantize(arr, qtype), qtype).reshape(arr.shape)
    return model_from_tensors(model, t, "llama")


def make_k256(log: list[str]) -> None:
    """A GPT-2 whose every weight row is a multiple of 256 long, for candle's k-quants (q4_k, q6_k) quantized at load."""
    out = FIXTURES / "gpt2-k256"
    out.mkdir(parents=True, exist_ok=True)
    cfg = GPT2Config(vocab_size=256, n_positions=32, n_embd=256, n_layer=1, n_head=4, n_inner=256,
                     activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     bos_token_id=255, eos_token_id=255, tie_word_embeddings=True)
    # the gpt2-tiny std's scaled by sqrt(64/256) for the 4x wider rows (logit std ~2.4)
    model = build_model(cfg, seed=256, std_emb=0.15, std_pos=0.05, std_attn=0.125,
                        std_mlp_in=0.075, std_mlp_out=0.1)
    save_hf(model, out)
    for name, prm in model.named_parameters():  # every 2-D dim a multiple of 256, except wpe's 32 rows
        assert prm.ndim == 1 or (prm.shape[-1] % 256 == 0 and (prm.shape[0] % 256 == 0 or name.endswith("wpe.weight"))), name

    rng = np.random.default_rng(256256)
    case_ids = [random_ids(rng, n, 255) for n in (3, 9)]
    cases, all_logits = [], []
    for ids in case_ids:
        lg = forward(model, ids).logits[0]
        all_logits.append(lg)
        cases.append({"name": f"len{len(ids)}", "input_ids": ids, "logits": r7(lg)})
    stats = gap_stats(torch.cat(all_logits))
    log.append(f"gpt2-k256 f32 logits: {stats}")

    # greedy: gguf-py cannot quantize q4_k / q6_k, so in-memory q8_0 / q5_1 / q4_1 round trips of every 2-D
    # weight (llama.cpp [out, in] layout, i.e. blocks along the input dim as candle's QMatMul has them) stand
    # in for candle's k-quants. The prompt is drawn until the f32 run has every top-1/top-2 gap >= 0.1 and
    # >= 8 distinct tokens, and the q8_0 and q5_1 round trips (weight error 0.5 % / 3.8 %, above q6_k's)
    # generate the SAME 12 tokens with every gap >= 0.05. q4_1 (≈ q4_k, 7.8 %) is only recorded: a 4-bit
    # random model has logit noise ≈ 0.2 × logit std, so a 12-token match cannot be had at a sane price.
    proxies = {k: quant_roundtrip(model, q) for k, q in (("q8_0", QT.Q8_0), ("q5_1", QT.Q5_1), ("q4_1", QT.Q4_1))}
    prng = np.random.default_rng(2561)
    n_new = 12
    for attempt in range(2000):
        p = random_ids(prng, 5, 255)
        gen, gaps = greedy(model, p, n_new)
        if min(gaps) < 0.1 or len(set(gen)) < 8:
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
        raise RuntimeError("gpt2-k256: no greedy prompt found")
    log.append(f"gpt2-k256 greedy prompt found after {attempt + 1} draws: {p} -> {gen}, min gap {min(gaps):.3g}")
    proxy_diff, proxy_greedy = {}, {}
    for k, m in proxies.items():
        md = max((forward(m, ids).logits[0] - ref).abs().max().item() for ids, ref in zip(case_ids, all_logits))
        proxy_diff[k] = r7(md)
        g2, _ = greedy(m, p, n_new)
        proxy_greedy[k] = g2
        log.append(f"gpt2-k256 {k} round trip: max |logit - f32| {md:.4g} on the cases; greedy {g2} "
                   f"({sum(a == b for a, b in zip(g2, gen))}/{n_new} equal to f32)")
    reloaded = GPT2LMHeadModel.from_pretrained(str(out), attn_implementation="eager").eval()
    assert_tied(reloaded)
    for ids in case_ids:
        d = (forward(reloaded, ids).logits - forward(model, ids).logits).abs().max().item()
        assert d < 1e-5, f"safetensors round trip: {d}"
    expected = {
        "generator": {"script": "reference/make_gpt2_fixtures.py", "transformers": transformers.__version__,
                      "torch": torch.__version__, "gguf": package_version("gguf"),
                      "numpy": np.__version__},
        "config": json.loads(model.config.to_json_string()),
        "logit_stats": r7(stats),
        "cases": cases,
        "greedy": [{"input_ids": p, "generated_ids": gen, "top2_gaps": r7(gaps)}],
        "proxy_quant": {"note": "transformers on in-memory gguf-py round trips of every 2-D weight ([out, in] "
                                "layout); information only, not candle's k-quants",
                        "max_abs_diff_vs_f32": proxy_diff, "greedy_generated_ids": proxy_greedy},
    }
    write_json(out / "expected.json", expected)


def make_bench(log: list[str]) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cfg = GPT2Config()  # the real gpt2 (124M) shape
    torch.manual_seed(124)
    model = GPT2LMHeadModel._from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(124)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif name.endswith(".weight"):  # layer norms
                p.fill_(1.0)
            else:
                p.zero_()
    assert_tied(model)
    for mode in ("q8_0", "q4_0"):
        path = BENCH_DIR / f"gpt2-124M-{mode}.gguf"
        t0 = time.time()
        write_llama_gguf(path, model, mode, "gpt2-124M-random")
        dt = time.time() - t0
        r = gguf.GGUFReader(str(path))
        log.append(f"bench {path}: {path.stat().st_size} bytes, {len(r.tensors)} tensors, "
                   f"quantize+write {dt:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="store_true", help="also write the 124M benchmark GGUFs (not committed)")
    ap.add_argument("--only-bench", action="store_true", help="write only the benchmark GGUFs")
    args = ap.parse_args()
    log: list[str] = [f"transformers {transformers.__version__}, torch {torch.__version__}, "
                      f"gguf {package_version('gguf')}, numpy {np.__version__}"]
    t0 = time.time()
    try:
        if not args.only_bench:
            make_tiny(log)
            make_tiny_vocab(log)
            make_k256(log)
        if args.bench or args.only_bench:
            make_bench(log)
    finally:
        print("\n".join(log))
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
