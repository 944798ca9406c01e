"""sightline_tune.figure: the before/after heatmap examples on the demo bundle and the demo's MS-CXR pairs."""
import json
from pathlib import Path

from PIL import Image

from sightline_tune import figure

from _require import needs

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"
MSCXR = DEMO / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.csv"
BUNDLE = ROOT / "models" / "demo"
VARIANT = BUNDLE / "variants" / "tuned-loc.json"


@needs(MSCXR, what="resources/demo (the synthetic world sample)")
def test_figure_rows_and_scores(tmp_path):
    out, js = tmp_path / "f.png", tmp_path / "f.json"
    rc = figure.main(["--bundle", str(BUNDLE), "--variant", str(VARIANT), "--mscxr", str(MSCXR),
                      "--images-root", str(DEMO / "mimic-cxr-jpg"), "--rows", "2", "--tile", "96",
                      "--out", str(out), "--json", str(js)])
    assert rc == 0
    rows = json.loads(js.read_text())
    assert len(rows) == 2
    for r in rows:
        assert r["swapped"] != r["prompt"] and ("left" in r["prompt"] or "right" in r["prompt"])
        for k in ("frozen", "tuned", "tuned_swapped"):
            assert -5 < r[k]["cnr"] < 10 and 0 <= r[k]["miou"] <= 1
        # the tuned rows change the map of a located prompt
        assert r["tuned"] != r["frozen"]
    w, h = Image.open(out).size
    assert w == 4 * (96 + 4) + 4 and h == 2 * (96 + 28 + 4) + 4


def test_figure_refuses_a_variant_of_another_bundle(tmp_path, capsys):
    doc = json.loads(VARIANT.read_text())
    doc["base_bundle"]["hash"] = "f" * 64
    bad = tmp_path / "v.json"
    bad.write_text(json.dumps(doc))
    rc = figure.main(["--bundle", str(BUNDLE), "--variant", str(bad), "--mscxr", str(MSCXR),
                      "--images-root", str(DEMO / "mimic-cxr-jpg"), "--out", str(tmp_path / "f.png")])
    assert rc == 1
    assert "tune again on this bundle" in capsys.readouterr().err
