"""Minimal safetensors reader/writer (no dependency on the ``safetensors`` package).

File layout: 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON
``{name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the data buffer; offsets are relative to the start of the buffer, tensors are little-endian, C order.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Dict, Mapping, Optional, Tuple, Union

import numpy as np
import torch

MAX_HEADER_BYTES = 100 * 1024 * 1024  # same limit as the reference implementation

# dtype name -> (torch dtype, bytes per element)
_DTYPES: Dict[str, Tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_TORCH_TO_NAME = {v[0]: k for k, v in _DTYPES.items()}


class SafetensorsError(ValueError):
    """Raised for malformed safetensors files."""


PathLike = Union[str, "os.PathLike[str]"]


def _parse_header(data: bytes, source: str) -> Tuple[dict, int]:
    if len(data) < 8:
        raise SafetensorsError(f"{source}: truncated file ({len(data)} bytes, need at least 8 for the header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        raise SafetensorsError(f"{source}: header too large ({n} bytes > {MAX_HEADER_BYTES})")
    if 8 + n > len(data):
        raise SafetensorsError(f"{source}: truncated header (declares {n} bytes, file has {len(data) - 8} after length)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{source}: header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: header must be a JSON object")
    return header, 8 + n


def _check_entries(header: dict, buffer_len: int, source: str) -> Dict[str, Tuple[str, Tuple[int, ...], int, int]]:
    entries = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in info.items()):
                raise SafetensorsError(f"{source}: __metadata__ must map strings to strings")
            continue
        if not isinstance(info, dict):
            raise SafetensorsError(f"{source}: entry {name!r} is not an object")
        dtype = info.get("dtype")
        shape = info.get("shape")
        offs = info.get("data_offsets")
        if dtype not in _DTYPES:
            raise SafetensorsError(f"{source}: tensor {name!r} has unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise SafetensorsError(f"{source}: tensor {name!r} has an invalid shape {shape!r}")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)):
            raise SafetensorsError(f"{source}: tensor {name!r} has invalid data_offsets {offs!r}")
        begin, end = offs
        if begin < 0 or end < begin:
            raise SafetensorsError(f"{source}: tensor {name!r} has invalid data_offsets {offs!r}")
        if end > buffer_len:
            raise SafetensorsError(
                f"{source}: tensor {name!r} data_offsets {offs!r} out of range (data buffer is {buffer_len} bytes)")
        numel = 1
        for s in shape:
            numel *= s
        nbytes = numel * _DTYPES[dtype][1]
        if end - begin != nbytes:
            raise SafetensorsError(
                f"{source}: tensor {name!r} spans {end - begin} bytes but dtype {dtype} shape {shape} needs {nbytes}")
        entries[name] = (dtype, tuple(shape), begin, end)
        spans.append((begin, end, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise SafetensorsError(f"{source}: tensors {n0!r} and {n1!r} overlap")
    return entries


def loads(data: bytes, source: str = "<bytes>") -> Dict[str, torch.Tensor]:
    """Parse safetensors bytes into a dict of (CPU, owned) tensors."""
    header, start = _parse_header(data, source)
    buffer = memoryview(data)[start:]
    entries = _check_entries(header, len(buffer), source)
    out: Dict[str, torch.Tensor] = {}
    for name, (dtype, shape, begin, end) in entries.items():
        tdtype, size = _DTYPES[dtype]
        raw = bytes(buffer[begin:end])
        if tdtype == torch.bfloat16:
            # numpy has no bfloat16: go through int16 and reinterpret
            arr = np.frombuffer(raw, dtype="<i2").copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        elif tdtype == torch.bool:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy()).to(torch.bool)
        else:
            np_dtype = np.dtype(str(tdtype).replace("torch.", "")).newbyteorder("<")
            arr = np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder("="), copy=True)
            t = torch.from_numpy(arr)
        out[name] = t.reshape(shape)
    return out


def load_file(path: PathLike) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        data = f.read()
    return loads(data, source=str(path))


def read_metadata(path: PathLike) -> Dict[str, str]:
    with open(path, "rb") as f:
        data = f.read()
    header, _ = _parse_header(data, str(path))
    return dict(header.get("__metadata__", {}))


def dumps(tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Serialise tensors (any device; written contiguous, little-endian) to safetensors bytes."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _TORCH_TO_NAME:
            raise ValueError(f"unsupported dtype {t.dtype} for {name!r}")
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        elif t.dtype == torch.bool:
            raw = t.to(torch.uint8).numpy().tobytes()
        else:
            a = t.numpy()
            raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _TORCH_TO_NAME[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)  # pad header to 8-byte alignment, as the reference writer does
    return struct.pack("<Q", len(hbytes)) + hbytes + b"".join(chunks)


def save_file(tensors: Mapping[str, torch.Tensor], path: PathLike, metadata: Optional[Mapping[str, str]] = None) -> None:
    data = dumps(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
