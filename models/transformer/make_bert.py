"""A small BERT-architecture spam classifier for Chorus's "bring your own transformer" path.

Run once; the outputs are committed so CI never needs torch:

    npx tsx models/transformer/export-views.ts /tmp/chorus-views.jsonl
    /usr/bin/python3 models/transformer/make_bert.py /tmp/chorus-views.jsonl

Needs Debian's python3-torch (1.13) and python3-onnx (apt-get install -y python3-torch python3-onnx).
Seeded (Python, NumPy, torch) and single-threaded. The results also depend on the BLAS library
torch loads (see README.md: the committed files were made with OpenBLAS).

Steps:
1. A WordPiece vocabulary is built from the TRAIN split only (frequency based, see build_vocab).
2. Text is tokenized by a small implementation here that mirrors, step by step, what the
   Hugging Face tokenizer described by tokenizer.json does in @huggingface/tokenizers (the pure
   JS tokenizer of transformers.js): special-token splitting, BertNormalizer (clean text, CJK
   spacing, lowercase, NFD + strip Mn), BertPreTokenizer (whitespace + punctuation), greedy
   longest-match-first WordPiece with "##" continuations and at most 100 characters per word,
   then [CLS] ... [SEP], truncated to MAX_LEN tokens in all.
3. A 2-layer BERT (hidden 64, 2 heads, FFN 256, post-LayerNorm, GELU, [CLS] pooler) is trained
   with AdamW on the train split; the epoch with the lowest validation log-loss is kept.
4. Exported to ONNX (opset 17) with inputs input_ids / attention_mask / token_type_ids (int64,
   [batch, sequence]) and output logits [batch, 2]; written with tokenizer.json,
   tokenizer_config.json, parity.json.gz (test-split ids + PyTorch logits) and metrics.json.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import random
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(5)
VOCAB_SIZE = 8000
MAX_LEN = 256  # tokens in all, [CLS] and [SEP] included
MAX_CHARS_PER_WORD = 100
SEED = 20240607
LABELS = ["ham", "spam"]

# ---------------------------------------------------------------------------------------------
# Tokenizer (mirror of @huggingface/tokenizers' BertNormalizer + BertPreTokenizer + WordPiece)
# ---------------------------------------------------------------------------------------------

# JavaScript's \s (and String.prototype.trim): WhiteSpace + LineTerminator, i.e. Zs plus
# TAB, LF, VT, FF, CR, U+0085 is NOT in it, U+FEFF is.
JS_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(chr(c) for c in range(0x2000, 0x200B))
)
CONTROL_CATEGORIES = frozenset(["Cc", "Cf", "Co", "Cs"])


def _clean_char(ch):
    """BertNormalizer clean_text for one code point: drop NUL, U+FFFD and control characters
    (Cc, Cf, Co, Cs except tab, LF, CR); map whitespace to a space."""
    cp = ord(ch)
    if cp == 0 or cp == 0xFFFD:
        return ""
    if ch not in "\t\n\r" and unicodedata.category(ch) in CONTROL_CATEGORIES:
        return ""
    if ch in JS_WHITESPACE:
        return " "
    return ch


def _is_cjk(cp):
    # The JS implementation walks UTF-16 code units, so only the BMP ranges ever match.
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF


_char_cache = {}


def _clean_and_space(ch):
    out = _char_cache.get(ch)
    if out is None:
        out = _clean_char(ch)
        if out and _is_cjk(ord(out)):
            out = f" {out} "
        _char_cache[ch] = out
    return out


def normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, lowercase, strip_accents=None→True)."""
    text = "".join(map(_clean_and_space, text))
    text = text.lower()
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


_punct_cache = {}


def _is_punct(ch):
    p = _punct_cache.get(ch)
    if p is None:
        cp = ord(ch)
        p = (
            0x21 <= cp <= 0x2F
            or 0x3A <= cp <= 0x40
            or 0x5B <= cp <= 0x60
            or 0x7B <= cp <= 0x7E
            or unicodedata.category(ch).startswith("P")
        )
        _punct_cache[ch] = p
    return p


def pre_tokenize(text):
    """BertPreTokenizer: runs of non-space non-punctuation, and each punctuation mark alone."""
    words = []
    cur = []
    for ch in text:
        if ch in JS_WHITESPACE:
            if cur:
                words.append("".join(cur))
                cur = []
        elif _is_punct(ch):
            if cur:
                words.append("".join(cur))
                cur = []
            words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def split_specials(text):
    """Splits raw text on literal special tokens (leftmost, longest), as added tokens with
    normalized=false are split before normalization. Returns [(is_special, piece)]."""
    out = []
    start = i = 0
    n = len(text)
    while i < n:
        match = None
        if text[i] == "[":
            for s in sorted(SPECIALS, key=len, reverse=True):
                if text.startswith(s, i):
                    match = s
                    break
        if match:
            if i > start:
                out.append((False, text[start:i]))
            out.append((True, match))
            i += len(match)
            start = i
        else:
            i += 1
    if start < n:
        out.append((False, text[start:]))
    return out


def words_of(text):
    """Yields pieces after special-token splitting, normalization and pre-tokenization:
    ("special", token) or ("word", word)."""
    for is_special, piece in split_specials(text):
        if is_special:
            yield ("special", piece)
            continue
        norm = normalize(piece)
        if not norm:
            continue
        for w in pre_tokenize(norm):
            yield ("word", w)


class WordPieceTokenizer:
    def __init__(self, vocab):
        self.vocab = vocab  # list of tokens, id = index
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.cache = {}

    def word_ids(self, word):
        got = self.cache.get(word)
        if got is not None:
            return got
        chars = word  # Python strings index code points, like [...token] in JS
        if len(chars) > MAX_CHARS_PER_WORD:
            got = [UNK]
        else:
            got = []
            start = 0
            while start < len(chars):
                end = len(chars)
                found = None
                while start < end:
                    sub = chars[start:end]
                    if start > 0:
                        sub = "##" + sub
                    if sub in self.ids:
                        found = self.ids[sub]
                        break
                    end -= 1
                if found is None:
                    got = [UNK]
                    break
                got.append(found)
                start = end
        self.cache[word] = got
        return got

    def encode(self, text, max_len=MAX_LEN):
        """[CLS] + content ids (truncated to max_len - 2) + [SEP]."""
        content = []
        limit = max_len - 2
        for kind, w in words_of(text):
            if kind == "special":
                content.append(self.ids[w])
            else:
                content.extend(self.word_ids(w))
            if len(content) >= limit:
                break  # greedy left-to-right: later text never changes earlier ids
        return [CLS] + content[:limit] + [SEP]


def build_vocab(train_texts, size=VOCAB_SIZE, min_char_count=5, word_share=0.6):
    """Frequency-based WordPiece vocabulary from the training texts:
    specials; every character seen at least min_char_count times, both word-initial and as a
    "##" continuation (so nearly every word can be spelled); the most frequent whole words
    (word_share of what is left); then the most frequent word-initial prefixes and "##"
    suffixes (2-6 characters) of the words that did not make it, weighted by word count."""
    words = Counter()
    for text in train_texts:
        for kind, w in words_of(text):
            if kind == "word":
                words[w] += 1
    chars = Counter()
    for w, c in words.items():
        if len(w) <= MAX_CHARS_PER_WORD:
            for ch in w:
                chars[ch] += c
    kept_chars = sorted(ch for ch, c in chars.items() if c >= min_char_count)
    vocab = list(SPECIALS)
    seen = set(vocab)

    def add(tok):
        if tok not in seen and len(vocab) < size:
            seen.add(tok)
            vocab.append(tok)

    for ch in kept_chars:
        add(ch)
    for ch in kept_chars:
        add("##" + ch)
    n_words = int((size - len(vocab)) * word_share)
    ranked = sorted(
        ((w, c) for w, c in words.items() if len(w) > 1 and len(w) <= MAX_CHARS_PER_WORD and c >= 2),
        key=lambda wc: (-wc[1], wc[0]),
    )
    for w, _ in ranked[:n_words]:
        add(w)
    pieces = Counter()
    for w, c in words.items():
        if w in seen or len(w) > MAX_CHARS_PER_WORD or len(w) < 3:
            continue
        for k in range(2, min(6, len(w) - 1) + 1):
            pieces[w[:k]] += c
            pieces["##" + w[-k:]] += c
    for tok, _ in sorted(pieces.items(), key=lambda tc: (-tc[1], tc[0])):
        if len(vocab) >= size:
            break
        add(tok)
    return vocab, words


def tokenizer_json(vocab):
    special = lambda t: {  # noqa: E731
        "id": vocab.index(t),
        "content": t,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": True,
    }
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": MAX_LEN, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [CLS], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [SEP], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": MAX_CHARS_PER_WORD,
            "vocab": {t: i for i, t in enumerate(vocab)},
        },
    }


def tokenizer_config_json():
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "model_max_length": MAX_LEN,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": True,
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }


def write_json(path, obj):
    """Indented JSON as biome (the repository's formatter) prints it: one-element scalar arrays
    on one line, so a regenerated file needs no reformatting."""
    text = json.dumps(obj, ensure_ascii=False, indent=2)
    scalar = r'"(?:[^"\\\n]|\\.)*"|[^\s\[\]{},"]+'
    text = re.sub(r"\[\n\s+(" + scalar + r")\n\s+\]", r"[\1]", text)
    Path(path).write_text(text + "\n", "utf8")


def loaded_blas():
    """The BLAS library torch runs on, as "dir/file" (the reference libblas is ~3x slower than OpenBLAS)."""
    try:
        with open("/proc/self/maps", encoding="utf8") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return "unknown"
    blas = sorted(p for p in paths if re.match(r"lib(open)?blas", os.path.basename(p)))
    return ", ".join(f"{os.path.basename(os.path.dirname(p))}/{os.path.basename(p)}" for p in blas) or "unknown"


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """Multi-head self-attention. No dropout on the attention probabilities: on one CPU thread
    sampling a [batch, heads, seq, seq] mask cost as much as the attention itself."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x, additive_mask):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # noqa: E731
        q = split(self.query(x) * (1.0 / math.sqrt(self.head_dim)))
        k, v = split(self.key(x)), split(self.value(x))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + additive_mask, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        return self.out(ctx)


class EncoderLayer(nn.Module):
    """Post-LayerNorm BERT layer: x = LN(x + attn(x)); x = LN(x + FFN(x))."""

    def __init__(self, hidden, heads, ffn, dropout):
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.GELU()

    def forward(self, x, additive_mask):
        x = self.attention_norm(x + self.dropout(self.attention(x, additive_mask)))
        return self.output_norm(x + self.dropout(self.output(self.act(self.intermediate(x)))))


class TinyBert(nn.Module):
    def __init__(self, vocab_size, hidden=64, layers=2, heads=2, ffn=256, max_len=MAX_LEN, dropout=0.1, classes=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, hidden, padding_idx=PAD)
        self.position_embeddings = nn.Embedding(max_len, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList([EncoderLayer(hidden, heads, ffn, dropout) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, classes)
        self.register_buffer("position_ids", torch.arange(max_len).unsqueeze(0), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(self.position_ids[:, :t])
            + self.token_type_embeddings(token_type_ids)
        )
        x = self.dropout(self.embedding_norm(x))
        additive_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, additive_mask)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))  # logits [batch, 2]


# ---------------------------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------------------------


def batch_tensors(seqs):
    t = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), t), dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask, torch.zeros_like(ids)


@torch.no_grad()
def predict_logits(model, seqs, batch=64):
    model.eval()
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))  # less padding
    logits = [None] * len(seqs)
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        ids, mask, types = batch_tensors([seqs[i] for i in idx])
        for i, row in zip(idx, model(ids, mask, types)):
            logits[i] = row
    return torch.stack(logits)


def metrics(logits, labels, groups):
    y = torch.tensor(labels)
    logp = torch.log_softmax(logits.double(), dim=-1)
    pred = logits.argmax(-1)
    ham = y == 0
    hard = torch.tensor([g == "hard-ham-1" for g in groups])
    return {
        "n": len(labels),
        "accuracy": float((pred == y).double().mean()),
        "log_loss": float(-logp[torch.arange(len(labels)), y].mean()),
        "ham_fpr": float((pred[ham] == 1).double().mean()),
        "spam_recall": float((pred[~ham] == 1).double().mean()),
        "hard_ham_n": int(hard.sum()),
        "hard_ham_fpr": float((pred[hard] == 1).double().mean()) if hard.any() else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("views", help="JSONL from export-views.ts")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args()
    out = Path(args.out)

    torch.set_num_threads(1)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    t0 = time.time()

    rows = [json.loads(line) for line in open(args.views, encoding="utf8")]
    split = {name: [r for r in rows if r["split"] == name] for name in ("train", "validation", "test")}
    print({k: len(v) for k, v in split.items()})

    vocab, word_counts = build_vocab([r["body"] for r in split["train"]])
    tok = WordPieceTokenizer(vocab)
    t_vocab = time.time() - t0
    print(f"vocab {len(vocab)} from {len(word_counts)} distinct train words in {t_vocab:.1f}s")
    seqs = {name: [tok.encode(r["body"]) for r in rs] for name, rs in split.items()}
    lens = [len(s) for s in seqs["train"]]
    unk = sum(s.count(UNK) for s in seqs["train"]) / sum(lens)
    print(f"train tokens/msg mean {np.mean(lens):.1f}, truncated {np.mean([n == MAX_LEN for n in lens]):.1%}, [UNK] {unk:.2%}")
    t_tok = time.time() - t0 - t_vocab

    labels = {name: [r["label"] for r in rs] for name, rs in split.items()}
    groups = {name: [r["group"] for r in rs] for name, rs in split.items()}
    model = TinyBert(len(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters {n_params}")
    no_decay = lambda n: n.endswith("bias") or "norm" in n  # noqa: E731
    opt = torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": 0.01},
            {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    train_idx = list(range(len(seqs["train"])))
    steps_per_epoch = math.ceil(len(train_idx) / args.batch)
    total = steps_per_epoch * args.epochs
    warmup = steps_per_epoch // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup)))
    )
    rng = random.Random(SEED)
    best = None
    history = []
    t_train0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        rng.shuffle(train_idx)
        running = 0.0
        for s in range(0, len(train_idx), args.batch):
            idx = train_idx[s : s + args.batch]
            ids, mask, types = batch_tensors([seqs["train"][i] for i in idx])
            y = torch.tensor([labels["train"][i] for i in idx])
            loss = nn.functional.cross_entropy(model(ids, mask, types), y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            running += float(loss) * len(idx)
        val = metrics(predict_logits(model, seqs["validation"]), labels["validation"], groups["validation"])
        history.append({"epoch": epoch, "train_loss": running / len(train_idx), **val})
        print(
            f"epoch {epoch}: train loss {running / len(train_idx):.4f}  val log-loss {val['log_loss']:.4f}  "
            f"acc {val['accuracy']:.4f}  ham FPR {val['ham_fpr']:.4f}  ({time.time() - t_train0:.0f}s)"
        )
        if best is None or val["log_loss"] < best[0]:
            best = (val["log_loss"], epoch, {k: v.clone() for k, v in model.state_dict().items()})
    t_train = time.time() - t_train0
    model.load_state_dict(best[2])
    model.eval()
    print(f"best epoch {best[1]} (validation log-loss {best[0]:.4f}); training {t_train:.0f}s")

    results = {
        name: metrics(predict_logits(model, seqs[name]), labels[name], groups[name])
        for name in ("train", "validation", "test")
    }
    test_logits = predict_logits(model, seqs["test"])

    # ---- ONNX export ----
    onnx_path = out / "bert-tiny.fp32.onnx"
    ids, mask, types = batch_tensors(seqs["test"][:2])
    torch.onnx.export(
        model,
        (ids, mask, types),
        str(onnx_path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "token_type_ids": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"},
        },
        opset_version=17,
        do_constant_folding=True,
    )
    import onnx

    proto = onnx.load(str(onnx_path))
    onnx.checker.check_model(proto)
    proto.doc_string = "Chorus tiny BERT spam classifier (body view); logits over [ham, spam]"
    for key, value in (("labels", json.dumps(LABELS)), ("max_length", str(MAX_LEN)), ("tokenizer", "tokenizer.json")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(onnx_path))
    model_bytes = onnx_path.read_bytes()

    # ---- tokenizer, parity, metrics ----
    write_json(out / "tokenizer.json", tokenizer_json(vocab))
    write_json(out / "tokenizer_config.json", tokenizer_config_json())
    parity = {
        "model": "bert-tiny.fp32.onnx",
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "max_length": MAX_LEN,
        "labels": LABELS,
        "split": "test",
        "messages": [
            {"id": r["id"], "ids": s, "logits": [round(float(v), 7) for v in lg]}
            for r, s, lg in zip(split["test"], seqs["test"], test_logits)
        ],
    }
    with gzip.GzipFile(out / "parity.json.gz", "wb", mtime=0) as f:
        f.write(json.dumps(parity, separators=(",", ":")).encode("utf8"))
    summary = {
        "model": "bert-tiny.fp32.onnx",
        "model_bytes": len(model_bytes),
        "parameters": n_params,
        "vocab_size": len(vocab),
        "max_length": MAX_LEN,
        "architecture": {
            "layers": len(model.layers),
            "hidden": model.word_embeddings.embedding_dim,
            "heads": model.layers[0].attention.heads,
            "ffn": model.layers[0].intermediate.out_features,
            "norm": "post-LN",
            "activation": "gelu (erf)",
            "pooling": "[CLS] -> dense + tanh -> linear",
        },
        "training": {
            "epochs": args.epochs,
            "batch": args.batch,
            "lr": args.lr,
            "best_epoch": best[1],
            "seed": SEED,
            "threads": 1,
            "vocab_seconds": round(t_vocab, 1),
            "tokenize_seconds": round(t_tok, 1),
            "train_seconds": round(t_train, 1),
            "total_seconds": round(time.time() - t0, 1),
            "torch": torch.__version__,
            "blas": loaded_blas(),
        },
        "history": history,
        "results": results,
    }
    write_json(out / "metrics.json", summary)
    print(json.dumps(results, indent=2))
    print(f"model {len(model_bytes)} bytes; total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
