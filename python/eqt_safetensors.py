"""Load a safetensors file written by `eqt export`, and save one (e.g. a PyTorch state dict
for `eqt import --from attractor-reference`), with nothing but the standard library and
torch (no `safetensors` package needed), e.g. into tests/reference/eqt_ref.py:

    meta, tensors = load("model.safetensors")
    cfg = json.loads(meta["eqt.model"])       # eqt's model config
    logits = eqt_ref.forward_loss(tensors, tokens, targets, cfg, list(tensors))[1]

    sd = torch.load("attractor.pt")["model"]  # the reference's state dict
    save("attractor.safetensors", {k: v for k, v in sd.items() if not v.is_complex()})

Tensor names are eqt's parameter names ("blocks.0.attn.q.weight"). The format: u64
little-endian header length, a JSON header {"__metadata__": {...}, name: {"dtype", "shape",
"data_offsets"}}, then the data (offsets relative to its start).
"""
import json
import struct

import torch

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}


def load(path):
    """-> (metadata: dict of str, tensors: dict name -> tensor), in the file's order."""
    data = open(path, "rb").read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, no header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        raw = bytearray(data[base + b: base + end])
        x = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = x.reshape(e["shape"])
    return meta, tensors


def save(path, tensors, metadata=None):
    """Write tensors (dict name -> tensor; real dtypes only: safetensors has no complex one)
    contiguous and little-endian, in the dict's order, with string metadata."""
    names = {v: k for k, v in DTYPES.items()}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in names:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors name")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for raw in blobs:
            f.write(raw)
