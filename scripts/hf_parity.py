#!/usr/bin/env python3
"""Write the Hugging Face parity test data of models/hf_test.go.

Builds a small random GPT-2 and a small random BERT in PyTorch with the
module structure and parameter names of transformers' modeling_gpt2.py
(GPT2Model: wte, wpe, h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2,
mlp.c_fc, mlp.c_proj}, ln_f; Conv1D weights [in, out]; the attn.bias and
attn.masked_bias buffers) and modeling_bert.py (BertForPreTraining:
bert.embeddings.*, bert.encoder.layer.N.*, bert.pooler.dense,
cls.predictions.*, cls.seq_relationship.*, the position_ids buffer),
runs each on a fixed input, and writes under models/testdata/hf/<name>/:

  model.safetensors  the state dict (tied copies left out, as
                     save_pretrained does), F32 / I64 / BOOL
  config.json        the transformers config of the model
  logits.json        input ids and the logits at every position

The modules are re-implemented here in plain torch (no transformers
package), following the reference code: GPT-2 is pre-LN with the tanh
GELU ("gelu_new") and LayerNorm eps 1e-5, causal attention, the LM head
tied to wte; BERT is post-LN with the exact erf GELU ("gelu") and eps
1e-12, every token of type 0, the MLM decoder tied to the word
embeddings plus its own bias. No dropout (eval mode).

The safetensors file is written by hand (an 8-byte little-endian header
length, a JSON header padded with spaces to a multiple of 8, then the
raw little-endian data), so the safetensors package is not needed.

Run with Debian's python3-torch (installed for /usr/bin/python3):

    /usr/bin/python3 scripts/hf_parity.py [OUT_DIR]

The output is deterministic for a given torch build; the committed files
were made with Debian python3-torch 1.13.1 (which reports
its version as 1.13.0a0).
"""

import json
import math
import os
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

SEED = 17
CTX = 16  # positions
B, T = 2, 8  # the fixed input: B rows of T tokens
VOCAB = 64
D, HEADS, DFF, LAYERS = 16, 2, 64, 2


# ---- GPT-2 (modeling_gpt2.py) ---------------------------------------------


class Conv1D(nn.Module):
    """transformers' Conv1D: y = x @ weight + bias, weight stored [nx, nf]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.empty(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones((CTX, CTX), dtype=torch.bool)).view(1, 1, CTX, CTX))
        self.register_buffer("masked_bias", torch.tensor(-1e4))
        self.c_attn = Conv1D(3 * D, D)
        self.c_proj = Conv1D(D, D)

    def forward(self, x):
        b, t, _ = x.shape
        hs = D // HEADS
        q, k, v = self.c_attn(x).split(D, dim=2)
        q, k, v = (z.view(b, t, HEADS, hs).permute(0, 2, 1, 3) for z in (q, k, v))
        w = q @ k.transpose(-1, -2) / (hs ** 0.5)
        mask = self.bias[:, :, :t, :t]
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1)
        y = (w @ v).permute(0, 2, 1, 3).reshape(b, t, D)
        return self.c_proj(y)


class GPT2MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = Conv1D(DFF, D)
        self.c_proj = Conv1D(D, DFF)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D, eps=1e-5)
        self.attn = GPT2Attention()
        self.ln_2 = nn.LayerNorm(D, eps=1e-5)
        self.mlp = GPT2MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.wpe = nn.Embedding(CTX, D)
        self.h = nn.ModuleList([GPT2Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D, eps=1e-5)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for blk in self.h:
            x = blk(x)
        x = self.ln_f(x)
        return x @ self.wte.weight.T  # GPT2LMHeadModel's tied lm_head


def gpt2_config():
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "n_head": HEADS, "n_layer": LAYERS, "n_embd": D, "n_inner": DFF,
        "n_positions": CTX, "n_ctx": CTX, "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new", "vocab_size": VOCAB,
    }


# ---- BERT (modeling_bert.py) ----------------------------------------------


class BertEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, D)
        self.position_embeddings = nn.Embedding(CTX, D)
        self.token_type_embeddings = nn.Embedding(2, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(CTX).expand((1, -1)))

    def forward(self, ids):
        t = ids.shape[1]
        types = torch.zeros_like(ids)
        x = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(self.position_ids[:, :t])
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(D, D)
        self.key = nn.Linear(D, D)
        self.value = nn.Linear(D, D)

    def forward(self, x):
        b, t, _ = x.shape
        hs = D // HEADS
        q, k, v = (lin(x).view(b, t, HEADS, hs).permute(0, 2, 1, 3) for lin in (self.query, self.key, self.value))
        w = F.softmax(q @ k.transpose(-1, -2) / math.sqrt(hs), dim=-1)
        return (w @ v).permute(0, 2, 1, 3).reshape(b, t, D)


class BertSelfOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = BertSelfAttention()
        self.output = BertSelfOutput()

    def forward(self, x):
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, DFF)

    def forward(self, x):
        return F.gelu(self.dense(x))  # "gelu": the exact erf form


class BertOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(DFF, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = BertAttention()
        self.intermediate = BertIntermediate()
        self.output = BertOutput()

    def forward(self, x):
        a = self.attention(x)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer() for _ in range(LAYERS)])

    def forward(self, x):
        for lyr in self.layer:
            x = lyr(x)
        return x


class BertPooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = BertEmbeddings()
        self.encoder = BertEncoder()
        self.pooler = BertPooler()

    def forward(self, ids):
        return self.encoder(self.embeddings(ids))


class BertPredictionHeadTransform(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, word_embeddings):
        super().__init__()
        self.transform = BertPredictionHeadTransform()
        self.decoder = nn.Linear(D, VOCAB, bias=False)
        self.decoder.weight = word_embeddings.weight  # tied
        self.bias = nn.Parameter(torch.zeros(VOCAB))
        self.decoder.bias = self.bias

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertPreTrainingHeads(nn.Module):
    def __init__(self, word_embeddings):
        super().__init__()
        self.predictions = BertLMPredictionHead(word_embeddings)
        self.seq_relationship = nn.Linear(D, 2)


class BertForPreTraining(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = BertModel()
        self.cls = BertPreTrainingHeads(self.bert.embeddings.word_embeddings)

    def forward(self, ids):
        return self.cls.predictions(self.bert(ids))


def bert_config():
    return {
        "architectures": ["BertForPreTraining"], "model_type": "bert",
        "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "hidden_size": D,
        "intermediate_size": DFF, "max_position_embeddings": CTX, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "vocab_size": VOCAB,
    }


# ---- writing ----------------------------------------------------------------

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.bool: "BOOL"}


def randomise(model, gen):
    """Every parameter random and far from its default, so that a wrong
    layout, transpose or numeric shows in the logits."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or ".ln_" in name or name.startswith("ln_"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))


def state_dict(model, skip):
    """The state dict as save_pretrained stores it: tied copies left out."""
    return {k: v for k, v in model.state_dict().items() if k not in skip}


def save_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write(out, name, model, config, skip, gen):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    randomise(model, gen)
    model.eval()
    ids = torch.randint(0, VOCAB, (B, T), generator=gen)
    with torch.no_grad():
        logits = model(ids)
    save_safetensors(os.path.join(d, "model.safetensors"), state_dict(model, skip))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "logits.json"), "w") as f:
        json.dump({"torch": torch.__version__, "input_ids": ids.tolist(), "shape": list(logits.shape),
                   "logits": [float(v) for v in logits.reshape(-1).tolist()]}, f)
        f.write("\n")
    print(f"{d}: {sum(p.numel() for p in model.parameters())} parameters, logits {list(logits.shape)}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("models", "testdata", "hf")
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    write(out, "gpt2", GPT2Model(), gpt2_config(), set(), gen)
    write(out, "bert", BertForPreTraining(), bert_config(),
          {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}, gen)


if __name__ == "__main__":
    main()
