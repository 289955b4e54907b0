"""The reference model in PyTorch: a Llama-architecture decoder, written so that its weights map one to
one onto llama.cpp's GGUF `llama` tensors with no permutation.

    x = tok_embd[ids]                                          # (B, T, dim)
    per layer:
        h = rmsnorm(x) * attn_norm
        q = h @ Wq^T  -> (B, T, n_heads, head_dim)   k, v = h @ Wk^T, h @ Wv^T -> (B, T, n_kv_heads, head_dim)
        q, k = rope(q), rope(k)        # GGML "normal" convention: rotate ADJACENT pairs (2i, 2i+1) by
                                       # angle pos * base^(-2i/head_dim)
        query head j uses KV head j // (n_heads / n_kv_heads)  (llama.cpp's GQA mapping)
        x = x + softmax(q k^T / sqrt(head_dim), causal) v @ Wo^T
        h = rmsnorm(x) * ffn_norm
        x = x + (silu(h @ Wgate^T) * (h @ Wup^T)) @ Wdown^T
    logits = (rmsnorm(x) * output_norm) @ tok_embd^T             # output tied to the embedding
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config  # noqa: F401  (re-exported: llama.Config)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.float()).type_as(x)


def rope_tables(cfg, T, device):
    inv = cfg.rope_base ** (-torch.arange(0, cfg.head_dim, 2, device=device, dtype=torch.float64) / cfg.head_dim)
    ang = torch.arange(T, device=device, dtype=torch.float64)[:, None] * inv[None, :]      # (T, head_dim/2)
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    """x: (B, H, T, head_dim); rotates the adjacent pairs (x[2i], x[2i+1])."""
    xf = x.float().unflatten(-1, (-1, 2))
    a, b = xf[..., 0], xf[..., 1]
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
    return out.type_as(x)


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]     # fallback for old PyTorch (tests only)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s.float(), dim=-1).type_as(q) @ v


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * cfg.head_dim, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.dim, bias=False)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.w_gate = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.w_up = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.w_down = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin):
        c = self.cfg
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, c.n_heads, c.head_dim).transpose(1, 2)        # (B, H, T, hd)
        k = self.wk(h).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)     # (B, KV, T, hd)
        v = self.wv(h).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        g = c.n_heads // c.n_kv_heads
        if g > 1:      # query head j -> KV head j // g
            k = k[:, :, None].expand(B, c.n_kv_heads, g, T, c.head_dim).reshape(B, c.n_heads, T, c.head_dim)
            v = v[:, :, None].expand(B, c.n_kv_heads, g, T, c.head_dim).reshape(B, c.n_heads, T, c.head_dim)
        o = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, c.n_heads * c.head_dim)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embd = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.output_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.rope_cache = {}
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * self.cfg.n_layers) if name.endswith(("wo.weight", "w_down.weight")) else std
                nn.init.normal_(p, mean=0.0, std=s)

    def forward(self, ids, targets=None):
        B, T = ids.shape
        key = (T, ids.device)
        if key not in self.rope_cache:
            self.rope_cache[key] = rope_tables(self.cfg, T, ids.device)
        cos, sin = self.rope_cache[key]
        x = self.tok_embd(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        logits = F.linear(self.output_norm(x), self.tok_embd.weight)
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1),
                                       reduction="none").view(B, T)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
