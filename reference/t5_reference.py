"""Random-weight T5 models by transformers, their GGUF files and the reference computations.

The building blocks of make_t5_fixtures.py: seeded weights, HF-named GGUF files and the read-back
check, and the encoder/decoder runs, greedy decodes and logit figures the fixtures record.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

import gguf
from gguf import GGMLQuantizationType as QT
import transformers
from transformers import T5Config, T5ForConditionalGeneration

from fixture_json import package_version, r7, write_json  # noqa: F401  (re-exported for the scripts)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "worker" / "tests" / "fixtures"

QTYPE = {"q8_0": QT.Q8_0, "q4_0": QT.Q4_0}

PAD, EOS, DEC_START = 0, 1, 0

# ----------------------------------------------------------------------------
# models


def tied(model: T5ForConditionalGeneration) -> bool:
    return model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()


def check_embeddings(model: T5ForConditionalGeneration, want_tied: bool) -> None:
    p = model.shared.weight.data_ptr()
    assert model.encoder.embed_tokens.weight.data_ptr() == p, "encoder.embed_tokens not tied to shared"
    assert model.decoder.embed_tokens.weight.data_ptr() == p, "decoder.embed_tokens not tied to shared"
    assert tied(model) == want_tied, f"lm_head tied={tied(model)}, wanted {want_tied}"
    assert model.config.scale_decoder_outputs == want_tied, model.config.scale_decoder_outputs


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
