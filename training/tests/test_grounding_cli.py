"""`python -m sightline_ldm.grounding --model ... --image ... --phrase ...` on the committed demo files."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sightline_ldm.grounding import read_image_file
from sightline_ldm.loading import ModelLoadError, load_grounding_model

from _require import require_module

TRAINING = Path(__file__).resolve().parents[1]
DEMO = TRAINING.parent / "resources" / "demo"
DEMO_MODEL = TRAINING.parent / "models" / "demo"  # the shipped bundle, read through its reference/ torch weights


def _truth():
    return [json.loads(l) for l in (DEMO / "world" / "truth.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("split", ["train", "test"])
def test_dicom_reads_bright_dense_like_the_jpeg_of_the_same_case(split):
    """MONOCHROME1 (train) and MONOCHROME2 (test) come out with dense anatomy bright, like the 8-bit JPEG."""
    pydicom = require_module("pydicom", what="reading the demo DICOMs")
    case = next(t for t in _truth() if t["paths"]["vindr_dicom"].startswith(split + "/")
                and (DEMO / "vindr-cxr" / t["paths"]["vindr_dicom"]).exists())
    dcm = DEMO / "vindr-cxr" / case["paths"]["vindr_dicom"]
    ds = pydicom.dcmread(str(dcm))
    assert ds.PhotometricInterpretation == ("MONOCHROME1" if split == "train" else "MONOCHROME2")
    a = read_image_file(str(dcm))
    b = read_image_file(str(DEMO / "mimic-cxr-jpg" / case["paths"]["mimic_jpg"]))
    assert a.shape == b.shape == (case["height"], case["width"])
    assert a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_cli_writes_heatmaps_at_the_image_size(tmp_path):
    case = _truth()[0]
    image = DEMO / "mimic-cxr-jpg" / case["paths"]["mimic_jpg"]
    proc = subprocess.run([sys.executable, "-m", "sightline_ldm.grounding", "--model", str(DEMO_MODEL), "--image", str(image),
                           "--phrase", "left pleural effusion", "--phrase", "cardiomegaly", "--layers", "2,3",
                           "--num-inference-steps", "10", "--out", str(tmp_path)],
                          cwd=TRAINING, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [r["phrase"] for r in recs] == ["left pleural effusion", "cardiomegaly"]
    from PIL import Image
    for r in recs:
        heat = Image.open(r["heatmap"])
        assert heat.size == (case["width"], case["height"]) and heat.mode.startswith("I")
        assert Image.open(r["overlay"]).size == heat.size
        assert 0 <= r["peak_xy"][0] < case["width"] and 0 <= r["peak_xy"][1] < case["height"]
        assert r["layers"] == [2, 3]


def test_cli_names_a_missing_model_config(tmp_path):
    image = DEMO / "mimic-cxr-jpg" / _truth()[0]["paths"]["mimic_jpg"]
    proc = subprocess.run([sys.executable, "-m", "sightline_ldm.grounding", "--model", str(tmp_path),
                           "--image", str(image), "--phrase", "p"], cwd=TRAINING, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"python -m sightline_ldm.grounding: {tmp_path}: no JSON config")


def test_cli_uses_the_variant_defaults_of_the_model(tmp_path):
    """Without --layers the demo bundle's own 'frozen' layers (manifest grounding defaults) are used."""
    manifest = json.loads((DEMO_MODEL / "manifest.json").read_text())
    image = DEMO / "mimic-cxr-jpg" / _truth()[1]["paths"]["mimic_jpg"]
    proc = subprocess.run([sys.executable, "-m", "sightline_ldm.grounding", "--model", str(DEMO_MODEL), "--image",
                           str(image), "--phrase", "right lower atelectasis", "--num-inference-steps", "10"],
                          cwd=TRAINING, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(proc.stdout)
    assert rec["layers"] == manifest["grounding"]["frozen"]["layers"]
    assert (rec["otsu_threshold"] is not None) == manifest["grounding"]["frozen"]["otsu"]


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n garbage", b"\x00" * 128 + b"DICM" + b"\x00" * 64])
def test_cli_names_an_unreadable_image_before_loading_a_model(tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "sightline_ldm.grounding", "--model", str(tmp_path / "no-model"),
                           "--image", str(bad), "--phrase", "p"], cwd=TRAINING, capture_output=True, text=True)
    assert proc.returncode == 2 and f"{bad}: cannot read the image" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_library_raises_model_load_error_naming_the_source(tmp_path):
    missing_config = f"{tmp_path}: no JSON config with 'autoencoder' and 'unet' found"
    with pytest.raises(ModelLoadError, match=re.escape(missing_config)):
        load_grounding_model(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="an ONNX bundle without reference/ torch weights"):
        load_grounding_model(str(tmp_path))
    with pytest.raises(ModelLoadError, match="not a preset, JSON config or directory"):
        load_grounding_model(str(tmp_path / "nothing-here"))


def test_grounding_library_does_not_load_the_cli_and_loading_imports_cleanly():
    """grounding.py is library only (no import cycle with loading.py); the CLI module holds main()."""
    code = ("import sys, sightline_ldm.loading, sightline_ldm.grounding as g; "
            "assert 'sightline_ldm.grounding_cli' not in sys.modules and not hasattr(g, 'main'); "
            "import sightline_ldm.grounding_cli as c; assert callable(c.main)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=TRAINING, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_check_golden_names_a_missing_fixture_dir(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sightline_ldm.grounding", "--check-golden", str(tmp_path)],
                          cwd=TRAINING, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("python -m sightline_ldm.grounding: ") and "tiny_ldm.pt" in proc.stderr


def test_heat_overlay_leaves_cold_pixels_as_the_image_and_tints_hot_ones():
    from sightline_ldm.image_ops import heat_overlay
    grey = np.array([[0.2, 0.2, 0.2, 0.2]])
    rgb = heat_overlay(grey, np.array([[0.0, np.nan, 0.5, 1.0]]))
    assert rgb.shape == (1, 4, 3)
    assert np.allclose(rgb[0, 0], 0.2) and np.allclose(rgb[0, 1], 0.2)  # cold and NaN: the image unchanged
    assert rgb[0, 2, 0] > rgb[0, 2, 1] > rgb[0, 2, 2]  # half heat: red over yellow over blue
    assert np.allclose(rgb[0, 3], 0.45 * 0.2 + 0.55)  # full heat: white blended at alpha 0.55
