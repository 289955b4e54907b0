#!/usr/bin/env python3
"""Export the reference model to GGUF v3 (`general.architecture = llama`), pure numpy.

2-D matrices are stored as Q8_0 (f16 would not fit the 40 MB budget: 34 M parameters x 2 bytes), the
RMSNorm weights as f32. There is no output.weight: the output matrix is tied to token_embd.weight.
RoPE is the GGML "normal" (adjacent pairs) convention in training already, so no permutation.

    python3 -m model.export_gguf --weights W.npz --config config.json --out model.gguf
    python3 -m model.export_gguf --random --out model/runs/random.gguf     # random weights (tests)
W.npz holds the PyTorch state_dict of model/llama.py (float32 arrays, same keys).
"""
import argparse
import json
import os

import numpy as np

from . import gguf, paths
from .config import Config
from .tokenizer import bpe

DEFAULT_CONFIG = Config().to_dict()


def gguf_names(cfg):
    """[(GGUF tensor name as llama.cpp expects it, key of model/llama.py's state_dict)] in file order."""
    out = [("token_embd.weight", "tok_embd.weight")]
    for i in range(cfg["n_layers"]):
        p = f"layers.{i}."
        out += [(f"blk.{i}.attn_norm.weight", p + "attn_norm.weight"),
                (f"blk.{i}.attn_q.weight", p + "wq.weight"),
                (f"blk.{i}.attn_k.weight", p + "wk.weight"),
                (f"blk.{i}.attn_v.weight", p + "wv.weight"),
                (f"blk.{i}.attn_output.weight", p + "wo.weight"),
                (f"blk.{i}.ffn_norm.weight", p + "ffn_norm.weight"),
                (f"blk.{i}.ffn_gate.weight", p + "w_gate.weight"),
                (f"blk.{i}.ffn_up.weight", p + "w_up.weight"),
                (f"blk.{i}.ffn_down.weight", p + "w_down.weight")]
    out.append(("output_norm.weight", "output_norm.weight"))
    return out


def export(state, cfg, tok, path, name=paths.MODEL_NAME, description="", license="", quant="q8_0"):
    assert cfg["n_heads"] * cfg["head_dim"] == cfg["dim"], "llama.cpp derives head_dim = dim / n_heads"
    assert len(tok.pieces) == cfg["vocab_size"]
    w = gguf.Writer()
    A = "llama"
    w.add("general.architecture", gguf.STR, A)
    w.add("general.name", gguf.STR, name)
    w.add("general.description", gguf.STR, description)
    w.add("general.license", gguf.STR, license)
    w.add("general.file_type", gguf.U32, 7 if quant == "q8_0" else 1)   # 7 = MOSTLY_Q8_0, 1 = MOSTLY_F16
    w.add("general.quantization_version", gguf.U32, 2)
    w.add("general.alignment", gguf.U32, gguf.ALIGN)
    w.add(f"{A}.context_length", gguf.U32, cfg["ctx"])
    w.add(f"{A}.embedding_length", gguf.U32, cfg["dim"])
    w.add(f"{A}.block_count", gguf.U32, cfg["n_layers"])
    w.add(f"{A}.feed_forward_length", gguf.U32, cfg["ffn_dim"])
    w.add(f"{A}.attention.head_count", gguf.U32, cfg["n_heads"])
    w.add(f"{A}.attention.head_count_kv", gguf.U32, cfg["n_kv_heads"])
    w.add(f"{A}.attention.layer_norm_rms_epsilon", gguf.F32, cfg["norm_eps"])
    w.add(f"{A}.rope.freq_base", gguf.F32, cfg["rope_base"])
    w.add(f"{A}.rope.dimension_count", gguf.U32, cfg["head_dim"])
    w.add(f"{A}.vocab_size", gguf.U32, cfg["vocab_size"])
    w.add("tokenizer.ggml.model", gguf.STR, "llama")
    w.add("tokenizer.ggml.tokens", gguf.ARR, tok.pieces, gguf.STR)
    w.add("tokenizer.ggml.scores", gguf.ARR, tok.scores, gguf.F32)
    w.add("tokenizer.ggml.token_type", gguf.ARR, tok.types, gguf.I32)
    w.add("tokenizer.ggml.unknown_token_id", gguf.U32, bpe.UNK)
    w.add("tokenizer.ggml.bos_token_id", gguf.U32, bpe.BOS)
    w.add("tokenizer.ggml.eos_token_id", gguf.U32, bpe.EOS)
    w.add("tokenizer.ggml.add_bos_token", gguf.BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", gguf.BOOL, False)
    w.add("tokenizer.ggml.add_space_prefix", gguf.BOOL, True)
    for gname, key in gguf_names(cfg):
        a = np.asarray(state[key], dtype=np.float32)
        if a.ndim == 1:
            w.add_tensor(gname, a, gguf.GGML_F32)
        else:
            w.add_tensor(gname, a, gguf.GGML_Q8_0 if quant == "q8_0" else gguf.GGML_F16)
    w.write(path)


def config_from_gguf(meta):
    A = meta["general.architecture"]
    dim, nh = int(meta[f"{A}.embedding_length"]), int(meta[f"{A}.attention.head_count"])
    return dict(dim=dim, n_layers=int(meta[f"{A}.block_count"]), n_heads=nh,
                n_kv_heads=int(meta[f"{A}.attention.head_count_kv"]), head_dim=dim // nh,
                ffn_dim=int(meta[f"{A}.feed_forward_length"]), vocab_size=len(meta["tokenizer.ggml.tokens"]),
                ctx=int(meta[f"{A}.context_length"]), norm_eps=float(meta[f"{A}.attention.layer_norm_rms_epsilon"]),
                rope_base=float(meta.get(f"{A}.rope.freq_base", 10000.0)))


def load(path):
    """GGUF -> (config dict, state dict of float32 arrays keyed like model/llama.py, Tokenizer, meta)"""
    meta, tensors, _ = gguf.read(path)
    cfg = config_from_gguf(meta)
    state = {key: tensors[g] for g, key in gguf_names(cfg)}
    tok = bpe.Tokenizer(list(meta["tokenizer.ggml.tokens"]), [float(s) for s in meta["tokenizer.ggml.scores"]],
                        [int(t) for t in meta["tokenizer.ggml.token_type"]])
    return cfg, state, tok, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--config")
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--tokenizer", default=str(paths.TOKENIZER_JSON))
    ap.add_argument("--out", required=True)
    ap.add_argument("--quant", default="q8_0", choices=["q8_0", "f16"])
    args = ap.parse_args()
    cfg = dict(DEFAULT_CONFIG)
    if args.config:
        cfg.update(json.load(open(args.config)))
    tok = bpe.Tokenizer.load(args.tokenizer)
    if args.random:
        rng = np.random.default_rng(0)
        state = {k: (np.ones if "norm" in k else lambda s: rng.normal(0, 0.02, s))(shape)
                 for k, shape in shapes(cfg).items()}
    else:
        z = np.load(args.weights)
        state = {k: z[k] for k in z.files}
    export(state, cfg, tok, args.out)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes")


def shapes(cfg):
    d, hd = cfg["dim"], cfg["head_dim"]
    out = {"tok_embd.weight": (cfg["vocab_size"], d), "output_norm.weight": (d,)}
    for i in range(cfg["n_layers"]):
        p = f"layers.{i}."
        out.update({p + "attn_norm.weight": (d,), p + "wq.weight": (cfg["n_heads"] * hd, d),
                    p + "wk.weight": (cfg["n_kv_heads"] * hd, d), p + "wv.weight": (cfg["n_kv_heads"] * hd, d),
                    p + "wo.weight": (d, cfg["n_heads"] * hd), p + "ffn_norm.weight": (d,),
                    p + "w_gate.weight": (cfg["ffn_dim"], d), p + "w_up.weight": (cfg["ffn_dim"], d),
                    p + "w_down.weight": (d, cfg["ffn_dim"])})
    return out


if __name__ == "__main__":
    main()
