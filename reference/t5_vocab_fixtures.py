"""The T5 fixtures with the real vocabulary (t5-tiny-vocab) and with rows of 256 (t5-k256).

Written by make_t5_fixtures.py; the building blocks are t5_reference.py's.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import torch

import gguf
from gguf import GGMLQuantizationType as QT
import transformers
from transformers import DynamicCache, EncoderDecoderCache, T5Config, T5ForConditionalGeneration

from t5_reference import (
    DEC_START, EOS, FIXTURES, PAD, REPO, build_t5, check_embeddings, check_readback, dec_ids,
    enc_ids, forward, gap_stats, greedy, model_from_tensors, package_version, r7, read_gguf,
    save_hf, saved_state_dict, write_gguf, write_json)

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
