"""Random-weight GPT-2 models by transformers, their GGUF files and the reference computations.

The building blocks of make_gpt2_fixtures.py: models (seeded), their llama.cpp- and HF-named GGUF
files and the read-back check, and the greedy runs and logit figures the fixtures record.
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
from transformers import GPT2Config, GPT2LMHeadModel

from fixture_json import r7, write_json  # noqa: F401  (re-exported for the scripts)

# llama.cpp's LLAMA_FTYPE values for general.file_type
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7}
QTYPE = {"f32": QT.F32, "f16": QT.F16, "q4_0": QT.Q4_0, "q8_0": QT.Q8_0}

# ----------------------------------------------------------------------------
# models


def build_model(cfg: GPT2Config, seed: int, std_emb: float, std_pos: float,
                std_attn: float, std_mlp_in: float, std_mlp_out: float,
                std_bias: float = 0.1, std_ln: float = 0.1) -> GPT2LMHeadModel:
    """A GPT2LMHeadModel with non-trivial random weights (eval mode, f32, eager attention)."""
    torch.manual_seed(seed)
    model = GPT2LMHeadModel._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    g = torch.Generator().manual_seed(seed)

    def normal_(p: torch.Tensor, mean: float, std: float) -> None:
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * std + mean)

    with torch.no_grad():
        # named_parameters() lists the tied lm_head.weight only once (as transformer.wte.weight)
        for name, p in model.named_parameters():
            if name.endswith("wte.weight"):
                normal_(p, 0.0, std_emb)
            elif name.endswith("wpe.weight"):
                normal_(p, 0.0, std_pos)
            elif name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                normal_(p, 1.0, std_ln)
            elif name.endswith(("ln_1.bias", "ln_2.bias", "ln_f.bias")):
                normal_(p, 0.0, std_ln)
            elif name.endswith(".bias"):
                normal_(p, 0.0, std_bias)
            elif name.endswith(("attn.c_attn.weight", "attn.c_proj.weight")):
                normal_(p, 0.0, std_attn)
            elif name.endswith("mlp.c_fc.weight"):
                normal_(p, 0.0, std_mlp_in)
            elif name.endswith("mlp.c_proj.weight"):
                normal_(p, 0.0, std_mlp_out)
            else:
                raise RuntimeError(f"unexpected parameter {name}")
    assert_tied(model)
    return model


def assert_tied(model: GPT2LMHeadModel) -> None:
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "lm_head not tied to wte"


def n_inner(cfg: GPT2Config) -> int:
    return cfg.n_inner if cfg.n_inner is not None else 4 * cfg.n_embd


def hf_state_dict(model: GPT2LMHeadModel) -> dict[str, np.ndarray]:
    """HF names WITHOUT the 'transformer.' prefix, HF shapes (Conv1D weights [in, out]); no lm_head (tied)."""
    out = {}
    for name, p in model.transformer.named_parameters():
        out[name] = p.detach().cpu().numpy().astype(np.float32)
    return out


# HF name (no prefix) -> (llama.cpp name, transpose?)
def llama_name(hf: str) -> tuple[str, bool]:
    if hf == "wte.weight":
        return "token_embd.weight", False
    if hf == "wpe.weight":
        return "position_embd.weight", False
    if hf.startswith("ln_f."):
        return "output_norm." + hf.split(".")[-1], False
    parts = hf.split(".")  # h.N.<module...>.<weight|bias>
    assert parts[0] == "h", hf
    n, kind = parts[1], parts[-1]
    mod = ".".join(parts[2:-1])
    table = {
        "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
        "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
    }
    conv1d = mod in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
    return f"blk.{n}.{table[mod]}.{kind}", (conv1d and kind == "weight")


LLAMA_ORDER = ["token_embd.weight", "position_embd.weight"]


def llama_tensors(model: GPT2LMHeadModel) -> dict[str, np.ndarray]:
    """llama.cpp layout: Conv1D weights transposed to [out, in] (numpy shape), as convert_hf_to_gguf.py does."""
    sd = hf_state_dict(model)
    out: dict[str, np.ndarray] = {}
    for hf, arr in sd.items():
        name, transpose = llama_name(hf)
        out[name] = np.ascontiguousarray(arr.T if transpose else arr)
    # stable, readable order: embeddings, blocks in order, output norm
    cfg = model.config
    order = list(LLAMA_ORDER)
    for i in range(cfg.n_layer):
        for t in ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"):
            order += [f"blk.{i}.{t}.weight", f"blk.{i}.{t}.bias"]
    order += ["output_norm.weight", "output_norm.bias"]
    assert sorted(order) == sorted(out), (sorted(order), sorted(out))
    return {k: out[k] for k in order}


def encode_tensor(arr: np.ndarray, mode: str) -> tuple[np.ndarray, QT | None]:
    """2-D tensors in `mode`, 1-D tensors stay F32."""
    if arr.ndim == 1 or mode == "f32":
        return arr.astype(np.float32), None
    if mode == "f16":
        return arr.astype(np.float16), None
    q = QTYPE[mode]
    return gguf.quants.quantize(arr.astype(np.float32), q), q


def write_llama_gguf(path: Path, model: GPT2LMHeadModel, mode: str, name: str,
                     extra_output: bool = False) -> None:
    cfg = model.config
    w = gguf.GGUFWriter(str(path), arch="gpt2")
    w.add_name(name)
    w.add_context_length(cfg.n_positions)
    w.add_embedding_length(cfg.n_embd)
    w.add_feed_forward_length(n_inner(cfg))
    w.add_block_count(cfg.n_layer)
    w.add_head_count(cfg.n_head)
    w.add_layer_norm_eps(cfg.layer_norm_epsilon)
    w.add_file_type(FILE_TYPE[mode])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_bos_token_id(cfg.bos_token_id)
    w.add_eos_token_id(cfg.eos_token_id)
    tensors = llama_tensors(model)
    if extra_output:
        # untied copy of the embedding, as older llama.cpp conversions of GPT-2 carry it
        tensors["output.weight"] = tensors["token_embd.weight"].copy()
    for tname, arr in tensors.items():
        data, raw = encode_tensor(arr, mode)
        w.add_tensor(tname, data, raw_dtype=raw)
    finish(w)


def write_hf_gguf(path: Path, model: GPT2LMHeadModel, mode: str) -> None:
    w = gguf.GGUFWriter(str(path), arch="gpt2")  # writes only general.architecture
    for tname, arr in hf_state_dict(model).items():
        data, raw = encode_tensor(arr, mode)
        w.add_tensor(tname, data, raw_dtype=raw)
    finish(w)


def finish(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_gguf(path: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, list[int], list[int]]], dict]:
    """Dequantized tensors in numpy (row-major) shape, plus (type, GGUFReader shape, numpy shape) per tensor."""
    r = gguf.GGUFReader(str(path))
    tensors, info = {}, {}
    for t in r.tensors:
        arr = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32)
        np_shape = [int(x) for x in reversed(t.shape.tolist())]  # GGUF shape is ne[] order (innermost first)
        arr = arr.reshape(np_shape)
        tensors[t.name] = arr
        info[t.name] = (t.tensor_type.name, [int(x) for x in t.shape.tolist()], np_shape)
    meta = {}
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        try:
            meta[f.name] = f.contents()
        except Exception:  # pragma: no cover
            meta[f.name] = "?"
    return tensors, info, meta


def model_from_tensors(base: GPT2LMHeadModel, tensors: dict[str, np.ndarray], layout: str) -> GPT2LMHeadModel:
    """Load (dequantized) GGUF tensors back into a copy of `base`."""
    m = copy.deepcopy(base)
    params = dict(m.transformer.named_parameters())
    seen = set()
    with torch.no_grad():
        for tname, arr in tensors.items():
            if layout == "llama":
                if tname == "output.weight":
                    assert np.array_equal(arr, tensors["token_embd.weight"])
                    continue
                hf = next(k for k in params if llama_name(k)[0] == tname)
                if llama_name(hf)[1]:
                    arr = arr.T
            else:
                hf = tname
            p = params[hf]
            assert tuple(p.shape) == arr.shape, (tname, p.shape, arr.shape)
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr)))
            seen.add(hf)
    assert seen == set(params), set(params) - seen
    assert_tied(m)
    return m


# ----------------------------------------------------------------------------
# reference computations (all by transformers)


@torch.no_grad()
def forward(model, ids: list[int], **kw):
    return model(torch.tensor([ids], dtype=torch.long), **kw)


@torch.no_grad()
def greedy(model, prompt: list[int], n_new: int) -> tuple[list[int], list[float]]:
    """Manual argmax loop on the full sequence each step, no eos stop. Also returns the top-1/top-2 gap of each step."""
    ids = list(prompt)
    gaps = []
    for _ in range(n_new):
        logits = forward(model, ids).logits[0, -1]
        top = torch.topk(logits, 2).values
        gaps.append(float(top[0] - top[1]))
        ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], gaps


def passes(models, prompt: list[int], gap: float, n_new: int = 20, min_distinct: int = 6) -> bool:
    for k, m in enumerate(models):
        gen, gaps = greedy(m, prompt, n_new)
        if min(gaps) < gap or (k == 0 and len(set(gen)) < min_distinct):
            return False
    return True


def gap_stats(logits: torch.Tensor) -> dict:
    top = torch.topk(logits.reshape(-1, logits.shape[-1]), 2, dim=-1).values
    gap = top[:, 0] - top[:, 1]
    return {"logit_std": float(logits.std()), "min_top2_gap": float(gap.min()),
            "frac_gap_gt_0.05": float((gap > 0.05).float().mean())}


def random_ids(rng: np.random.Generator, n: int, high: int) -> list[int]:
    return [int(v) for v in rng.integers(0, high, size=n)]


def save_hf(model: GPT2LMHeadModel, out: Path) -> None:
    model.save_pretrained(str(out))
    gen = out / "generation_config.json"
    if gen.exists():
        gen.unlink()
    for f in ("config.json", "model.safetensors"):
        os.chmod(out / f, 0o644)


def check_readback(path: Path, model: GPT2LMHeadModel, layout: str, mode: str, log: list[str]) -> dict[str, np.ndarray]:
    tensors, info, meta = read_gguf(path)
    ref = llama_tensors(model) if layout == "llama" else hf_state_dict(model)
    for name, arr in ref.items():
        qtype, gshape, npshape = info[name]
        want = "F32" if (arr.ndim == 1 or mode == "f32") else mode.upper()
        assert qtype == want, (path.name, name, qtype, want)
        assert tuple(npshape) == arr.shape, (path.name, name, npshape, arr.shape)
        if mode == "f32":
            assert np.array_equal(tensors[name], arr), (path.name, name)
    log.append(f"{path.name}: {len(info)} tensors, {path.stat().st_size} bytes, metadata "
               + json.dumps({k: v for k, v in meta.items()}, default=str))
    for name, (qtype, gshape, npshape) in info.items():
        log.append(f"    {name:28s} {qtype:5s} GGUFReader.shape={gshape} numpy={npshape}")
    return tensors
