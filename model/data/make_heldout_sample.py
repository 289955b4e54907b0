#!/usr/bin/env python3
"""Write model/heldout.txt: a deterministic ~1 MB sample of the HELD-OUT split (never seen in training),
taken only from sources whose licences let the repository carry the text (public domain or permissive:
Python, PostgreSQL, Django, SQLite and Rust documentation, WordNet glosses, the Jargon File, the Devil's
Dictionary, the King James Bible, Jane Austen). From each source, its held-out documents in corpus order
until that source has contributed about CAP characters. Documents are separated by two blank lines.

    python3 -m model.data.make_heldout_sample [--cache model/runs/data] [--out model/heldout.txt]
"""
import argparse
import os

from .. import paths

PERMISSIVE = ["python-doc", "postgresql-doc", "django-doc", "sqlite-doc", "rust-doc", "wordnet", "jargon",
              "devil", "kjv", "austen"]
CAP = 100_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=str(paths.DATA_DIR))
    ap.add_argument("--out", default=str(paths.HELDOUT_TXT))
    args = ap.parse_args()
    text = open(f"{args.cache}/corpus/heldout.txt", encoding="utf-8").read()
    if text.endswith("\n"):
        text = text[:-1]
    docs = text.split("\n\n\n")
    keys = [ln.rstrip("\n").split("\t") for ln in open(f"{args.cache}/corpus/heldout.keys", encoding="utf-8")]
    assert len(keys) == len(docs), (len(keys), len(docs))
    taken = {s: 0 for s in PERMISSIVE}
    out = []
    for (source, key, n), d in zip(keys, docs):
        if source in taken and taken[source] < CAP:
            out.append(d)
            taken[source] += len(d)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n\n\n".join(out) + "\n")
    print(f"{args.out}: {len(out)} documents, {os.path.getsize(args.out)} bytes; per source: {taken}")


if __name__ == "__main__":
    main()
