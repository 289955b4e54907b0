#!/usr/bin/env python3
"""Train the reference model (PyTorch, one GPU) for a fixed number of steps, export the final weights to GGUF
and measure the exported file's perplexity, all in one command.

    python3 -m model.train --steps 4000 [--data model/runs/data/tokens] [--out model/runs/NAME] [--seed 1] ...
    python3 -m model.train --bench 30 --steps 4000      # time 30 steps after compilation, print the projection

The run is defined by its arguments (step count, batch, learning-rate schedule, seed, shape): the same arguments
give the same batches in the same order and the same schedule on any GPU; only GPU kernels are not bit-exact.
The step count is chosen beforehand (from a --bench run on the target GPU), never from a time budget.
--deadline is a safety net only: when the loop would overrun it, training stops early, the summary says
`"stopped_early": true`, and the run is not the one its step count names.

DATA holds train.u16(.xz) and heldout.u16(.xz): the token streams written by model/tokenizer/train_tokenizer.py
(uint16 ids, BOS first; documents separated by two blank lines). Training samples are windows of the train
stream with BOS in front: inputs [BOS, t_o .. t_o+ctx-2], targets [t_o .. t_o+ctx-1] at a uniformly random
offset o: the same form as a chunk of llama-perplexity (whose first token is replaced by BOS).
Writes to OUT: loss.csv (step, tokens, lr, train loss, held-out loss on fixed windows), NAME.gguf,
summary.json; prints the log. The final weights are exported (no checkpoint is chosen on held-out data).
"""
import argparse
import csv
import json
import lzma
import math
import os
import time

import numpy as np
import torch

from . import export_gguf, llama, paths
from . import perplexity as ppl
from .tokenizer import bpe


def load_tokens(d, name):
    for fn in (f"{d}/{name}.u16", f"{d}/{name}.u16.xz"):
        if os.path.exists(fn):
            with open(fn, "rb") as f:
                b = f.read()
            if fn.endswith(".xz"):
                b = lzma.decompress(b)
            return np.frombuffer(b, dtype=np.uint16)
    raise FileNotFoundError(f"{d}/{name}.u16[.xz]")


def lr_at(step, total, peak, warmup, min_frac):
    """Linear warm-up to peak over `warmup` steps, then cosine down to min_frac x peak at `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, required=True, help="optimizer steps (the run's length)")
    ap.add_argument("--data", default=str(paths.TOKENS_DIR))
    ap.add_argument("--name", default=paths.MODEL_NAME, help="run name, GGUF file name and general.name")
    ap.add_argument("--out", help="output folder (default: model/runs/NAME)")
    ap.add_argument("--tokenizer", default=str(paths.TOKENIZER_JSON))
    ap.add_argument("--heldout-text", default=str(paths.HELDOUT_TXT))
    ap.add_argument("--batch", type=int, default=64, help="sequences per optimizer step")
    ap.add_argument("--micro-batch", type=int, default=0, help="sequences per forward pass (gradient accumulation "
                    "when smaller than --batch; the same run either way, only memory differs); 0: --batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-windows", type=int, default=128)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", default="{}", help="JSON overrides of model.config.Config (e.g. for a smoke test)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps after 10 warm-up steps, then stop")
    ap.add_argument("--deadline", type=float, default=0, help="safety net in seconds for the training loop (0: off)")
    ap.add_argument("--skip-eval", action="store_true", help="export only (smoke tests)")
    args = ap.parse_args()
    out = args.out or str(paths.RUNS_DIR / args.name)
    os.makedirs(out, exist_ok=True)
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
    MB = args.micro_batch or B
    if B % MB:
        raise SystemExit(f"--micro-batch {MB} does not divide --batch {B}")

    model = llama.Llama(cfg).to(dev)
    n_params = model.n_params()
    print(f"config {cfg.to_dict()}; {n_params:,} parameters; {args.steps} steps of {B} x {T} tokens "
          f"= {args.steps * B * T / 1e6:.0f} M tokens, {args.steps * B * T / len(train):.2f} epochs")
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

    # fixed held-out windows for the periodic evaluation (reported, never used to choose anything)
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

    rows = []
    total = args.steps
    t_loop = time.time()
    t_mark = None
    tokens_seen = 0
    step = 0
    stopped_early = False
    step_time = None
    train_loss_acc, n_acc = 0.0, 0
    while step < total:
        if step == 10:
            sync()
            t_mark = time.time()
            print(f"compilation and first 10 steps: {t_mark - t_loop:.1f} s", flush=True)
        if step == 10 + args.bench and args.bench:
            sync()
            dt = (time.time() - t_mark) / args.bench
            n_eval = total // args.eval_every
            print(f"bench: step {dt * 1000:.1f} ms, {B * T / dt / 1e6:.3f} M tok/s; projected loop for {total} steps: "
                  f"{t_mark - t_loop + (total - 10) * dt:.0f} s + {n_eval} evaluations; peak memory "
                  f"{torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else 0:.1f} GiB", flush=True)
            return
        if step == 50 and dev == "cuda":
            sync()
            step_time = (time.time() - t_mark) / 40
        if args.deadline and step_time and time.time() - t_loop + step_time * 1.5 > args.deadline:
            print(f"WARNING: deadline {args.deadline:.0f} s reached at step {step} of {total}: stopping early")
            stopped_early = True
            break
        lr = lr_at(step, total, args.lr, args.warmup, args.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch()
        opt.zero_grad(set_to_none=True)
        loss = 0.0
        for m0 in range(0, B, MB):
            with torch.autocast(dev, dtype=amp, enabled=dev == "cuda"):
                _, l = fwd(x[m0:m0 + MB], y[m0:m0 + MB])
                l = l.mean() * (MB / B)
            l.backward()
            loss += l.detach()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += B * T
        if step % 10 == 0:
            train_loss_acc += float(loss)
            n_acc += 1
        if step % args.eval_every == 0 or step == total:
            el, el2 = evaluate()
            tl = train_loss_acc / max(1, n_acc)
            train_loss_acc, n_acc = 0.0, 0
            rows.append({"step": step, "tokens": tokens_seen, "lr": lr, "train_loss": tl, "heldout_loss": el,
                         "heldout_loss_second_half": el2, "seconds": time.time() - t_loop})
            print(f"step {step:5d} | {tokens_seen / 1e6:7.1f} M tok | lr {lr:.2e} | train {tl:.4f} | held out "
                  f"{el:.4f} (2nd half {el2:.4f}, ppl {math.exp(el2):.2f}) | {time.time() - t_loop:.0f} s", flush=True)
    train_seconds = time.time() - t_loop
    print(f"trained {step} steps in {train_seconds:.0f} s" + (f" ({step_time * 1000:.1f} ms a step)" if step_time else ""))
    if rows:
        with open(f"{out}/loss.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

    # ---- export the final weights ----
    state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    tok = bpe.Tokenizer.load(args.tokenizer)
    gguf_path = f"{out}/{args.name}.gguf"
    t0 = time.time()
    export_gguf.export(state, cfg.to_dict(), tok, gguf_path, name=args.name,
                       description=(f"NexusQuant reference model: Llama architecture, {n_params / 1e6:.1f} M parameters, "
                                    f"trained on free English text from Debian packages"),
                       license="GPL-2.0-only")
    print(f"exported {gguf_path}: {os.path.getsize(gguf_path):,} bytes ({time.time() - t0:.1f} s)")
    summary = {"name": args.name, "args": vars(args), "config": cfg.to_dict(), "n_params": n_params,
               "steps": step, "planned_steps": total, "stopped_early": stopped_early, "batch": B, "ctx": T,
               "tokens_seen": tokens_seen, "train_tokens": int(len(train)), "heldout_tokens": int(len(held)),
               "epochs": tokens_seen / len(train), "train_seconds": train_seconds,
               "step_ms": step_time * 1000 if step_time else None, "gguf_bytes": os.path.getsize(gguf_path),
               "device": torch.cuda.get_device_name() if dev == "cuda" else dev, "torch": torch.__version__,
               "numpy": np.__version__}
    if rows:
        summary["final_heldout_loss_windows"] = rows[-1]["heldout_loss"]
        summary["final_heldout_loss_windows_second_half"] = rows[-1]["heldout_loss_second_half"]

    def save_summary():
        summary["total_seconds"] = time.time() - t_start
        with open(f"{out}/summary.json", "w") as f:
            json.dump(summary, f, indent=1)

    save_summary()
    if args.skip_eval:
        print(f"done in {time.time() - t_start:.0f} s (evaluation skipped)")
        return

    # ---- perplexity of the EXPORTED weights (Q8_0 dequantized, fp32 math, TF32 off), llama-perplexity protocol ----
    ecfg, estate, etok, _ = export_gguf.load(gguf_path)
    if os.path.exists(args.heldout_text):
        toks = etok.encode(ppl.read_text_file(args.heldout_text), bos=True)
        r = ppl.perplexity(ecfg, estate, toks, n_ctx=2048, max_chunks=2, device=dev, log=None, batch=2)
        print(f"exported GGUF, {args.heldout_text}, first 2 chunks: {r}")
        summary["ppl_heldout_txt_2_chunks"] = r
        r = ppl.perplexity(ecfg, estate, toks, n_ctx=2048, device=dev, log=None, batch=16)
        print(f"exported GGUF, {args.heldout_text}: {r}")
        summary["ppl_heldout_txt"] = r
        save_summary()
    r = ppl.perplexity(ecfg, estate, held_np.astype(np.int64), n_ctx=2048, device=dev, log=None, batch=16)
    print(f"exported GGUF, whole held-out split: {r}")
    summary["ppl_heldout_split"] = r
    save_summary()
    # bf16 model before export, same protocol on the held-out split (to see what Q8_0 costs)
    model.eval()
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
    m = llama.Llama(llama.Config(**ecfg)).to(dev).float().eval()
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
    save_summary()
    print(f"done in {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
