"""sightline_eval.metrics: method.md 5.1 on hand-computed small cases and edge cases."""
import itertools

import numpy as np
import pytest

from sightline_eval import metrics as M


def _map():
    """4x4 map with values 0..14 and 19 in the last pixel: thresholds x 19 = 1.9, 3.8, 5.7, 7.6, 9.5 (no ties)."""
    h = np.arange(16, dtype=np.float64).reshape(4, 4)
    h[3, 3] = 19
    return h


BOX = (0, 0, 2, 2)  # inside values 0, 1, 4, 5


def test_cnr_hand_computed():
    # min-max normalisation divides everything by 19: CNR is scale-free, so compute on raw values
    mu_in, var_in = 2.5, 4.25  # {0,1,4,5}: deviations +-2.5, +-1.5
    out = [2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 19]
    mu_out = 114 / 12
    var_out = sum(v * v for v in out) / 12 - mu_out ** 2
    want = (mu_in - mu_out) / np.sqrt(var_in + var_out)
    assert want == pytest.approx(-7 / np.sqrt(4.25 + 1334 / 12 - 9.5 ** 2))
    s = M.score_pair(_map(), [BOX])
    assert s["cnr"] == pytest.approx(want, abs=1e-12)
    assert s["cnr"] < 0  # signed


def test_miou_and_auc_hand_computed():
    s = M.score_pair(_map(), [BOX])
    # thr 0.1: pred = values > 1.9 (14 px), inter {4,5}, union 16; thr 0.2: 12 px, inter 2, union 14; rest 0
    assert s["miou"] == pytest.approx((2 / 16 + 2 / 14) / 5, abs=1e-12)
    # positives {0,1,4,5} vs 12 negatives: 4 and 5 beat {2,3} -> U = 4 of 48
    assert s["auc"] == pytest.approx(4 / 48, abs=1e-12)


def test_normalisation_first_and_affine_invariance():
    a = M.score_pair(_map(), [BOX])
    b = M.score_pair(_map() * 3.0 + 7.0, [BOX])
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-12)
    n = M.normalise(np.array([[2.0, np.nan], [4.0, 3.0]]))
    assert np.isnan(n[0, 1]) and n[0, 0] == 0 and n[1, 0] == 1 and n[1, 1] == 0.5


def test_multi_box_cnr_mean_and_union_mask():
    h = _map()
    b2 = (2, 2, 2, 2)
    s = M.score_pair(h, [BOX, b2])
    hn = M.normalise(h)
    assert s["cnr"] == pytest.approx((M.cnr_box(hn, BOX) + M.cnr_box(hn, b2)) / 2)
    m = M.box_mask([BOX, b2], (4, 4))
    assert m.sum() == 8 and m[:2, :2].all() and m[2:, 2:].all()


def test_box_mask_conventions():
    m = M.box_mask([(1, 0, 2, 3)], (4, 5))  # mask[y:y+h, x:x+w]
    want = np.zeros((4, 5), bool)
    want[0:3, 1:3] = True
    assert (m == want).all()
    assert not M.box_mask([(10, 10, 3, 3)], (4, 5)).any()  # fully outside the image
    assert M.box_mask([(-2, -2, 3, 3)], (4, 5)).sum() == 1  # clipped


def test_nan_padding_is_ignored_and_box_outside_crop():
    h = np.full((4, 6), np.nan)
    h[:, 1:5] = _map()  # NaN columns 0 and 5 (crop margins)
    inner = M.score_pair(_map(), [BOX])
    padded = M.score_pair(h, [(1, 0, 2, 2)])
    assert padded["cnr"] == pytest.approx(inner["cnr"])
    assert padded["auc"] == pytest.approx(inner["auc"])
    # a box entirely in the NaN margin: CNR undefined -> 0; IoU 0 (mask pixels are never predicted); AUC 0.5
    s = M.score_pair(h, [(5, 0, 1, 4)])
    assert s == {"cnr": 0.0, "miou": 0.0, "auc": 0.5}
    # half inside the crop: only the non-NaN pixels count for CNR, but the whole box is in the mask
    s = M.score_pair(h, [(0, 0, 3, 2)])
    assert s["cnr"] == pytest.approx(M.cnr_box(M.normalise(h), (1, 0, 2, 2)))
    assert s["miou"] < inner["miou"]


def test_all_nan_and_constant_maps():
    assert M.score_pair(np.full((4, 4), np.nan), [BOX]) == {"cnr": 0.0, "miou": 0.0, "auc": 0.5}
    assert M.score_pair(np.full((4, 4), 0.7), [BOX]) == {"cnr": 0.0, "miou": 0.0, "auc": 0.5}
    # box covering the whole image: no outside pixels -> CNR 0
    assert M.score_pair(_map(), [(0, 0, 4, 4)])["cnr"] == 0.0


def test_auc_ties_and_brute_force():
    assert M.auc_roc(np.array([1, 1, 1, 1.0]), np.array([1, 0, 1, 0])) == 0.5
    assert M.auc_roc(np.array([0, 1, 1, 2.0]), np.array([0, 1, 0, 1])) == pytest.approx(3.5 / 4)
    assert M.auc_roc(np.array([0.1, 0.2]), np.array([1, 1])) == 0.5
    rng = np.random.default_rng(3)
    s = rng.integers(0, 5, 60).astype(float)
    y = rng.random(60) < 0.3
    pos, neg = s[y], s[~y]
    brute = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)])
    assert M.auc_roc(s, y) == pytest.approx(brute, abs=1e-12)


def test_class_mean_is_unweighted():
    mean, per = M.class_mean([1, 2, 3], ["a", "a", "b"])
    assert per == {"a": 1.5, "b": 3.0} and mean == 2.25


def test_bootstrap_seeded_and_covers_mean():
    rng = np.random.default_rng(0)
    vals = rng.normal(1.0, 0.5, 300)
    cls = np.array(list("abc"))[rng.integers(0, 3, 300)]
    s1 = M.summarise(vals, cls, "cnr", n_boot=10000, seed=5)
    s2 = M.summarise(vals, cls, "cnr", n_boot=10000, seed=5)
    assert (s1.lo, s1.hi) == (s2.lo, s2.hi)
    assert s1.lo < s1.mean < s1.hi
    # the CI of a class mean of ~300 N(1, 0.5) values is about +-1.96 * 0.5 / sqrt(300) wide
    assert 0.08 < s1.hi - s1.lo < 0.15
    for k, (m, lo, hi, n) in s1.per_class.items():
        assert lo < m < hi and n == int((cls == k).sum())
    # constant values -> degenerate CI
    s = M.summarise([0.3] * 10, ["a"] * 5 + ["b"] * 5, n_boot=200)
    assert s.lo == pytest.approx(0.3) and s.hi == pytest.approx(0.3)


def test_bootstrap_resamples_pairs_not_classes():
    # a class with one pair is absent from ~37% of resamples: those resamples average the other classes only
    stats, per = M.bootstrap_class_mean([0.0, 0.0, 0.0, 10.0], ["a", "a", "a", "b"], n_boot=2000, seed=1)
    absent = np.isnan(per["b"])
    assert 0.25 < absent.mean() < 0.5
    only_b = per["b"] == 10.0
    only_b &= np.isnan(per["a"])  # all four draws were the "b" pair (p = 1/256)
    assert np.all(stats[absent] == 0.0) and np.all(stats[~absent & ~only_b] == 5.0) and np.all(stats[only_b] == 10.0)


def test_summarise_records():
    recs = [{"category": "a", "cnr": 1.0, "miou": 0.2, "auc": 0.6}, {"category": "b", "cnr": 3.0, "miou": 0.4,
                                                                     "auc": 0.8}]
    s = M.summarise_records(recs, n_boot=100)
    assert s["cnr"].mean == 2.0 and s["miou"].mean == pytest.approx(0.3) and s["auc"].n == 2
    assert s["cnr"].as_dict()["per_class"]["a"]["n"] == 1
