"""The model's shape, without PyTorch (the exporter and the numpy perplexity need it too)."""
from dataclasses import asdict, dataclass


@dataclass
class Config:
    """Defaults: nexusquant-lm-v2 (12 layers, GQA 2:1 with 2 KV heads of head_dim 128, SwiGLU 1280).

    Q8_0 budget (34 bytes per 32 weights): 4,194,304 embedding + 12 x (786,432 attention + 3 x 512 x 1280 FFN)
    = 37,224,448 matrix weights -> 39,550,976 bytes, plus norms and the tokenizer: 39.8 MB <= 40 MB.
    The previous model, nexusquant-lm (v1): n_layers 10, n_kv_heads 1, ffn_dim 1536.
    """
    dim: int = 512
    n_layers: int = 12
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 128
    ffn_dim: int = 1280
    vocab_size: int = 8192
    ctx: int = 2048
    norm_eps: float = 1e-5
    rope_base: float = 10000.0

    def to_dict(self):
        return asdict(self)
