"""test/vectors/grounding-ops.json is what sightline_ldm.schedule and image_ops compute (the TypeScript runtime's
test checks the same file: test/unit/grounding/ops.test.ts)."""
import json
from pathlib import Path

import numpy as np

from _nested import assert_nested_close
from _require import needs
from sightline_ldm.grounding_vectors import ops_vectors

OPS = Path(__file__).resolve().parents[2] / "test" / "vectors" / "grounding-ops.json"


@needs(OPS, what="the shared grounding test vectors")
def test_committed_ops_vectors_match_the_reference():
    committed = json.loads(OPS.read_text())
    committed.pop("generated_by")
    assert_nested_close(json.loads(json.dumps(ops_vectors())), committed)


PARITY = OPS.parent / "grounding-demo"


@needs(PARITY / "index.json", PARITY / "maps.f32", what="the shared grounding parity vectors")
def test_committed_parity_maps_are_the_reference_pipeline_output():
    """The first image's maps, recomputed (the TypeScript parity test checks all of them against the ONNX runtime)."""
    from sightline_ldm.grounding_vectors import parity_vectors

    index = json.loads((PARITY / "index.json").read_text())
    committed = np.fromfile(PARITY / "maps.f32", dtype="<f4")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        fresh_index = parity_vectors(Path(tmp), images=index["images"][:1])
        fresh = np.fromfile(Path(tmp) / "maps.f32", dtype="<f4")
    n = index["size"] ** 2
    assert fresh_index["bundle_manifest_sha256"] == index["bundle_manifest_sha256"], "the demo bundle changed: regenerate"
    for case in fresh_index["cases"]:
        ref = next(c for c in index["cases"] if (c["image"], c["variant"], c["phrase"]) == (case["image"], case["variant"], case["phrase"]))
        np.testing.assert_allclose(fresh[case["offset"]:case["offset"] + n], committed[ref["offset"]:ref["offset"] + n], atol=1e-5, rtol=0)
        assert (case["threshold"] is None) == (ref["threshold"] is None)
