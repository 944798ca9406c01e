import json
import struct

import pytest
import torch

from sightline_ldm.safetensors_io import (SafetensorsError, dumps, load_file, loads, read_metadata,
                                          save_file)


def _make(header: dict, buffer: bytes, header_len=None) -> bytes:
    h = json.dumps(header).encode()
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + buffer


def test_hand_made_file_f32_i64():
    f32 = struct.pack("<4f", 1.0, -2.5, 3.25, 0.0)
    i64 = struct.pack("<2q", -7, 2 ** 40)
    data = _make({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                  "b": {"dtype": "I64", "shape": [2], "data_offsets": [16, 32]},
                  "__metadata__": {"format": "pt"}}, f32 + i64)
    out = loads(data)
    assert set(out) == {"a", "b"}
    assert out["a"].dtype == torch.float32 and out["a"].tolist() == [[1.0, -2.5], [3.25, 0.0]]
    assert out["b"].dtype == torch.int64 and out["b"].tolist() == [-7, 2 ** 40]


def test_hand_made_f16_bf16_scalar_and_empty():
    f16 = struct.pack("<e", 1.5)  # half precision
    bf16 = struct.pack("<H", 0x3FC0)  # bfloat16 1.5
    data = _make({"h": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]},
                  "b": {"dtype": "BF16", "shape": [1], "data_offsets": [2, 4]},
                  "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}}, f16 + bf16)
    out = loads(data)
    assert out["h"].dtype == torch.float16 and out["h"].shape == () and float(out["h"]) == 1.5
    assert out["b"].dtype == torch.bfloat16 and float(out["b"][0]) == 1.5
    assert out["e"].shape == (0, 3)


def test_round_trip(tmp_path):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "w": torch.randn(3, 5, generator=g),
        "h": torch.randn(4, generator=g).half(),
        "bf": torch.randn(2, 2, generator=g).bfloat16(),
        "ids": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "i32": torch.tensor([1, -2], dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False]),
        "d": torch.randn(3, dtype=torch.float64, generator=g),
        "nc": torch.randn(4, 3, generator=g).t(),  # non-contiguous
    }
    p = tmp_path / "x.safetensors"
    save_file(tensors, p, metadata={"k": "v"})
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    back = load_file(p)
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        assert torch.equal(back[k], v), k
    assert read_metadata(p) == {"k": "v"}


@pytest.mark.parametrize("data,match", [
    (b"\x01\x02", "truncated file"),
    (struct.pack("<Q", 200 * 1024 * 1024) + b"{}", "header too large"),
    (struct.pack("<Q", 100) + b"{}", "truncated header"),
    (struct.pack("<Q", 3) + b"{x}", "not valid UTF-8 JSON"),
    (struct.pack("<Q", 2) + b"[]", "must be a JSON object"),
])
def test_rejects_malformed_headers(data, match):
    with pytest.raises(SafetensorsError, match=match):
        loads(data)


@pytest.mark.parametrize("entry,buffer,match", [
    ({"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, b"\x00" * 8, "out of range"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}, b"\x00" * 12, "needs 8"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}, b"\x00" * 8, "invalid data_offsets"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0]}, b"\x00" * 8, "invalid data_offsets"),
    ({"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}, b"\x00" * 8, "unsupported dtype"),
    ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, b"\x00" * 8, "invalid shape"),
])
def test_rejects_bad_entries(entry, buffer, match):
    with pytest.raises(SafetensorsError, match=match):
        loads(_make({"t": entry}, buffer))


def test_rejects_overlap():
    data = _make({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\x00" * 12)
    with pytest.raises(SafetensorsError, match="overlap"):
        loads(data)


def test_truncated_data_in_file(tmp_path):
    data = dumps({"w": torch.ones(10)})
    p = tmp_path / "t.safetensors"
    p.write_bytes(data[:-4])
    with pytest.raises(SafetensorsError, match="out of range"):
        load_file(p)
