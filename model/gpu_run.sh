#!/usr/bin/env bash
# One training run on the GPU machine (no network there): train for a fixed step count, export, evaluate.
#   DATA: a folder with train.u16.xz and heldout.u16.xz (python3 -m model.tokenizer.train_tokenizer, then xz)
#   OUT:  where log.txt, loss.csv, summary.json and the GGUF (split in 15 MB parts to travel back) go
# usage: bash model/gpu_run.sh DATA OUT --steps N [more model.train options]
# The run of nexusquant-lm-v2 (model/MODEL_CARD.md) was: bash model/gpu_run.sh DATA OUT --steps 3200 --deadline 540
set -euo pipefail
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); shift 2
cd "$(dirname "$0")/.."                 # the folder that holds the package, so that `-m model.train` resolves
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/log.txt"
python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)" | tee -a "$OUT/log.txt"
PYTHONUNBUFFERED=1 python3 -m model.train --data "$DATA" --out "$OUT" "$@" 2>&1 \
    | grep --line-buffered -v Warn | tee -a "$OUT/log.txt"
cd "$OUT"
for g in *.gguf; do
    sha256sum "$g" | tee -a log.txt
    split -b 15000000 -d "$g" "$g.part"
    rm "$g"
done
