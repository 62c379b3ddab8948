#!/usr/bin/env python3
"""PyTorch peer of `sleepbench perf`: training speed of the same Transformers.

Trains each model for a fixed number of steps (after warm-up steps) on random
token ids, in float32 on the CPU, with torch.nn modules, and prints one JSON
line per model:

  {"model", "batch", "seq", "tokens_per_s", "step_ms", "peak_rss_mb", ...}

The shapes are those of sleepbench's models.Configs; `sleepbench perf`
passes the exact one with --shape (so the two cannot drift apart), and the
table below is the fallback when the script runs alone:

  bert-mini  4 layers, d 256, 4 heads, d_ff 1024, vocab 2048: pre-LN
             encoder with ALiBi attention biases (embedding LayerNorm,
             token-type 0 embedding, final LayerNorm), MLM head (dense,
             GELU, LayerNorm, decoder tied to the token embedding, output
             bias) evaluated only at the 15% masked positions.
  bert-base  12 layers, d 768, 12 heads, d_ff 3072, vocab 30522: post-LN.
  gpt2-mini  4 layers, d 256, 4 heads, d_ff 1024, vocab 2048: pre-LN causal
             decoder, final LayerNorm, LM head tied to the token embedding.
  gpt2       12 layers, d 768, 12 heads, d_ff 3072, vocab 50257 (run at the
             sequence length asked for, 128 by default).
  custom     2 layers, d 128, 2 heads, d_ff 512, vocab 2048 (decoder).

A step is: forward, cross-entropy, backward, AdamW update (weight decay on
the matrices only), as the Go side does. GELU is the tanh approximation and
there is no dropout, as in the Go models.

Each model runs in a fresh child process so that its peak RSS is its own.
The script installs nothing: without torch it says so and exits with code 3.
Run it with Debian's interpreter (/usr/bin/python3), which has python3-torch.
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

# name: (arch, layers, d_model, heads, d_ff, ctx, vocab, pre_ln, alibi);
# pre_ln matters for encoders only (decoders are always pre-LN).
CONFIGS = {
    "bert-base": ("encoder", 12, 768, 12, 3072, 512, 30522, False, False),
    "gpt2-medium": ("decoder", 24, 1024, 16, 4096, 1024, 50257, True, False),
    "gpt2": ("decoder", 12, 768, 12, 3072, 1024, 50257, True, False),
    "bert-mini": ("encoder", 4, 256, 4, 1024, 128, 2048, True, True),
    "gpt2-mini": ("decoder", 4, 256, 4, 1024, 128, 2048, True, False),
    "custom": ("decoder", 2, 128, 2, 512, 128, 2048, True, False),
}
SHAPE_KEYS = ("arch", "layers", "d_model", "heads", "d_ff", "ctx", "vocab", "pre_ln", "alibi")

MASK_FRACTION = 0.15
MASK_ID = 103  # BERT's [MASK]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="bert-mini,gpt2-mini",
                   help="comma-separated config names (%s)" % ", ".join(CONFIGS))
    p.add_argument("--batch", type=int, default=16, help="sequences per step")
    p.add_argument("--seq", type=int, default=128, help="tokens per sequence (at most the config's context)")
    p.add_argument("--steps", type=int, default=10, help="timed training steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", default="",
                   help="JSON object with the keys %s: the shape of the one model "
                        "named by --models, instead of the table" % ", ".join(SHAPE_KEYS))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    names = [m for m in a.models.split(",") if m]
    if a.shape:
        if len(names) != 1:
            p.error("--shape describes one model; --models names %d" % len(names))
        try:
            sh = json.loads(a.shape)
            CONFIGS[names[0]] = tuple(sh[k] for k in SHAPE_KEYS)
        except (ValueError, KeyError, TypeError) as e:
            p.error("--shape %r: %s (want the keys %s)" % (a.shape, e, ", ".join(SHAPE_KEYS)))
    for m in names:
        if m not in CONFIGS:
            p.error("unknown model %r (valid: %s)" % (m, ", ".join(CONFIGS)))
    for flag in ("batch", "seq", "steps", "threads"):
        if getattr(a, flag) < 1:
            p.error("--%s must be at least 1" % flag)
    if a.warmup < 0:
        p.error("--warmup must be at least 0")
    a.model_list = names
    return a


def build(torch, name, seq):
    nn = torch.nn
    F = torch.nn.functional
    arch, L, D, H, FF, ctx, V, pre_ln, alibi = CONFIGS[name]
    if seq > ctx:
        raise SystemExit("perf_torch: --seq %d exceeds %s's context %d" % (seq, name, ctx))

    def gelu(x):
        return F.gelu(x, approximate="tanh")

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, D)
            self.wpe = nn.Embedding(ctx, D)
            enc = arch == "encoder"
            pre = pre_ln or not enc
            if enc:
                self.wtt = nn.Embedding(2, D)
                self.ln_e = nn.LayerNorm(D, eps=1e-12)
            eps = 1e-12 if enc else 1e-5
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=gelu,
                                           layer_norm_eps=eps, batch_first=True,
                                           norm_first=pre)
                for _ in range(L)
            ])
            if pre:
                self.ln_f = nn.LayerNorm(D, eps=eps)
            bias = torch.zeros(H, seq, seq)
            if alibi:
                # -m_h |i-j| with m_h = 2^(-8(h+1)/H), symmetric for an
                # encoder, as models.Config.ALiBi.
                pos = torch.arange(seq, dtype=torch.float32)
                dist = (pos[None, :] - pos[:, None]).abs()
                slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / H) for h in range(H)])
                bias = -slopes[:, None, None] * dist
            if not enc:
                bias = bias + torch.full((seq, seq), float("-inf")).triu(1)
            self.register_buffer("bias", bias)
            if enc:
                self.mlm_dense = nn.Linear(D, D)
                self.mlm_ln = nn.LayerNorm(D, eps=eps)
                self.mlm_bias = nn.Parameter(torch.zeros(V))

        def forward(self, ids, targets):
            B, T = ids.shape
            pos = torch.arange(T)
            h = self.wte(ids) + self.wpe(pos)[None]
            # One additive mask per (sequence, head): the causal mask and
            # the ALiBi biases; none for a plain encoder.
            mask = None
            if alibi:
                mask = self.bias[:, :T, :T].repeat(B, 1, 1)
            elif arch == "decoder":
                mask = self.bias[0, :T, :T]
            if arch == "encoder":
                h = self.ln_e(h + self.wtt.weight[0])
                for blk in self.blocks:
                    h = blk(h, src_mask=mask)
                if pre_ln:
                    h = self.ln_f(h)
                # MLM: logits only at the masked positions.
                sel = targets.view(-1) >= 0
                hm = h.reshape(B * T, D)[sel]
                hm = self.mlm_ln(gelu(self.mlm_dense(hm)))
                logits = hm @ self.wte.weight.t() + self.mlm_bias
                return F.cross_entropy(logits, targets.view(-1)[sel])
            for blk in self.blocks:
                h = blk(h, src_mask=mask)
            h = self.ln_f(h)
            logits = h.reshape(B * T, D) @ self.wte.weight.t()  # tied head
            return F.cross_entropy(logits, targets.view(-1))

    model = Model()
    # Initialisation as the Go models: N(0, 0.02) for matrices and
    # embeddings (0.02/sqrt(2L) for a decoder's output projections), zero
    # biases, unit LayerNorm gains.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if arch == "decoder" and (pname.endswith("self_attn.out_proj.weight") or pname.endswith("linear2.weight")):
                    std = 0.02 / math.sqrt(2 * L)
                p.normal_(0.0, std)
            elif "norm" in pname or pname.startswith(("ln_", "mlm_ln")):
                p.fill_(1.0 if pname.endswith("weight") else 0.0)
            else:
                p.zero_()
    return model, arch, V


def batch(torch, arch, V, B, T, gen):
    ids = torch.randint(0, V, (B, T), generator=gen)
    if arch == "encoder":
        targets = torch.full((B, T), -1, dtype=torch.long)
        n = max(1, round(MASK_FRACTION * T))
        for b in range(B):
            pos = torch.randperm(T, generator=gen)[:n]
            targets[b, pos] = ids[b, pos]
            ids[b, pos] = MASK_ID
        return ids, targets
    # Next token: the target of position t is the token at t+1.
    full = torch.randint(0, V, (B, T + 1), generator=gen)
    return full[:, :-1].contiguous(), full[:, 1:].contiguous()


def run(torch, name, a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model, arch, V = build(torch, name, a.seq)
    decay, no_decay = [], []
    for pname, p in model.named_parameters():
        # As the Go AdamW: decay the matrices, not embeddings, biases or norms.
        (decay if p.dim() == 2 and not pname.startswith(("wte", "wpe", "wtt")) else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-4)
    gen = torch.Generator().manual_seed(a.seed)
    batches = [batch(torch, arch, V, a.batch, a.seq, gen) for _ in range(2)]

    def step(i):
        ids, targets = batches[i % len(batches)]
        opt.zero_grad(set_to_none=False)
        loss = model(ids, targets)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    loss = 0.0
    for i in range(a.steps):
        loss = step(i)
    dt = time.perf_counter() - t0
    if not math.isfinite(loss):
        raise SystemExit("perf_torch: %s: loss is %r" % (name, loss))
    tokens = a.batch * a.seq * a.steps
    return {
        "model": name,
        "batch": a.batch,
        "seq": a.seq,
        "tokens_per_s": tokens / dt,
        "step_ms": dt / a.steps * 1e3,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "steps": a.steps,
        "threads": a.threads,
        "loss": loss,
        "torch": torch.__version__,
    }


def main(argv):
    a = parse_args(argv)
    try:
        import torch
    except ImportError as e:
        sys.stderr.write("perf_torch: PyTorch is not importable by %s (%s); "
                         "install Debian's python3-torch and run this script "
                         "with /usr/bin/python3\n" % (sys.executable, e))
        return 3
    if a.child or len(a.model_list) == 1:
        for name in a.model_list:
            print(json.dumps(run(torch, name, a)), flush=True)
        return 0
    # One child process per model, so that each peak RSS is the model's own.
    fwd, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x == "--models":
            skip = True
        elif not x.startswith("--models="):
            fwd.append(x)
    for name in a.model_list:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--models", name] + fwd)
        if r.returncode != 0:
            return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
