#!/usr/bin/env python3
"""Perplexity of a GGUF reference model with llama.cpp's llama-perplexity protocol, fp32 math on the
weights exactly as stored in the file (Q8_0 dequantized: fp16 scale x int8).

Protocol: the text file is read as raw UTF-8 with exactly one trailing newline dropped, tokenized once with
the GGUF's own vocabulary (BOS first, one space prepended); n_chunks = n_tokens // n_ctx chunks of n_ctx
tokens; the first token of each chunk is replaced by BOS; only the predictions of the second half are
scored: positions n_ctx/2 .. n_ctx-2 predict the next token (n_ctx/2 - 1 predictions per chunk).
perplexity = exp(mean negative log-likelihood), accumulated in float64.

    python3 -m model.perplexity [--gguf model/default.gguf] --text model/heldout.txt [--ctx 2048]
                                [--max-chunks K] [--device cpu|cuda] [--json]
Uses PyTorch when it is installed (any device), else a numpy forward pass (CPU).
"""
import argparse
import json
import math
import time

import numpy as np

from . import export_gguf, paths
from .tokenizer import bpe


def read_text_file(path):
    with open(path, "rb") as f:
        b = f.read()
    if b.endswith(b"\n"):
        b = b[:-1]
    return b.decode("utf-8")


# ---------------- numpy forward (fp32), for machines without PyTorch ----------------

def _rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def numpy_logits(cfg, st, ids):
    """ids: (T,) -> logits (T, vocab) float32."""
    T, hd, H, KV = len(ids), cfg["head_dim"], cfg["n_heads"], cfg["n_kv_heads"]
    inv = cfg["rope_base"] ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)

    def rope(x):            # x (T, n, hd): adjacent pairs
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos[:, None] - b * sin[:, None]
        out[..., 1::2] = a * sin[:, None] + b * cos[:, None]
        return out

    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    x = st["tok_embd.weight"][ids]
    for i in range(cfg["n_layers"]):
        p = f"layers.{i}."
        h = _rms(x, st[p + "attn_norm.weight"], cfg["norm_eps"])
        q = rope((h @ st[p + "wq.weight"].T).reshape(T, H, hd))
        k = rope((h @ st[p + "wk.weight"].T).reshape(T, KV, hd))
        v = (h @ st[p + "wv.weight"].T).reshape(T, KV, hd)
        o = np.empty((T, H, hd), dtype=np.float32)
        for j in range(H):
            kv = j // (H // KV)
            s = (q[:, j] @ k[:, kv].T) / np.float32(math.sqrt(hd)) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            o[:, j] = (s / s.sum(-1, keepdims=True)) @ v[:, kv]
        x = x + o.reshape(T, H * hd) @ st[p + "wo.weight"].T
        h = _rms(x, st[p + "ffn_norm.weight"], cfg["norm_eps"])
        g = h @ st[p + "w_gate.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ st[p + "w_up.weight"].T)) @ st[p + "w_down.weight"].T
    return _rms(x, st["output_norm.weight"], cfg["norm_eps"]) @ st["tok_embd.weight"].T


def chunk_nll(logits, chunk, first):
    """sum of -log p(chunk[j+1] | ..j) for j in [first, n_ctx-2], in float64; logits (n_ctx, vocab)."""
    lg = logits[first:-1].astype(np.float64)
    m = lg.max(-1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(lg - m).sum(-1)))
    tgt = lg[np.arange(len(lg)), chunk[first + 1:]]
    return float((lse - tgt).sum()), len(lg)


def perplexity(cfg, state, tokens, n_ctx=2048, max_chunks=None, device=None, log=print, batch=8):
    n_chunks = len(tokens) // n_ctx
    if max_chunks:
        n_chunks = min(n_chunks, max_chunks)
    if n_chunks == 0:
        raise ValueError(f"need at least {n_ctx} tokens, have {len(tokens)}")
    first = n_ctx // 2
    chunks = []
    for c in range(n_chunks):
        ch = np.array(tokens[c * n_ctx:(c + 1) * n_ctx], dtype=np.int64)
        ch[0] = bpe.BOS
        chunks.append(ch)
    nll, count = 0.0, 0
    t0 = time.time()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        from . import llama
        dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        model = llama.Llama(llama.Config(**cfg)).to(dev).float().eval()
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
        with torch.no_grad():
            for b0 in range(0, n_chunks, batch):
                x = torch.from_numpy(np.stack(chunks[b0:b0 + batch])).to(dev)
                logits = model(x)[:, first:-1].double()                      # (B, n_ctx/2-1, vocab)
                lp = torch.log_softmax(logits, dim=-1)
                tgt = x[:, first + 1:]
                nll += float(-lp.gather(-1, tgt[..., None]).sum())
                count += tgt.numel()
                if log and (b0 // batch) % 20 == 0:
                    log(f"  chunk {b0 + len(x)}/{n_chunks}: ppl {math.exp(nll / count):.4f}")
    else:
        for c, ch in enumerate(chunks):
            s, n = chunk_nll(numpy_logits(cfg, state, ch), ch, first)
            nll += s
            count += n
            if log:
                log(f"  [{c + 1}/{n_chunks}] ppl {math.exp(nll / count):.4f} ({time.time() - t0:.0f} s)")
    return {"n_ctx": n_ctx, "tokens": len(tokens), "chunks": n_chunks, "scored": count,
            "mean_nll": nll / count, "perplexity": math.exp(nll / count), "seconds": time.time() - t0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=str(paths.DEFAULT_GGUF))
    ap.add_argument("--text", help="text file (tokenized with the GGUF's vocabulary)")
    ap.add_argument("--tokens", help="uint16 token file (already tokenized, BOS first)")
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--max-chunks", type=int)
    ap.add_argument("--device")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cfg, state, tok, _ = export_gguf.load(args.gguf)
    if args.text:
        tokens = tok.encode(read_text_file(args.text), bos=True)
    else:
        tokens = np.fromfile(args.tokens, dtype=np.uint16).astype(np.int64)
    r = perplexity(cfg, state, tokens, args.ctx, args.max_chunks, args.device,
                   log=None if args.json else print)
    print(json.dumps(r) if args.json else
          f"{args.text or args.tokens}: n_ctx {r['n_ctx']}, {r['tokens']} tokens, {r['chunks']} chunks, "
          f"{r['scored']} scored, mean NLL {r['mean_nll']:.6f}, perplexity {r['perplexity']:.4f}")


if __name__ == "__main__":
    main()
