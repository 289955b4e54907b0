#!/usr/bin/env bash
# Runs ./nq perplexity for each --kv spec on the same chunks and prints one Markdown row per spec:
#   scripts/sweep.sh MODEL TEXT CTX FIRST_CHUNK CHUNKS SPEC...
# (SPEC "none" is the uncompressed reference). This is how the presets were chosen (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 text=$2 ctx=$3 first=$4 chunks=$5
shift 5
./nq build >/dev/null
echo "| --kv | perplexity | kv_ratio | kept tokens |"
echo "|---|---:|---:|---:|"
for spec in "$@"; do
  json=$(./nq perplexity --model "$model" --text "$text" --ctx "$ctx" --first-chunk "$first" --max-chunks "$chunks" \
         --kv "$spec" --json 2>/dev/null)
  python3 - "$spec" "$json" <<'PY'
import json, sys
spec, j = sys.argv[1], json.loads(sys.argv[2])
print("| `%s` | %.4f | %.2fx | %.0f |" % (spec, j["ppl"], j["kv_ratio"], j["kept_tokens"]))
PY
done
