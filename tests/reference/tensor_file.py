"""Reader and writer of eqt's tensor file (src/eqt/io/tensor_file.h), for the reference tests.

Layout: b"EQTF", u32 version, u64 header length, JSON header, zero padding to 64 bytes,
tensor data at the header's offsets (relative to the data start).
"""
import json
import struct

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
          "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool}


def load(path):
    data = open(path, "rb").read()
    assert data[:4] == b"EQTF", "bad magic"
    version, hlen = struct.unpack("<IQ", data[4:16])
    assert version == 1, f"version {version}"
    header = json.loads(data[16:16 + hlen])
    base = (16 + hlen + 63) // 64 * 64
    tensors = {}
    for t in header["tensors"]:
        raw = bytearray(data[base + t["offset"]: base + t["offset"] + t["nbytes"]])
        x = torch.frombuffer(raw, dtype=DTYPES[t["dtype"]]) if t["nbytes"] else torch.empty(0, dtype=DTYPES[t["dtype"]])
        tensors[t["name"]] = x.reshape(t["shape"]).clone()
    return header["meta"], tensors
