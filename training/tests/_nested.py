"""Comparing a freshly computed vectors file with the committed one (test_grounding_vectors, test_eval_classify,
test_eval_metrics_vectors): the same keys and lengths everywhere, numbers equal to ``atol`` (``None`` only where the
other has ``None``), anything else exactly; a failure names the path to the value, e.g. ``.images[1].z0``."""
import numpy as np


def assert_nested_close(a, b, path="", atol=1e-6) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            assert_nested_close(a[k], b[k], f"{path}.{k}", atol)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        if a and all(isinstance(x, (int, float)) or x is None for x in a):
            x = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
            y = np.array([np.nan if v is None else v for v in b], dtype=np.float64)
            assert np.array_equal(np.isnan(x), np.isnan(y)), path
            np.testing.assert_allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=0, atol=atol, err_msg=path)
        else:
            for i, (p, q) in enumerate(zip(a, b)):
                assert_nested_close(p, q, f"{path}[{i}]", atol)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == b or (a is not None and b is not None and abs(a - b) <= atol), path
    else:
        assert a == b, path
