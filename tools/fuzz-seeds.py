#!/usr/bin/env python3
"""Writes the fuzz corpus's seed files (seed-*) from the real model files, shrunk to fuzzer size.

usage: python3 tools/fuzz-seeds.py [SHARED] [CORPUS]
  SHARED  the shared assets folder (default: ../shared beside the repository, else /work/shared)
  CORPUS  where the corpus lives (default: TimeBill.Tests/Reliability/FuzzCorpus)
"""
import json
import os
import struct
import sys

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = sys.argv[1] if len(sys.argv) > 1 else next(
    p for p in (os.path.join(repo, "..", "shared"), "/work/shared") if os.path.isdir(p))
corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "TimeBill.Tests", "Reliability", "FuzzCorpus")
stories = os.path.join(repo, "models", "stories260K")


def write(parser, name, data):
    folder = os.path.join(corpus, parser)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# safetensors: a small valid file, and stories260K's real header with every tensor shrunk to one element.
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    raw = compact(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


write("safetensors", "small", safetensors([
    ("a", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
    ("b", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
    ("c", "F16", [1], b"\x00\x3c"),
    ("empty", "F32", [0, 3], b""),
], {"format": "pt"}))
real = read(os.path.join(stories, "model.safetensors"))
(length,) = struct.unpack("<Q", real[:8])
real_header = json.loads(real[8:8 + length])
sizes = {"F32": 4, "BF16": 2, "F16": 2}
write("safetensors", "stories260K-shrunk", safetensors(
    [(k, v["dtype"], [1] * len(v["shape"]), b"\x00" * sizes[v["dtype"]]) for k, v in real_header.items() if k != "__metadata__"],
    real_header.get("__metadata__")))

# config.json: every real config.
for model in ("stories260K", "tiny-random-llama3-bf16", "tiny-random-llama31", "tiny-random-mistral-swa", "tiny-random-qwen2", "tiny-random-qwen3"):
    folder = stories if model == "stories260K" else os.path.join(shared, "models", model)
    write("config", model + ".json", read(os.path.join(folder, "config.json")))

# tokenizer.model: stories260K's SentencePiece model (8 KB; llama2's is 500 KB, too big for the corpus), and a
# 1 KB one that still loads: its control pieces and first 40 normal ones, byte pieces and byte fallback dropped, small
# enough that the fuzzer's mutations stay under the corpus's 4 KB entry size.
def wire_fields(buf):
    """The protobuf fields of buf: (field number, the field's raw bytes, its payload: bytes, or the varint's value)."""
    i = 0
    while i < len(buf):
        start = i
        tag, i = read_varint(buf, i)
        wire = tag & 7
        if wire == 2:
            n, i = read_varint(buf, i)
            payload, i = buf[i:i + n], i + n
        elif wire == 0:
            payload, i = read_varint(buf, i)
        else:
            size = 4 if wire == 5 else 8
            payload, i = buf[i:i + size], i + size
        yield tag >> 3, buf[start:i], payload


def read_varint(buf, i):
    value, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def write_varint(value):
    out = bytearray()
    while True:
        b, value = value & 0x7F, value >> 7
        out.append(b | 0x80 if value else b)
        if not value:
            return bytes(out)


def small_sentencepiece(model, normal_pieces=40):
    out, kept = bytearray(), 0
    for field, raw, body in wire_fields(model):
        if field == 1:  # a piece: kept if control (3) or unknown (2), or among the first normal (1) ones
            kind = next((v for f, _, v in wire_fields(body) if f == 3), 1)
            if kind in (2, 3) or (kind == 1 and kept < normal_pieces):
                out += raw
                kept += kind == 1
        elif field == 2:  # the trainer spec without byte_fallback (field 35)
            spec = b"".join(r for f, r, _ in wire_fields(body) if f != 35)
            out += write_varint(2 << 3 | 2) + write_varint(len(spec)) + spec
        else:
            out += raw
    return bytes(out)


sentencepiece_model = read(os.path.join(stories, "tokenizer.model"))
write("tokenizer-model", "stories260K.model", sentencepiece_model)
write("tokenizer-model", "stories260K-small.model", small_sentencepiece(sentencepiece_model))


# tokenizer.json: the real Qwen3 and Llama 3.1 files' structure (normalizer, pre-tokenizer, post-processor, decoder,
# added tokens) with the vocabulary cut to the 256 byte-level symbols and a few merges.
def byte_level_alphabet():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return [chars[b] for b in range(256)]


alphabet = byte_level_alphabet()
for model in ("tiny-random-qwen3", "tiny-random-llama31"):
    doc = json.load(open(os.path.join(shared, "models", model, "tokenizer.json"), encoding="utf-8"))
    vocab = {c: i for i, c in enumerate(alphabet)}
    merges = [["a", "b"], ["Ġ", "ab"], ["t", "h"], ["th", "e"]]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    doc["model"]["vocab"] = vocab
    doc["model"]["merges"] = merges if isinstance(doc["model"]["merges"][0], list) else [a + " " + b for a, b in merges]
    added, moved = doc["added_tokens"][:6], {}
    for i, token in enumerate(added):
        moved[token["id"]] = token["id"] = len(vocab) + i
    doc["added_tokens"] = added

    def renumber(node):  # the post-processor's special-token ids follow the added tokens
        if isinstance(node, dict):
            if isinstance(node.get("ids"), list):
                node["ids"] = [moved.get(i, i) for i in node["ids"]]
            for v in node.values():
                renumber(v)
        elif isinstance(node, list):
            for v in node:
                renumber(v)
    renumber(doc.get("post_processor"))
    write("tokenizer-json", model + "-shrunk.json", compact(doc))

# Jinja chat templates: the real ones of the shared models and the test fixture.
for model in ("tiny-random-qwen3", "tiny-random-llama31"):
    config = json.load(open(os.path.join(shared, "models", model, "tokenizer_config.json"), encoding="utf-8"))
    template = config["chat_template"]
    write("template", model + ".jinja", template if isinstance(template, str) else template[0]["template"])
write("template", "llama31-instruct.jinja", read(os.path.join(repo, "TimeBill.Tests", "Templates", "Fixtures", "llama31-instruct.jinja")))
write("template", "constructs.jinja", "{%- set ns = namespace(n=0) -%}{% macro m(x, y=2) %}{{ x ~ y }}{% endmacro %}"
      "{% for i in range(3) if i is odd %}{{ loop.index }}{{ m(i) | trim | upper }}{% else %}none{% endfor %}"
      "{% if a is defined and not b %}{{ a[1:2] }}{% elif c %}{{ {'k': [1, 2.5, none, true]} | tojson }}{% endif %}"
      "{# comment #}{% raw %}{{ raw }}{% endraw %}{{ 'x' if y else \"z\" }}{{ messages[0]['content'].split(' ')|join(',') }}")


# GGUF: a one-layer llama shape (hidden 4) with stories260K's SentencePiece vocabulary, and a qwen2 one with a small
# byte-level BPE (gpt2) vocabulary and a chat template; only token_embd.weight is stored.
def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(v):
    if isinstance(v, bool):
        return struct.pack("<I?", 7, v)
    if isinstance(v, int):
        return struct.pack("<II", 4, v)
    if isinstance(v, float):
        return struct.pack("<If", 6, v)
    if isinstance(v, str):
        return struct.pack("<I", 8) + gguf_string(v)
    kind, items = v
    body = {"str": lambda x: gguf_string(x), "f32": lambda x: struct.pack("<f", x), "i32": lambda x: struct.pack("<i", x)}[kind]
    tag = {"str": 8, "f32": 6, "i32": 5}[kind]
    return struct.pack("<IIQ", 9, tag, len(items)) + b"".join(body(x) for x in items)


def gguf(metadata, tensors):
    out = struct.pack("<IIQQ", 0x46554747, 3, len(tensors), len(metadata))
    for k, v in metadata.items():
        out += gguf_string(k) + gguf_value(v)
    offset, data = 0, b""
    for name, dims, payload in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 0, offset)  # F32
        data += payload + b"\x00" * (-len(payload) % 32)
        offset = len(data)
    out += b"\x00" * (-len(out) % 32)
    return out + data


def sentencepiece_pieces(model):
    pieces = []
    for field, _, body in wire_fields(model):
        if field == 1:
            values = {f: v for f, _, v in wire_fields(body)}
            if not values.keys() <= {1, 2, 3}:
                raise ValueError("unexpected piece field")
            score = struct.unpack("<f", values[2])[0] if 2 in values else 0.0
            pieces.append((values.get(1, b"").decode("utf-8"), score, values.get(3, 1)))
    return pieces


def shape(arch, vocab):
    return {"general.architecture": arch, "general.name": "fuzz-seed", f"{arch}.context_length": 64,
            f"{arch}.embedding_length": 4, f"{arch}.block_count": 1, f"{arch}.feed_forward_length": 8,
            f"{arch}.attention.head_count": 2, f"{arch}.attention.head_count_kv": 1, f"{arch}.attention.key_length": 2,
            f"{arch}.attention.value_length": 2, f"{arch}.attention.layer_norm_rms_epsilon": 1e-5,
            f"{arch}.rope.freq_base": 10000.0, f"{arch}.rope.dimension_count": 2, f"{arch}.vocab_size": vocab}


pieces = sentencepiece_pieces(read(os.path.join(stories, "tokenizer.model")))
meta = shape("llama", len(pieces))
meta.update({"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": ("str", [p[0] for p in pieces]),
             "tokenizer.ggml.scores": ("f32", [p[1] for p in pieces]), "tokenizer.ggml.token_type": ("i32", [p[2] for p in pieces]),
             "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.unknown_token_id": 0,
             "tokenizer.ggml.add_bos_token": True})
write("gguf", "llama-stories260K-vocab.gguf", gguf(meta, [("token_embd.weight", [4, len(pieces)], b"\x00" * 16 * len(pieces))]))

tokens = alphabet + ["ab", "Ġab", "<|im_start|>", "<|im_end|>"]
meta = shape("qwen2", len(tokens))
meta.update({"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2", "tokenizer.ggml.tokens": ("str", tokens),
             "tokenizer.ggml.token_type": ("i32", [1] * 258 + [3, 3]), "tokenizer.ggml.merges": ("str", ["a b", "Ġ ab"]),
             "tokenizer.ggml.eos_token_id": 259, "tokenizer.ggml.padding_token_id": 259, "tokenizer.ggml.add_bos_token": False,
             "tokenizer.chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"})
write("gguf", "qwen2-byte-level-vocab.gguf", gguf(meta, [("token_embd.weight", [4, len(tokens)], b"\x00" * 16 * len(tokens)),
                                                        ("output.weight", [4, len(tokens)], b"\x00" * 16 * len(tokens))]))
