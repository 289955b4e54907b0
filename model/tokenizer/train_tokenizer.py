#!/usr/bin/env python3
"""Train the reference model's tokenizer on the train split and encode both splits.

    python3 -m model.tokenizer.train_tokenizer [--cache model/runs/data] [--vocab 8192] [--skip-train]

Reads  CACHE/corpus/train.txt, CACHE/corpus/heldout.txt (from model/data/build_corpus.py)
Writes model/tokenizer/tokenizer.json (pieces, scores, token types; this is what goes into the GGUF)
       CACHE/tokens/{train,heldout}.u16   (uint16 ids of the whole file, tokenized as llama.cpp tokenizes
       a text file: exactly one trailing newline dropped, BOS first, one space prepended; no EOS)
       CACHE/tokens/stats.json
"""
import argparse
import json
import os
import random
import time

import numpy as np

from .. import paths
from . import bpe


def read_text_file(path):
    """The text as llama.cpp's -f reads it: raw UTF-8, exactly one trailing newline dropped."""
    with open(path, "rb") as f:
        b = f.read()
    if b.endswith(b"\n"):
        b = b[:-1]
    return b.decode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=str(paths.DATA_DIR))
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--out", default=str(paths.TOKENIZER_JSON))
    ap.add_argument("--skip-train", action="store_true", help="reuse the saved tokenizer.json")
    args = ap.parse_args()
    train_text = read_text_file(f"{args.cache}/corpus/train.txt")
    docs = train_text.split("\n\n\n")
    t0 = time.time()
    if args.skip_train:
        tok = bpe.Tokenizer.load(args.out)
    else:
        tok = bpe.train(docs, vocab_size=args.vocab)
        tok.save(args.out)
        print(f"trained {len(tok.pieces)} pieces in {time.time() - t0:.0f} s", flush=True)

    # self-check: the fast (cut + cache + heap) encoder equals the naive whole-text merge loop
    rng = random.Random(1234)
    for _ in range(200):
        d = rng.choice(docs)
        o = rng.randrange(max(1, len(d) - 300))
        s = d[o:o + rng.randrange(1, 300)]
        fresh = bpe.Tokenizer(tok.pieces, tok.scores, tok.types)
        assert fresh.encode(s) == fresh.encode_naive(s), repr(s)
        assert fresh.decode(fresh.encode(s)) == " " + s
    print("fast encoder == naive encoder on 200 random snippets; decode(encode(x)) == ' ' + x", flush=True)

    os.makedirs(f"{args.cache}/tokens", exist_ok=True)
    stats = {}
    for split in ("heldout", "train"):
        text = train_text if split == "train" else read_text_file(f"{args.cache}/corpus/{split}.txt")
        t0 = time.time()
        ids = tok.encode(text, bos=True)
        arr = np.asarray(ids, dtype=np.uint16)
        arr.tofile(f"{args.cache}/tokens/{split}.u16")
        stats[split] = {"chars": len(text), "bytes": len(text.encode("utf-8")), "tokens": len(ids),
                        "chars_per_token": len(text) / len(ids),
                        "byte_fallback_tokens": int(((arr >= bpe.BYTE0) & (arr < bpe.FIRST_PIECE)).sum())}
        print(f"{split}: {stats[split]} ({time.time() - t0:.0f} s)", flush=True)
    with open(f"{args.cache}/tokens/stats.json", "w") as f:
        json.dump(stats, f, indent=1)


if __name__ == "__main__":
    main()
