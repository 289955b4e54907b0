"""Where the package reads and writes by default: every path is relative to this folder (model/), never absolute.

    model/tokenizer/tokenizer.json      the trained tokenizer (in git)
    model/heldout.txt                   the held-out sample the repository carries (in git)
    model/default.gguf                  link to the current model file (in git)
    model/runs/data/                    corpus build cache: debs, extract, corpus, tokens (ignored by git)
    model/runs/<run name>/              one training run's outputs; git keeps only log.txt, loss.csv, summary.json
"""
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent
RUNS_DIR = MODEL_DIR / "runs"
DATA_DIR = RUNS_DIR / "data"            # --cache of the data scripts
TOKENS_DIR = DATA_DIR / "tokens"        # train.u16, heldout.u16 (+ .xz for the GPU machine)
TOKENIZER_JSON = MODEL_DIR / "tokenizer" / "tokenizer.json"
HELDOUT_TXT = MODEL_DIR / "heldout.txt"
DEFAULT_GGUF = MODEL_DIR / "default.gguf"
MODEL_NAME = "nexusquant-lm-v2"
