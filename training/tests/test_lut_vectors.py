"""test/vectors/lut-demo.json is what sightline_eval.lut builds and renders (the app's builder checks the same file:
test/unit/evaluation/lut/vectors.test.ts), the shipped demo LUT (models/demo/lut.json) is what it builds from the
shipped CSVs, and bad input is refused naming the file, line and column."""
import json
from pathlib import Path

import pytest

from _require import needs
from sightline_eval import lut as L
from sightline_eval import lut_vectors as V

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "test" / "vectors" / "lut-demo.json"
SHIPPED = ROOT / "models" / "demo" / "lut.json"
GOLD = ROOT / V.DEMO_GOLD


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert list(a) == list(b), path  # same keys in the same order
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (p, q) in enumerate(zip(a, b)):
            _close(p, q, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), f"{path}: {a} != {b}"
    else:
        assert a == b, path


@needs(VECTORS, GOLD, what="the shared LUT vectors and the demo data")
def test_committed_vectors_are_what_the_reference_builds():
    committed = json.loads(VECTORS.read_text())
    fresh = json.loads(json.dumps(V.vectors(str(ROOT))))
    _close(fresh, committed)
    names = [c["name"] for c in committed["cases"]]
    assert "demo-128-metadata" in names and "tiny-300-inferred" in names
    tiny = next(c for c in committed["cases"] if c["name"] == "tiny-512-metadata")["lut"]
    # a1 inferred, b2 and e5 given (one without ".dcm"), c3 skipped; two trachea rows only counted
    assert tiny["image_size_source"] == {"given": 2, "inferred_224": 1, "skipped": 1}
    assert tiny["rows"] == {"read": 11, "used": 8, "unknown_region": 2}


@needs(SHIPPED, GOLD, what="the shipped demo LUT and the demo data")
def test_shipped_demo_lut_is_built_from_the_shipped_csv():
    manifest = json.loads((ROOT / "models" / "demo" / "manifest.json").read_text())
    fresh = L.build_from_files(str(GOLD), [str(ROOT / V.DEMO_METADATA)], [], manifest["image"]["size"])
    _close(json.loads(json.dumps(fresh)), L.load_lut(str(SHIPPED)))


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return str(p)


def test_missing_columns_are_named(tmp_path):
    p = _write(tmp_path, "gold.csv", "image_id,x1,y1,bbox_name\na.dcm,1,2,right lung\n")
    with pytest.raises(L.LutInputError) as e:
        L.read_imagenome(p)
    assert str(e.value).startswith(p) and "x2, y2, original_x1, original_y1, original_x2, original_y2" in str(e.value)
    m = _write(tmp_path, "meta.csv", "dicom_id,Rows\nb2,10\n")
    with pytest.raises(L.LutInputError, match="missing column\\(s\\) Columns"):
        L.read_mimic_metadata_sizes(m)


def test_bad_numbers_name_file_line_and_column(tmp_path):
    lines = V.TINY_IMAGENOME.splitlines()
    lines[4] = lines[4].replace(",500,800,", ",5OO,800,")  # the cardiac silhouette row, line 5
    p = _write(tmp_path, "gold.csv", "\n".join(lines) + "\n")
    with pytest.raises(L.LutInputError) as e:
        L.read_imagenome(p)
    assert str(e.value) == f"{p}: line 5, column 10 (original_x1): '5OO' is not a number"
    for bad, shown in (("nan", "'nan'"), ("", "empty"), ("1_0", "'1_0'")):
        lines2 = V.TINY_IMAGENOME.splitlines()
        lines2[1] = lines2[1].replace(",150,550,", f",{bad},550,")
        q = _write(tmp_path, "gold2.csv", "\n".join(lines2) + "\n")
        with pytest.raises(L.LutInputError, match=f"line 2, column 10 \\(original_x1\\): {shown}"):
            L.read_imagenome(q)
    m = _write(tmp_path, "meta.csv", "dicom_id,Rows,Columns\nb2,1000,800\nc3,12x,800\n")
    with pytest.raises(L.LutInputError, match="meta.csv: line 3, column 2 \\(Rows\\): '12x' is not a number"):
        L.read_mimic_metadata_sizes(m)
    m2 = _write(tmp_path, "meta2.csv", "dicom_id,Rows,Columns\nb2,0,800\n")
    with pytest.raises(L.LutInputError, match="line 2, column 2 \\(Rows\\): '0' is not a positive image size"):
        L.read_mimic_metadata_sizes(m2)
    assert L.main(["--imagenome", p, "--out", str(tmp_path / "x.json")]) == 1
    assert not (tmp_path / "x.json").exists()


def test_line_numbers_count_physical_lines_and_csv_dialects_agree(tmp_path):
    # the app's reader gives the same messages (test/unit/evaluation/lut/read.test.ts)
    lines = V.TINY_IMAGENOME.split("\n")
    lines[1] = lines[1].replace('"[28, 47, 103, 177]"', '"[28, 47,\n103, 177]"')  # record 1 ends on line 3
    lines[2] = lines[2].replace(",650,1050,", ",x,1050,")
    p = _write(tmp_path, "multi.csv", "\n".join(lines))
    with pytest.raises(L.LutInputError, match="line 4, column 10 \\(original_x1\\): 'x' is not a number"):
        L.read_imagenome(p)
    l3 = V.TINY_IMAGENOME.split("\n")
    l3[2] = l3[2].replace("a1.dcm,121,", "a1.dcm,12 1,")
    q = _write(tmp_path, "space.csv", "\n".join(l3))
    with pytest.raises(L.LutInputError, match="line 3, column 2 \\(x1\\): '12 1' is not a number"):
        L.read_imagenome(q)
    crlf = L.build_lut(L.read_imagenome(_write(tmp_path, "crlf.csv", V.TINY_IMAGENOME.replace("\n", "\r\n"))))
    assert crlf == L.build_lut(L.read_imagenome(_write(tmp_path, "lf.csv", V.TINY_IMAGENOME)))
    assert crlf["rows"] == {"read": 11, "used": 7, "unknown_region": 2}
