"""The synthetic world's writers: exact headers, file layout, DICOM readability, boxes inside images."""
import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from sightline_world.case import generate_case
from sightline_world.generate import generate, main
from sightline_world.writers import write_dicom

# Literal headers from docs/datasets.md (deliberately not imported from sightline_world.vocab).
H_META = ("dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,"
          "StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,"
          "PatientOrientationCodeSequence_CodeMeaning")
H_CHEXPERT = ("subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,Fracture,"
              "Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,Pneumothorax,Support Devices")
H_MSCXR = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split"
VINDR_28 = ("Aortic enlargement,Atelectasis,Calcification,Cardiomegaly,Clavicle fracture,Consolidation,Edema,"
            "Emphysema,Enlarged PA,ILD,Infiltration,Lung Opacity,Lung cavity,Lung cyst,Mediastinal shift,Nodule/Mass,"
            "Pleural effusion,Pleural thickening,Pneumothorax,Pulmonary fibrosis,Rib fracture,Other lesion,"
            "COPD,Lung tumor,Pneumonia,Tuberculosis,Other diseases,No finding")
H_VINDR_ANN = "image_id,rad_id,class_name,x_min,y_min,x_max,y_max"
H_VINDR_LAB_TRAIN = "image_id,rad_id," + VINDR_28
H_VINDR_LAB_TEST = "image_id," + VINDR_28
H_IMAGENOME = ("image_id,x1,y1,x2,y2,width,height,bbox_name,annot_id,original_x1,original_x2,original_y1,original_y2,"
               "original_width,original_height,annotator,coord224,coord_original")
CATEGORIES = {"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Lung Opacity", "Pleural Effusion",
              "Pneumonia", "Pneumothorax"}

N = 8


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("world"))
    generate(out, N, seed=11, preset="tiny", progress=False)
    truth = [json.loads(l) for l in open(os.path.join(out, "world", "truth.jsonl"))]
    return out, truth


def first_line(path):
    with open(path, newline="") as fh:
        return fh.readline().rstrip("\n")


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_headers_exact(world):
    out, _ = world
    assert first_line(f"{out}/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv") == H_META
    assert first_line(f"{out}/mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv") == H_CHEXPERT
    assert first_line(f"{out}/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv") == H_MSCXR
    for s in ("train", "test"):
        assert first_line(f"{out}/vindr-cxr/annotations/annotations_{s}.csv") == H_VINDR_ANN
    assert first_line(f"{out}/vindr-cxr/annotations/image_labels_train.csv") == H_VINDR_LAB_TRAIN
    assert first_line(f"{out}/vindr-cxr/annotations/image_labels_test.csv") == H_VINDR_LAB_TEST
    assert len(VINDR_28.split(",")) == 28
    assert first_line(f"{out}/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv") == H_IMAGENOME


def test_mimic_tree(world):
    from PIL import Image
    out, truth = world
    meta = rows(f"{out}/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv")
    assert len(meta) == N
    labels = {(r["subject_id"], r["study_id"]): r for r in rows(f"{out}/mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv")}
    for r in meta:
        subj, study = r["subject_id"], r["study_id"]
        assert len(subj) == 8 and subj[0] == "1" and len(study) == 8
        d = f"{out}/mimic-cxr-jpg/files/p{subj[:2]}/p{subj}"
        im = Image.open(f"{d}/s{study}/{r['dicom_id']}.jpg")
        assert im.mode == "L" and im.format == "JPEG"
        assert im.size == (int(r["Columns"]), int(r["Rows"]))
        rep = open(f"{d}/s{study}.txt").read()
        assert "FINDINGS:" in rep and "IMPRESSION:" in rep
        assert r["ViewPosition"] == "PA"
        lab = labels[(subj, study)]
        assert all(lab[k] in ("", "1.0", "0.0", "-1.0") for k in H_CHEXPERT.split(",")[2:])


def test_mscxr_rows_match_truth(world):
    out, truth = world
    path = f"{out}/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv"
    raw = open(path).read().splitlines()[1:]
    rs = rows(path)
    assert rs and len(raw) == len(rs)
    for line, r in zip(raw, rs):
        assert '"' + r["label_text"].replace('"', '""') + '"' in line  # label_text always quoted
    by_id = {t["ids"]["dicom_id"]: t for t in truth}
    for r in rs:
        t = by_id[r["dicom_id"]]
        assert r["category_name"] in CATEGORIES
        assert os.path.exists(f"{out}/mimic-cxr-jpg/{r['path']}")
        x, y, w, h, W, H = (int(r[k]) for k in ("x", "y", "w", "h", "image_width", "image_height"))
        assert (W, H) == (t["width"], t["height"])
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= W and y + h <= H
        assert [x, y, w, h] in [b for f in t["findings"] if f["finding"] == r["category_name"] for b in f["boxes"].values()]
        assert r["split"] in ("train", "val", "test")


def test_vindr_dicoms_and_annotations(world):
    import pydicom
    out, truth = world
    by_id = {t["ids"]["vindr_image_id"]: t for t in truth}
    n = 0
    for split in ("train", "test"):
        ann = rows(f"{out}/vindr-cxr/annotations/annotations_{split}.csv")
        for f in sorted(os.listdir(f"{out}/vindr-cxr/{split}")):
            n += 1
            iid = f[:-len(".dicom")]
            t = by_id[iid]
            assert t["splits"]["vindr"] == split
            ds = pydicom.dcmread(f"{out}/vindr-cxr/{split}/{f}")
            assert ds.PhotometricInterpretation == t["dicom"]["photometric"]
            assert ds.BitsAllocated == 16 and 12 <= ds.BitsStored <= 16 and ds.HighBit == ds.BitsStored - 1
            a = ds.pixel_array
            assert a.shape == (t["height"], t["width"]) and int(a.max()) <= (1 << ds.BitsStored) - 1
            mine = [r for r in ann if r["image_id"] == iid]
            assert mine
            for r in mine:
                if r["class_name"] == "No finding":
                    assert r["x_min"] == r["y_min"] == r["x_max"] == r["y_max"] == ""
                    assert not t["findings"]
                else:
                    x0, y0, x1, y1 = (float(r[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
                    assert 0 <= x0 < x1 <= t["width"] and 0 <= y0 < y1 <= t["height"]
            if split == "train":
                assert len({r["rad_id"] for r in mine}) == 3
    assert n == N
    labs = rows(f"{out}/vindr-cxr/annotations/image_labels_train.csv") + \
        rows(f"{out}/vindr-cxr/annotations/image_labels_test.csv")
    for r in labs:
        assert all(r[k] in ("0", "1") for k in VINDR_28.split(","))


def test_dicom_photometric_and_bits(tmp_path):
    import pydicom
    case = generate_case(3, 0, "tiny")
    ref = case.image.astype(np.float64)
    for photometric in ("MONOCHROME1", "MONOCHROME2"):
        for bits in (12, 16):
            p = write_dicom(str(tmp_path / f"{photometric}_{bits}.dicom"), case, bits, photometric)
            ds = pydicom.dcmread(p)
            assert ds.PhotometricInterpretation == photometric and ds.BitsStored == bits
            a = ds.pixel_array.astype(np.float64)
            mx = (1 << bits) - 1
            assert a.max() <= mx
            shown = mx - a if photometric == "MONOCHROME1" else a  # MONOCHROME1: inverted storage
            assert np.abs(shown / mx - ref).max() < 1.0 / mx + 1e-6
            assert float(ds.RescaleSlope) == 1.0 and len(ds.PixelSpacing) == 2


def test_imagenome_regions(world):
    out, truth = world
    rs = rows(f"{out}/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv")
    assert len(rs) == 13 * N
    by_id = {t["ids"]["dicom_id"] + ".dcm": t for t in truth}
    for r in rs:
        t = by_id[r["image_id"]]
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        assert 0 <= x1 < x2 <= 224 and 0 <= y1 < y2 <= 224
        assert r["coord224"] == "[%d, %d, %d, %d]" % (x1, y1, x2, y2)
        ox1, ox2, oy1, oy2 = (float(r[k]) for k in ("original_x1", "original_x2", "original_y1", "original_y2"))
        assert 0 <= ox1 < ox2 <= t["width"] and 0 <= oy1 < oy2 <= t["height"]
        assert [ox1, oy1, ox2 - ox1, oy2 - oy1] == t["regions"][r["bbox_name"]]
    names = {r["bbox_name"] for r in rs}
    assert len(names) == 13


def test_cli_progress_and_determinism(tmp_path, capsys):
    outs = []
    for k in range(2):
        d = str(tmp_path / f"w{k}")
        main(["--out", d, "--cases", "2", "--seed", "5", "--preset", "tiny", "--formats", "mimic,mscxr,vindr,imagenome"])
        outs.append(d)
    err = capsys.readouterr().err
    assert "[2/2]" in err and "done: 2 cases" in err

    def digest(d):
        h = {}
        for root, _, files in os.walk(d):
            for f in files:
                p = os.path.join(root, f)
                h[os.path.relpath(p, d)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        return h

    a, b = digest(outs[0]), digest(outs[1])
    assert a == b and len(a) > 10


def test_everything_says_synthetic(tmp_path):
    """Every file with room for free text says SYNTHETIC; the CSVs keep the datasets' exact headers."""
    import pydicom
    from PIL import Image
    out = tmp_path / "w"
    sheet = tmp_path / "sheet.png"
    generate(str(out), 2, seed=4, preset="tiny", progress=False, contact_sheet=str(sheet))
    truth = [json.loads(l) for l in open(out / "world" / "truth.jsonl")]
    assert all(t["synthetic"] is True for t in truth)
    manifest = json.load(open(out / "world" / "manifest.json"))
    assert manifest["synthetic"] is True and manifest["note"].startswith("SYNTHETIC")
    for t in truth:
        rep = open(out / "mimic-cxr-jpg" / t["paths"]["mimic_report"]).read()
        assert rep.splitlines()[0].startswith(" SYNTHETIC:  ") and "no patient data" in rep.splitlines()[0]
        assert rep == t["report"]
        com = Image.open(out / "mimic-cxr-jpg" / t["paths"]["mimic_jpg"]).info["comment"].decode()
        assert com.startswith("SYNTHETIC: ") and com.endswith("[sightline_world seed 4, case %d]" % t["case_index"])
        ds = pydicom.dcmread(out / "vindr-cxr" / t["paths"]["vindr_dicom"])
        assert str(ds.PatientName) == "SYNTHETIC^PHANTOM" and ds.PatientID.startswith("SYNTHETIC-")
        assert ds.ImageComments == com and ds.PatientIdentityRemoved == "YES"
        assert all(v.startswith("SYNTHETIC") for v in (ds.StudyDescription, ds.SeriesDescription,
                                                        ds.DeidentificationMethod))
    coco = json.load(open(out / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.json"))
    assert coco["info"]["description"].startswith("SYNTHETIC")
    im = Image.open(sheet)
    assert im.info["Description"].startswith("SYNTHETIC: ") and "seed 4, preset tiny" in im.info["Description"]


# The committed demo data (resources/demo) and the one command that regenerates it (also in its README.md).
DEMO_ARGS = ["--out", "../resources/demo", "--cases", "16", "--seed", "69", "--preset", "small", "--vindr-max", "2",
             "--contact-sheet", "../resources/demo-contact-sheet.png"]
DEMO_COMMAND = "cd training && /usr/bin/python3 -m sightline_world.generate " + " ".join(DEMO_ARGS)


def _tree_digest(root, skip=()):
    h = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            if rel not in skip:
                h[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return h


def _same_pixels(a, b, max_step=2, max_fraction=1e-3):
    """Images only (text and CSV files must match byte for byte): the same header and pixels up to float rounding.

    The phantoms are float arithmetic rounded to 8/14/16-bit pixels at the end; numpy/scipy builds and CPUs
    differ in the last float bits, which flips a few pixels by one grey level (two after JPEG re-encoding):
    tolerated when at most max_step levels on at most max_fraction of the pixels."""
    a, b = Path(a), Path(b)
    if a.suffix == ".dicom":
        import pydicom
        da, db = pydicom.dcmread(str(a)), pydicom.dcmread(str(b))
        pa, pb = da.pixel_array, db.pixel_array
        del da.PixelData, db.PixelData
        if da != db:
            return False
    elif a.suffix in (".jpg", ".png"):
        from PIL import Image
        with Image.open(a) as ia, Image.open(b) as ib:
            if (ia.format, ia.mode, ia.size, ia.info.keys()) != (ib.format, ib.mode, ib.size, ib.info.keys()):
                return False
            pa, pb = np.asarray(ia), np.asarray(ib)
    else:
        return False
    if pa.shape != pb.shape or pa.dtype != pb.dtype:
        return False
    d = np.abs(pa.astype(np.int64) - pb.astype(np.int64))
    return int(d.max()) <= max_step and float((d > 0).mean()) <= max_fraction


def test_committed_demo_in_sync(tmp_path):
    """resources/demo (and resources/demo-contact-sheet.png) is exactly what the command in its README writes."""
    resources = Path(__file__).resolve().parents[2] / "resources"
    demo = resources / "demo"
    assert DEMO_COMMAND in open(demo / "README.md").read(), "resources/demo/README.md must give the exact command"
    args = dict(zip(DEMO_ARGS[0::2], DEMO_ARGS[1::2]))
    out, sheet = tmp_path / "demo", tmp_path / "demo-contact-sheet.png"
    main(["--out", str(out), "--contact-sheet", str(sheet), "--quiet"]
         + [x for k, v in args.items() if k not in ("--out", "--contact-sheet") for x in (k, v)])
    fresh, committed = _tree_digest(out), _tree_digest(demo, skip={"README.md"})
    assert sorted(committed) == sorted(fresh), "resources/demo has stale or missing files: regenerate it (README.md)"
    stale = [k for k in fresh if fresh[k] != committed[k] and not _same_pixels(out / k, demo / k)]
    assert not stale, "regenerate resources/demo (command in its README.md); differs: %s" % stale
    assert _same_pixels(sheet, resources / "demo-contact-sheet.png"), "regenerate resources/demo-contact-sheet.png"
    assert len(open(demo / "world" / "truth.jsonl").read().splitlines()) == 16
