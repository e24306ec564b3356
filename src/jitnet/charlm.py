"""``jitnet train --task charlm`` and ``jitnet generate``: a character-level language model.

The corpus is ``--data-file`` (any UTF-8 text), or by default a bounded sample
of the Python standard library's own source files, read at run time from the
running interpreter's ``Lib`` directory (nothing downloaded, nothing shipped):
its top-level modules in name order until ``--max-chars`` characters.  The
last 10% is held out; the validation loss is reported in nats per character.
A run directory holds ``model.safetensors`` (best validation loss),
``charlm.json`` (vocabulary and model settings, what ``generate`` needs),
``history.json`` and ``sample.txt``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

CHARLM_DEFAULTS = dict(
    lstm=dict(lr=0.004, epochs=3, seq_len=128),
    transformer=dict(lr=0.003, epochs=8, seq_len=128),
)
MAX_CHARS = 300_000


def stdlib_corpus(max_chars: int = MAX_CHARS) -> str:
    """The first ``max_chars`` characters of the standard library's top-level ``*.py``
    modules, concatenated in file-name order (deterministic for one Python version)."""
    root = Path(os.__file__).parent
    parts, total = [], 0
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]


def build_charlm(kind: str, vocab_size: int, seq_len: int):
    """The model of a run: 'lstm' (CharLSTM) or 'transformer' (CharTransformer)."""
    from .seqmodels import CharLSTM, CharTransformer

    if kind == "lstm":
        return CharLSTM(vocab_size)
    if kind == "transformer":
        return CharTransformer(vocab_size, max_len=seq_len)
    raise ValueError(f"--task charlm needs --model lstm or transformer, got {kind!r}")


def _windows(ids: np.ndarray, starts: np.ndarray, seq_len: int):
    """(inputs, targets) int64 (B, seq_len) windows of ``ids`` starting at ``starts``."""
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    w = ids[idx]
    return w[:, :-1], w[:, 1:]


def _loss(model, x, y, device):
    import jitnet as jn

    logits, _ = model(jn.tensor(x, device=device))
    v = logits.shape[-1]
    return jn.nn.functional.cross_entropy(logits.reshape(-1, v),
                                          jn.tensor(y.reshape(-1), device=device))


def evaluate_charlm(model, ids: np.ndarray, seq_len: int, batch: int, device) -> float:
    """Mean cross-entropy per character (nats) over non-overlapping windows of ``ids``."""
    import jitnet as jn

    starts = np.arange(0, len(ids) - seq_len - 1, seq_len)
    total, count = 0.0, 0
    model.eval()
    with jn.no_grad():
        for i in range(0, len(starts), batch):
            x, y = _windows(ids, starts[i:i + batch], seq_len)
            total += _loss(model, x, y, device).item() * y.size
            count += y.size
    model.train()
    return total / max(count, 1)


def sample_text(model, kind: str, vocab: str, prompt: str, length: int, temperature: float,
                seq_len: int, seed: int = 0, device="cpu") -> str:
    """``prompt`` followed by ``length`` sampled characters (temperature 0: greedy)."""
    import jitnet as jn

    index = {c: i for i, c in enumerate(vocab)}
    rng = np.random.default_rng(seed)
    ids = [index[c] for c in prompt] or [index.get("\n", 0)]
    out = []
    model.eval()
    with jn.no_grad():
        state = None
        feed = ids
        for _ in range(length):
            if kind == "lstm":  # carry the state: feed only what is new
                logits, state = model(jn.tensor(np.array([feed]), device=device), state)
            else:  # attend over the last seq_len characters
                window = (ids + out)[-seq_len:]
                logits, _ = model(jn.tensor(np.array([window]), device=device))
            z = logits[0, -1].detach().cpu().numpy().astype(np.float64)
            if temperature == 0:
                nxt = int(np.argmax(z))
            else:
                p = np.exp((z - z.max()) / temperature)
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            feed = [nxt]
    return prompt + "".join(vocab[i] for i in out)


def train_charlm(args: argparse.Namespace) -> int:
    """The ``--task charlm`` branch of ``jitnet train``; returns the exit status."""
    import jitnet as jn

    kind = args.model if args.model in CHARLM_DEFAULTS else None
    if kind is None:
        print(f"jitnet train: error: --task charlm needs --model lstm or transformer, got "
              f"{args.model!r}", file=sys.stderr)
        return 2
    conf = CHARLM_DEFAULTS[kind]
    lr = args.lr if args.lr is not None else conf["lr"]
    epochs = args.epochs if args.epochs is not None else conf["epochs"]
    seq_len = conf["seq_len"]
    if args.data_file:
        try:
            text = Path(args.data_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"jitnet train: error: cannot read --data-file {args.data_file}: {exc}",
                  file=sys.stderr)
            return 2
        source = args.data_file
    else:
        text = stdlib_corpus(args.max_chars)
        source = f"the standard library's sources ({Path(os.__file__).parent})"
    if len(text) < 20 * (seq_len + 1):
        print(f"jitnet train: error: the corpus has {len(text)} characters; charlm needs at "
              f"least {20 * (seq_len + 1)}", file=sys.stderr)
        return 2
    jn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vocab = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    split = int(len(ids) * 0.9)
    train_ids, val_ids = ids[:split], ids[split:]
    model = build_charlm(kind, len(vocab), seq_len).to(args.device)
    optimizer = jn.optim.Adam(model.parameters(), lr=lr)
    batch = args.batch_size
    steps = max(1, len(train_ids) // (batch * seq_len))
    scheduler = jn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps)
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"jitnet train: charlm {kind} ({n_params} parameters) on {source}: {len(text)} "
          f"characters, vocabulary {len(vocab)}, {epochs} epochs of {steps} steps (batch "
          f"{batch} x {seq_len} characters), Adam lr {lr} (cosine), {args.device}", flush=True)
    meta = dict(model=kind, vocab=vocab, seq_len=seq_len, source=source)
    with open(out / "charlm.json", "w") as fh:
        json.dump(meta, fh, indent=2)
    history = dict(epoch=[], loss=[], val_loss=[], seconds=[])
    best = math.inf
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0, total = time.perf_counter(), 0.0
        for _ in range(steps):
            x, y = _windows(train_ids, rng.integers(0, len(train_ids) - seq_len - 1, batch),
                            seq_len)
            loss = _loss(model, x, y, args.device)
            optimizer.zero_grad()
            loss.backward()
            jn.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total += loss.item()
        val = evaluate_charlm(model, val_ids, seq_len, 64, args.device)
        took = time.perf_counter() - t0
        for key, value in (("epoch", epoch), ("loss", total / steps), ("val_loss", val),
                           ("seconds", took)):
            history[key].append(value)
        print(f"epoch {epoch:>3}/{epochs}  train loss {total / steps:.4f}  val loss "
              f"{val:.4f} nats/char  ({took:.1f} s)", flush=True)
        if val < best:
            best = val
            jn.save(model.state_dict(), out / "model.safetensors")
    model.load_state_dict(jn.load(out / "model.safetensors"))
    sample = sample_text(model, kind, vocab, "def ", 200, 0.8, seq_len, args.seed, args.device)
    (out / "sample.txt").write_text(sample, encoding="utf-8")
    history["best_val_loss"] = best
    history["config"] = dict(meta, lr=lr, epochs=epochs, batch_size=batch, seed=args.seed,
                             max_chars=args.max_chars, data_file=args.data_file)
    history["total_seconds"] = time.perf_counter() - start
    with open(out / "history.json", "w") as fh:
        json.dump(history, fh, indent=2)
    print(f"best val loss {best:.4f} nats/char; sample (temperature 0.8):\n{sample}")
    print(f"wrote {out / 'model.safetensors'}, {out / 'charlm.json'}, {out / 'history.json'}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """``jitnet generate RUN_DIR``: sample from a model that ``--task charlm`` trained."""
    import jitnet as jn

    run = Path(args.run_dir)
    try:
        meta = json.loads((run / "charlm.json").read_text(encoding="utf-8"))
        model = build_charlm(meta["model"], len(meta["vocab"]), meta["seq_len"])
        model.load_state_dict(jn.load(run / "model.safetensors"))
    except (OSError, ValueError, KeyError) as exc:
        print(f"jitnet generate: error: {run} is not a charlm run directory ({exc})",
              file=sys.stderr)
        return 2
    unknown = sorted(set(args.prompt) - set(meta["vocab"]))
    if unknown:
        print(f"jitnet generate: error: the prompt has characters the model never saw: "
              f"{''.join(unknown)!r}", file=sys.stderr)
        return 2
    if args.temperature < 0:
        print(f"jitnet generate: error: --temperature must be >= 0, got {args.temperature}",
              file=sys.stderr)
        return 2
    print(sample_text(model.to(args.device), meta["model"], meta["vocab"], args.prompt,
                      args.length, args.temperature, meta["seq_len"], args.seed, args.device))
    return 0
