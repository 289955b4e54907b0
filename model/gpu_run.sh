#!/usr/bin/env bash
# The reference model's full training run, as it was run on one NVIDIA H200 (PyTorch 2.11, no network):
#   DATA: a folder with train.u16.xz and heldout.u16.xz (from model/tokenizer/train_tokenizer.py, then xz)
#   OUT:  where loss.csv, summary.json, the log and the GGUF (split in 15 MB parts to travel back) go
# usage: bash model/gpu_run.sh DATA OUT [extra train.py options]
set -euo pipefail
DATA=$1; OUT=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/log"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/log"
PYTHONUNBUFFERED=1 python3 "$HERE/train.py" --data "$DATA" --out "$OUT" --train-seconds 465 --batch 64 --lr 2e-3 \
    --warmup 150 --wd 0.1 --eval-every 200 --eval-windows 128 "$@" 2>&1 | grep --line-buffered -v Warn | tee -a "$OUT/log"
cd "$OUT"
sha256sum nexusquant-lm.gguf | tee -a log
split -b 15000000 -d nexusquant-lm.gguf nexusquant-lm.gguf.part
rm nexusquant-lm.gguf
