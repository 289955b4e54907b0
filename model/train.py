#!/usr/bin/env python3
"""Train the reference model (PyTorch, one GPU), keep the best held-out weights, export them to GGUF and
measure the exported file's perplexity, all in one command that fits a 10-minute slot.

    python3 model/train.py --data DIR --out OUT [--train-seconds 400] [--batch 64] [--lr 2e-3] ...

DIR holds train.u16(.xz) and heldout.u16(.xz): the token streams written by
model/tokenizer/train_tokenizer.py (uint16 ids, BOS first; documents separated by two blank lines).
Training samples are windows of the train stream with BOS in front: inputs [BOS, t_o .. t_o+ctx-2],
targets [t_o .. t_o+ctx-1] at a uniformly random offset o: the same form as a chunk of llama-perplexity
(whose first token is replaced by BOS).
Writes to OUT: loss.csv (step, tokens, lr, train loss, held-out loss on fixed windows), the GGUF,
summary.json; prints the log.
"""
import argparse
import csv
import json
import lzma
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tokenizer"))
import llama  # noqa: E402
import export_gguf  # noqa: E402
import perplexity as ppl  # noqa: E402
import bpe  # noqa: E402


def load_tokens(d, name):
    for fn in (f"{d}/{name}.u16", f"{d}/{name}.u16.xz"):
        if os.path.exists(fn):
            b = open(fn, "rb").read()
            if fn.endswith(".xz"):
                b = lzma.decompress(b)
            return np.frombuffer(b, dtype=np.uint16)
    raise FileNotFoundError(f"{d}/{name}.u16[.xz]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--train-seconds", type=float, default=400, help="wall-clock budget of the training loop,"
                    " compilation included; the number of steps is set from the measured step time")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-windows", type=int, default=64)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", default="{}", help="JSON overrides of llama.Config (e.g. for a smoke test)")
    ap.add_argument("--heldout-text", default=os.path.join(HERE, "heldout.txt"))
    ap.add_argument("--name", default="nexusquant-lm.gguf")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--bench-only", action="store_true", help="stop after timing the first 40 steps")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()
    torch.manual_seed(args.seed)
    dev = args.device
    amp = torch.bfloat16
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    cfg = llama.Config(**json.loads(args.config))
    train_np, held_np = load_tokens(args.data, "train"), load_tokens(args.data, "heldout")
    train = torch.from_numpy(train_np.astype(np.int64)).to(dev)
    held = torch.from_numpy(held_np.astype(np.int64)).to(dev)
    print(f"tokens: train {len(train):,}, held out {len(held):,} (loaded in {time.time() - t_start:.1f} s)")
    T, B = cfg.ctx, args.batch

    model = llama.Llama(cfg).to(dev)
    n_params = model.n_params()
    print(f"config {cfg.to_dict()}; {n_params:,} parameters")
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **({"fused": True} if dev == "cuda" else {}))
    fwd = torch.compile(model) if args.compile else model

    ar = torch.arange(T, device=dev)
    bos_col = torch.full((B, 1), bpe.BOS, dtype=torch.long, device=dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)

    def batch():
        off = torch.randint(0, len(train) - T, (B,), generator=gen, device=dev)
        y = train[off[:, None] + ar]
        return torch.cat([bos_col, y[:, :-1]], 1), y

    # fixed held-out windows for the periodic evaluation
    g2 = torch.Generator(device=dev)
    g2.manual_seed(12345)
    eoff = torch.randint(0, len(held) - T, (args.eval_windows,), generator=g2, device=dev)
    ey = held[eoff[:, None] + ar]
    ex = torch.cat([torch.full((args.eval_windows, 1), bpe.BOS, dtype=torch.long, device=dev), ey[:, :-1]], 1)

    @torch.no_grad()
    def evaluate():
        model.eval()
        losses = []
        for i in range(0, args.eval_windows, B):
            with torch.autocast(dev, dtype=amp, enabled=dev == "cuda"):
                _, l = model(ex[i:i + B], ey[i:i + B])
            losses.append(l)
        model.train()
        l = torch.cat(losses)
        return float(l.mean()), float(l[:, T // 2:].mean())      # all positions, second half

    def lr_at(step, total):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = min(1.0, (step - args.warmup) / max(1, total - args.warmup))
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    rows = []
    best = (float("inf"), -1)
    best_state = None
    total = args.max_steps or 10 ** 9
    t_loop = time.time()
    t_mark, step_mark = None, 0
    tokens_seen = 0
    step = 0
    train_loss_acc, n_acc = 0.0, 0
    while step < total:
        if step == 10:
            sync()
            t_mark, step_mark = time.time(), step
        if step == 40:
            sync()
            dt = (time.time() - t_mark) / (step - step_mark)
            left = args.train_seconds - (time.time() - t_loop)
            evals = 1 + (left / dt) / args.eval_every
            if not args.max_steps:
                total = step + int((left - evals * 0.6) / dt)
            if args.bench_only:
                print(f"bench: compile={args.compile} batch={B} step {dt * 1000:.1f} ms, {B * T / dt / 1e6:.3f} M tok/s, "
                      f"first 10 steps (compile+warm-up) {t_mark - t_loop:.1f} s, peak memory "
                      f"{torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else 0:.1f} GiB")
                return
            print(f"step time {dt * 1000:.1f} ms ({B * T / dt / 1e6:.2f} M tokens/s; compile+warm-up "
                  f"{t_mark - t_loop:.0f} s): training for {total} steps, {total * B * T / 1e6:.0f} M tokens, "
                  f"{total * B * T / len(train):.2f} epochs")
        lr = lr_at(step, total)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch()
        with torch.autocast(dev, dtype=amp, enabled=dev == "cuda"):
            _, loss = fwd(x, y)
            loss = loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += B * T
        train_loss_acc += float(loss.detach()) if step % 10 == 0 else 0.0
        n_acc += 1 if step % 10 == 0 else 0
        if step % args.eval_every == 0 or step == total:
            el, el2 = evaluate()
            tl = train_loss_acc / max(1, n_acc)
            train_loss_acc, n_acc = 0.0, 0
            rows.append({"step": step, "tokens": tokens_seen, "lr": lr, "train_loss": tl, "heldout_loss": el,
                         "heldout_loss_second_half": el2, "seconds": time.time() - t_loop})
            mark = ""
            if el2 < best[0]:
                best = (el2, step)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                mark = " *"
            print(f"step {step:5d} | {tokens_seen / 1e6:7.1f} M tok | lr {lr:.2e} | train {tl:.4f} | held out "
                  f"{el:.4f} (2nd half {el2:.4f}, ppl {math.exp(el2):.2f}){mark} | {time.time() - t_loop:.0f} s",
                  flush=True)
    train_seconds = time.time() - t_loop
    print(f"trained {step} steps in {train_seconds:.0f} s; best held-out (2nd half) loss {best[0]:.4f} at step {best[1]}")
    with open(f"{args.out}/loss.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

    # ---- export the best weights ----
    model.load_state_dict(best_state)
    state = {k: v.float().cpu().numpy() for k, v in best_state.items()}
    tok = bpe.Tokenizer.load(args.tokenizer)
    gguf_path = f"{args.out}/{args.name}"
    t0 = time.time()
    export_gguf.export(state, cfg.to_dict(), tok, gguf_path, name="nexusquant-lm",
                       description=(f"NexusQuant reference model: Llama architecture, {n_params / 1e6:.1f} M parameters, "
                                    f"trained on free English text from Debian packages"),
                       license="GPL-2.0-or-later")
    print(f"exported {gguf_path}: {os.path.getsize(gguf_path):,} bytes ({time.time() - t0:.1f} s)")

    # ---- perplexity of the EXPORTED weights (Q8_0 dequantized, fp32 math), llama-perplexity protocol ----
    ecfg, estate, etok, _ = export_gguf.load(gguf_path)
    summary = {"config": cfg.to_dict(), "n_params": n_params, "steps": step, "batch": B, "ctx": T,
               "tokens_seen": tokens_seen, "train_tokens": int(len(train)), "epochs": tokens_seen / len(train),
               "train_seconds": train_seconds, "best_step": best[1], "best_heldout_loss_second_half": best[0],
               "lr": args.lr, "warmup": args.warmup, "wd": args.wd, "gguf_bytes": os.path.getsize(gguf_path)}
    r = ppl.perplexity(ecfg, estate, held_np.astype(np.int64), n_ctx=2048, device=dev, log=None, batch=16)
    print(f"exported GGUF, whole held-out split: {r}")
    summary["ppl_heldout_split"] = r
    if os.path.exists(args.heldout_text):
        toks = etok.encode(ppl.read_text_file(args.heldout_text), bos=True)
        r = ppl.perplexity(ecfg, estate, toks, n_ctx=2048, device=dev, log=None, batch=16)
        print(f"exported GGUF, {args.heldout_text}: {r}")
        summary["ppl_heldout_txt"] = r
    # bf16 model before export, same protocol on the held-out split (to see what Q8_0 costs)
    with torch.no_grad():
        n = len(held_np) // T
        nll, cnt = 0.0, 0
        for b0 in range(0, n, 16):
            xs = held[:n * T].view(n, T)[b0:b0 + 16].clone()
            xs[:, 0] = bpe.BOS
            with torch.autocast(dev, dtype=amp, enabled=dev == "cuda"):
                lg = model(xs)
            lp = torch.log_softmax(lg[:, T // 2:-1].double(), -1)
            nll += float(-lp.gather(-1, xs[:, T // 2 + 1:, None]).sum())
            cnt += xs[:, T // 2 + 1:].numel()
        summary["ppl_heldout_split_bf16_before_export"] = math.exp(nll / cnt)
        print(f"bf16 weights before export, held-out split: ppl {math.exp(nll / cnt):.4f}")
    # greedy samples from the exported weights
    import llama as L
    m = L.Llama(L.Config(**ecfg)).to(dev).float().eval()
    m.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in estate.items()})
    samples = {}
    for prompt in ["", "The kernel", "It is a truth universally acknowledged", "In Python, a list"]:
        ids = etok.encode(prompt, bos=True) if prompt else [bpe.BOS]
        with torch.no_grad():
            for _ in range(80):
                lg = m(torch.tensor([ids[-T:]], device=dev))[0, -1]
                ids.append(int(lg.argmax()))
        samples[prompt] = etok.decode(ids)
        print(f"--- greedy from {prompt!r}:\n{samples[prompt]}")
    summary["greedy_samples"] = samples
    summary["total_seconds"] = time.time() - t_start
    with open(f"{args.out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    print(f"done in {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
