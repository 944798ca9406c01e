"""test/vectors/eval-metrics.json is what sightline_eval.metrics computes (the app's TypeScript metrics check the
same file: test/unit/evaluation/metrics/vectors.test.ts), and the bootstrap generator is MurmurHash3_x86_32."""
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from _nested import assert_nested_close
from _require import needs
from sightline_eval import metrics as M
from sightline_eval import metrics_vectors as V

VECTORS = Path(__file__).resolve().parents[2] / "test" / "vectors" / "eval-metrics.json"


@needs(VECTORS, what="the shared metrics test vectors")
def test_committed_vectors_are_what_the_reference_computes():
    committed = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert committed["generated_by"] == V.COMMAND
    assert_nested_close(json.loads(V.dumps(V.build())), committed, atol=1e-12)


@needs(VECTORS, what="the shared metrics test vectors")
def test_vectors_cover_the_edge_cases_the_brief_lists():
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    pairs = data["pairs"]
    assert any(all(v is None for v in p["heatmap"]) for p in pairs)  # all-NaN
    assert any(len(p["boxes"]) >= 3 for p in pairs)
    assert any(b[0] % 1 == 0.5 or (b[1] + b[3]) % 1 == 0.5 for p in pairs for b in p["boxes"])  # rounding on .5
    assert any(b[0] < 0 or b[0] + b[2] > p["width"] for p in pairs for b in p["boxes"])  # partly outside
    assert max(p["width"] * p["height"] for p in pairs) == 1600
    assert {p["dtype"] for p in pairs} == {"float32", "float64"}
    assert len(data["evaluate"]["pairs"]) >= 4 and data["evaluate"]["n_boot"] == 1000


def _murmur3_32(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 written plainly from its definition (any length)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    rot = lambda x, r: ((x << r) | (x >> (32 - r))) & mask  # noqa: E731
    h, nblocks = seed & mask, len(data) // 4
    for j in range(nblocks):
        k = int.from_bytes(data[4 * j:4 * j + 4], "little")
        k = rot((k * c1) & mask, 15) * c2 & mask
        h = (rot(h ^ k, 13) * 5 + 0xE6546B64) & mask
    tail = data[4 * nblocks:]
    if tail:
        k = int.from_bytes(tail, "little")
        h ^= rot((k * c1) & mask, 15) * c2 & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def test_the_plain_murmur3_gives_the_published_values():
    assert _murmur3_32(b"", 0) == 0 and _murmur3_32(b"", 1) == 0x514E28B7
    assert _murmur3_32(b"test", 0) == 0xBA6BD213
    assert _murmur3_32(b"Hello, world!", 1234) == 0xFAF6CDB3
    assert _murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747B28C) == 0x2FA826CD


@pytest.mark.parametrize("seed", [0, 1, 2026, 2 ** 32 - 1])
def test_bootstrap_hash_is_murmur3_of_resample_and_draw(seed):
    b = np.array([0, 1, 2, 77, 9999, 2 ** 31, 2 ** 32 - 1])
    i = np.array([0, 1, 5, 1000, 2 ** 21 - 1, 2 ** 32 - 1])
    h = M.bootstrap_hash(seed, b, i)
    assert h.dtype == np.uint32 and h.shape == (7, 6)
    for r, bb in enumerate(b):
        for c, ii in enumerate(i):
            assert int(h[r, c]) == _murmur3_32(struct.pack("<II", int(bb), int(ii)), seed)


def test_bootstrap_indices_multiply_shift_and_bounds():
    h = M.bootstrap_hash(5, np.arange(4), np.arange(37))
    idx = M.bootstrap_indices(5, 0, 4, 37)
    assert np.array_equal(idx, (h.astype(np.uint64) * 37) >> 32)
    assert np.array_equal(M.bootstrap_indices(5, 2, 2, 37), idx[2:])  # resample b does not depend on the chunk
    for bad in (-1, 2 ** 32, 1.5):
        with pytest.raises(ValueError, match="seed"):
            M.bootstrap_hash(bad, np.arange(1), np.arange(1))
    with pytest.raises(ValueError, match="pairs"):
        M.bootstrap_indices(0, 0, 1, 2 ** 21 + 1)


def test_bootstrap_draws_look_uniform_and_independent():
    n, m = 50, 4000
    idx = M.bootstrap_indices(0, 0, m, n)
    counts = np.bincount(idx.ravel(), minlength=n)
    expected = m  # m * n draws over n values
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 100, chi2  # 49 degrees of freedom: p < 1e-5 above ~100
    # consecutive draws of a resample and the same draw of consecutive resamples are uncorrelated
    x = idx.astype(np.float64)
    for a, b in ((x[:, :-1], x[:, 1:]), (x[:-1], x[1:])):
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < 0.01, r
    # no two resamples identical (with n = 50 the chance is nil)
    assert len({tuple(row) for row in idx}) == m


def test_summarise_chunking_does_not_change_the_draws():
    rng = np.random.default_rng(4)
    v, c = rng.random(40), list("abcd" * 10)
    a, pa = M.bootstrap_class_mean(v, c, n_boot=500, seed=9, chunk=1000)
    b, pb = M.bootstrap_class_mean(v, c, n_boot=500, seed=9, chunk=37)
    assert np.array_equal(a, b) and all(np.array_equal(pa[k], pb[k], equal_nan=True) for k in pa)


def test_bootstrap_matches_a_plain_loop():
    """The vectorised bootstrap is the definition: resample b = the pairs index(seed, b, i), i = 0..n-1."""
    rng = np.random.default_rng(5)
    v = rng.normal(size=13)
    c = ["x", "y", "y", "z"] * 3 + ["w"]
    stats, per = M.bootstrap_class_mean(v, c, n_boot=50, seed=123)
    for b in range(50):
        draws = [int(_murmur3_32(struct.pack("<II", b, i), 123)) * 13 >> 32 for i in range(13)]
        means = {}
        for k in sorted(set(c)):
            own = [v[j] for j in draws if c[j] == k]
            means[k] = sum(own) / len(own) if own else math.nan
            assert (math.isnan(per[k][b]) and not own) or per[k][b] == pytest.approx(means[k], abs=1e-12)
        present = [m for m in means.values() if not math.isnan(m)]
        assert stats[b] == pytest.approx(sum(present) / len(present), abs=1e-12)
