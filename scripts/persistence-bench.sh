#!/usr/bin/env bash
# Persistence benchmark (BENCHMARKS.md, "Persistence"): for --kv none/high/balanced/max, a ~2,000-token prompt from
# model/heldout.txt through `./nq generate --prompt-cache`: cold (no file: prefill and save) against restored (the file
# holds the prompt), interleaved, ROUNDS rounds; one JSON line per run in OUT, plus the load average before each run.
# usage: scripts/persistence-bench.sh [ROUNDS] [BYTES] [OUT]
set -euo pipefail
ROUNDS="${1:-3}"
BYTES="${2:-9300}"
OUT="${3:-/tmp/persistence-bench.jsonl}"
cd "$(dirname "$0")/.."
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
head -c "$BYTES" model/heldout.txt | iconv -f utf-8 -t utf-8 -c > "$DIR/prompt.txt"
: > "$OUT"
for round in $(seq 1 "$ROUNDS"); do
  for kv in none high balanced max; do
    f="$DIR/$kv.nqs"
    rm -f "$f"
    for run in cold restored; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      json=$(./nq generate --prompt-file "$DIR/prompt.txt" --kv "$kv" -n 8 -t 0 --json --prompt-cache "$f" 2>/dev/null)
      echo "{\"round\":$round,\"kv\":\"$kv\",\"run\":\"$run\",\"load\":$load,\"result\":$json}" >> "$OUT"
      echo "round $round $kv $run load $load: $(echo "$json" | grep -o '"time_to_first_token_seconds":[^,]*') $(echo "$json" | grep -o '"cache_bytes_on_disk":[^,]*')" >&2
    done
  done
done
echo "wrote $OUT" >&2
