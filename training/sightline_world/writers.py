"""Writers in the real datasets' formats (docs/datasets.md): MIMIC-CXR-JPG, MS-CXR, VinDr-CXR, Chest ImaGenome.

Each writer gets cases one by one (`add`) and writes its CSVs on `close`. Boxes are the ground truth of
the case (`case.truth`), in original pixels.
"""
import csv
import hashlib
import json
import os

import numpy as np
from PIL import Image

from . import SYNTHETIC, SYNTHETIC_NOTE
from .vocab import (CHEXPERT_LABELS, FINDING_TO_VINDR, IMAGENOME_GOLD_HEADER, MIMIC_CHEXPERT_HEADER,
                    MIMIC_METADATA_HEADER, MSCXR_HEADER, REGIONS, VINDR_ANNOTATION_HEADER,
                    VINDR_IMAGE_LABELS_TEST_HEADER, VINDR_IMAGE_LABELS_TRAIN_HEADER, VINDR_LABELS)

FORMATS = ("mimic", "mscxr", "vindr", "imagenome")
EXTRA_FORMATS = ("png",)  # not a real dataset: png/{dicom_id}.png at 8 or 16 bit, for model training


def _h(*parts):
    return int(hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12], 16)


def _write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def synthetic_label(truth):
    """'SYNTHETIC: <note> [seed S, case K]': the marking of every file that has room for free text."""
    return "%s: %s [sightline_world seed %d, case %d]" % (SYNTHETIC, SYNTHETIC_NOTE, truth["seed"], truth["case_index"])


def mimic_paths(truth):
    ids = truth["ids"]
    subj, study, did = str(ids["subject_id"]), str(ids["study_id"]), ids["dicom_id"]
    d = "files/p%s/p%s/s%s" % (subj[:2], subj, study)
    return d + "/" + did + ".jpg", d + ".txt"


class MimicWriter:
    def __init__(self, out):
        self.out = out
        self.meta, self.labels = [], []

    def add(self, case):
        t = case.truth
        jpg, txt = mimic_paths(t)
        p = os.path.join(self.out, jpg)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        Image.fromarray(case.pixels(8), mode="L").save(p, quality=90, comment=synthetic_label(t).encode("ascii"))
        with open(os.path.join(self.out, txt), "w") as fh:
            fh.write(t["report"])
        h = _h(t["seed"], t["case_index"], "date")
        date = "%04d%02d%02d" % (2110 + h % 90, 1 + (h >> 8) % 12, 1 + (h >> 12) % 28)
        tm = "%02d%02d%02d.%03d" % ((h >> 16) % 24, (h >> 20) % 60, (h >> 26) % 60, (h >> 32) % 1000)
        ids = t["ids"]
        self.meta.append([ids["dicom_id"], ids["subject_id"], ids["study_id"], "CHEST (PA AND LAT)", "PA",
                          t["height"], t["width"], date, tm, "CHEST (PA AND LAT)", "postero-anterior", "Erect"])
        lab = t["chexpert"]
        self.labels.append([ids["subject_id"], ids["study_id"]] + [lab[k] for k in CHEXPERT_LABELS])

    def close(self):
        _write_csv(os.path.join(self.out, "mimic-cxr-2.0.0-metadata.csv"), MIMIC_METADATA_HEADER, self.meta)
        _write_csv(os.path.join(self.out, "mimic-cxr-2.0.0-chexpert.csv"), MIMIC_CHEXPERT_HEADER, self.labels)


def mscxr_rows(truth):
    """One row per box of every positive FINDINGS phrase."""
    rows = []
    jpg, _ = mimic_paths(truth)
    for s in truth["sentences"]:
        if s["section"] != "FINDINGS" or s["certainty"] not in ("positive", "uncertain") or not s["box_ids"]:
            continue
        text = s["text"].rstrip(".")
        for bid in s["box_ids"]:
            x, y, w, h = truth["boxes"][bid]
            rows.append([truth["ids"]["dicom_id"], s["finding"], text, jpg, x, y, w, h,
                         truth["width"], truth["height"], truth["splits"]["mscxr"]])
    return rows


class MsCxrWriter:
    NAME = "MS_CXR_Local_Alignment_v1.1.0"

    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, case):
        self.rows += mscxr_rows(case.truth)

    def close(self):
        os.makedirs(self.out, exist_ok=True)
        with open(os.path.join(self.out, self.NAME + ".csv"), "w", newline="") as fh:
            fh.write(",".join(MSCXR_HEADER) + "\n")
            for r in self.rows:
                label = '"' + r[2].replace('"', '""') + '"'
                fh.write(",".join([r[0], r[1], label] + [str(v) for v in r[3:]]) + "\n")
        # the COCO-style companion file
        cats = sorted({r[1] for r in self.rows})
        cat_id = {c: i + 1 for i, c in enumerate(cats)}
        images, img_id, anns = [], {}, []
        for r in self.rows:
            if r[3] not in img_id:
                img_id[r[3]] = len(img_id) + 1
                images.append({"id": img_id[r[3]], "file_name": r[3], "width": r[8], "height": r[9],
                               "dicom_id": r[0], "split": r[10]})
            anns.append({"id": len(anns) + 1, "image_id": img_id[r[3]], "category_id": cat_id[r[1]],
                         "bbox": [r[4], r[5], r[6], r[7]], "area": r[6] * r[7], "iscrowd": 0, "label_text": r[2]})
        coco = {"info": {"description": "%s: %s (MS-CXR style boxes of the Sightline synthetic world)"
                                        % (SYNTHETIC, SYNTHETIC_NOTE), "contributor": "sightline_world"},
                "images": images, "annotations": anns,
                "categories": [{"id": i, "name": c} for c, i in cat_id.items()]}
        with open(os.path.join(self.out, self.NAME + ".json"), "w") as fh:
            json.dump(coco, fh, indent=1)


def vindr_labels(truth):
    lab = {k: 0 for k in VINDR_LABELS}
    for f in truth["findings"]:
        lab[FINDING_TO_VINDR[f["finding"]]] = 1
        if f["finding"] == "Pneumonia":
            lab["Pneumonia"] = 1
    if not truth["findings"]:
        lab["No finding"] = 1
    return lab


def write_dicom(path, case, bits=None, photometric=None):
    """One VinDr-style DICOM (uncompressed explicit VR little endian)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    t = case.truth
    dc = t["dicom"]
    bits = bits or dc["bits_stored"]
    photometric = photometric or dc["photometric"]
    key = [str(t["seed"]), str(t["case_index"]), t["ids"]["vindr_image_id"]]
    sop_class = {"CR": "1.2.840.10008.5.1.4.1.1.1", "DX": "1.2.840.10008.5.1.4.1.1.1.1"}[dc["modality"]]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=key + ["sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid(entropy_srcs=["sightline-world"])
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=key + ["study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=key + ["series"])
    ds.Modality = dc["modality"]
    # A phantom, not a patient: say so where a viewer shows it (patient name, descriptions, comments).
    ds.PatientName = "%s^PHANTOM" % SYNTHETIC
    ds.PatientID = "%s-%s" % (SYNTHETIC, t["ids"]["vindr_image_id"][:12])
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "%s phantom, no patient data" % SYNTHETIC  # LO: 64 characters at most
    ds.StudyDescription = "%s CHEST PA" % SYNTHETIC
    ds.ImageComments = synthetic_label(t)
    ds.BurnedInAnnotation = "NO"
    ds.PatientSex = "F" if t["anatomy"]["female"] else "M"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.SeriesDescription = "%s Sightline synthetic world phantom" % SYNTHETIC
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = t["height"], t["width"]
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    spacing = round(300.0 / (2 * t["anatomy"]["half_thorax_px"]), 4)  # ~30 cm thorax
    ds.PixelSpacing = [spacing, spacing]
    ds.ImagerPixelSpacing = [spacing, spacing]
    px = case.pixels(bits).astype(np.uint16)
    mx = (1 << bits) - 1
    centre, width = 0.55 * mx, 0.9 * mx
    if photometric == "MONOCHROME1":
        px = (mx - px).astype(np.uint16)
        centre = mx - centre
    ds.WindowCenter = str(int(round(centre)))
    ds.WindowWidth = str(int(round(width)))
    ds.PixelData = px.tobytes()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)
    return path


class VinDrWriter:
    def __init__(self, out, max_images=None):
        self.out = out
        self.max_images = max_images
        self.n = 0
        self.ann = {"train": [], "test": []}
        self.lab = {"train": [], "test": []}

    def add(self, case):
        if self.max_images is not None and self.n >= self.max_images:
            return
        self.n += 1
        t = case.truth
        split = t["splits"]["vindr"]
        iid = t["ids"]["vindr_image_id"]
        write_dicom(os.path.join(self.out, split, iid + ".dicom"), case)
        lab = vindr_labels(t)
        rng = np.random.default_rng(_h(t["seed"], t["case_index"], "vindr"))
        if split == "train":
            readers = ["R%d" % r for r in sorted(rng.choice(np.arange(1, 18), 3, replace=False))]
        else:
            readers = [""]  # test: 5-reader consensus, no single reader
        for rad in readers:
            jit = 0.0 if split == "test" else 0.03
            if not t["findings"]:
                self.ann[split].append([iid, rad, "No finding", None, None, None, None])
            for f in t["findings"]:
                for bid, (x, y, w, h) in f["boxes"].items():
                    d = rng.normal(0, jit, 4) * np.array([w, h, w, h])
                    x0 = float(np.clip(x + d[0], 0, t["width"]))
                    y0 = float(np.clip(y + d[1], 0, t["height"]))
                    x1 = float(np.clip(x + w + d[2], x0 + 1, t["width"]))
                    y1 = float(np.clip(y + h + d[3], y0 + 1, t["height"]))
                    self.ann[split].append([iid, rad, FINDING_TO_VINDR[f["finding"]],
                                            "%.1f" % x0, "%.1f" % y0, "%.1f" % x1, "%.1f" % y1])
            if split == "train":
                self.lab[split].append([iid, rad] + [lab[k] for k in VINDR_LABELS])
        if split == "test":
            self.lab[split].append([iid] + [lab[k] for k in VINDR_LABELS])

    def close(self):
        a = os.path.join(self.out, "annotations")
        for split in ("train", "test"):
            os.makedirs(os.path.join(self.out, split), exist_ok=True)
            _write_csv(os.path.join(a, "annotations_%s.csv" % split), VINDR_ANNOTATION_HEADER, self.ann[split])
        _write_csv(os.path.join(a, "image_labels_train.csv"), VINDR_IMAGE_LABELS_TRAIN_HEADER, self.lab["train"])
        _write_csv(os.path.join(a, "image_labels_test.csv"), VINDR_IMAGE_LABELS_TEST_HEADER, self.lab["test"])


def to_224(box, width, height):
    """Original-pixel box -> the 224x224 frame (long side resized to 224, centred padding)."""
    x, y, w, h = box
    r = 224.0 / max(width, height)
    left = (224 - width * r) / 2
    top = (224 - height * r) / 2
    x1, y1 = int(round(x * r + left)), int(round(y * r + top))
    x2, y2 = int(round((x + w) * r + left)), int(round((y + h) * r + top))
    return x1, y1, x2, y2


def imagenome_rows(truth):
    rows = []
    did = truth["ids"]["dicom_id"]
    for i, name in enumerate(REGIONS):
        x, y, w, h = truth["regions"][name]
        x1, y1, x2, y2 = to_224((x, y, w, h), truth["width"], truth["height"])
        ox1, oy1, ox2, oy2 = x, y, x + w, y + h
        annot = "%012x" % _h(did, name)
        rows.append([did + ".dcm", x1, y1, x2, y2, x2 - x1, y2 - y1, name, annot,
                     float(ox1), float(ox2), float(oy1), float(oy2), float(w), float(h), "world",
                     "[%d, %d, %d, %d]" % (x1, y1, x2, y2), "[%d, %d, %d, %d]" % (ox1, oy1, ox2, oy2)])
    return rows


class ImaGenomeWriter:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, case):
        self.rows += imagenome_rows(case.truth)

    def close(self):
        _write_csv(os.path.join(self.out, "gold_dataset", "gold_bbox_coordinate_annotations_1000images.csv"),
                   IMAGENOME_GOLD_HEADER, self.rows)


class PngWriter:
    def __init__(self, out, bits=16):
        self.out = out
        self.bits = bits
        os.makedirs(out, exist_ok=True)

    def add(self, case):
        p = os.path.join(self.out, case.truth["ids"]["dicom_id"] + ".png")
        if self.bits == 8:
            Image.fromarray(case.pixels(8), mode="L").save(p)
        else:
            Image.fromarray(case.pixels(16)).save(p)  # mode I;16

    def close(self):
        pass


class TruthWriter:
    """world/truth.jsonl: the full ground truth of every case (ids in every format, boxes, sentences)."""

    def __init__(self, out, manifest):
        self.out = os.path.join(out, "world")
        os.makedirs(self.out, exist_ok=True)
        self.fh = open(os.path.join(self.out, "truth.jsonl"), "w")
        self.manifest = manifest

    def add(self, case):
        t = dict(case.truth)
        t["paths"] = {"mimic_jpg": mimic_paths(t)[0], "mimic_report": mimic_paths(t)[1],
                      "vindr_dicom": "%s/%s.dicom" % (t["splits"]["vindr"], t["ids"]["vindr_image_id"]),
                      "imagenome_image_id": t["ids"]["dicom_id"] + ".dcm"}
        t["synthetic"] = True
        self.fh.write(json.dumps(t, sort_keys=True) + "\n")

    def close(self):
        self.fh.close()
        with open(os.path.join(self.out, "manifest.json"), "w") as fh:
            json.dump(self.manifest, fh, indent=1, sort_keys=True)


def make_writers(out, formats, manifest, vindr_max=None, png_bits=16):
    ws = [TruthWriter(out, manifest)]
    for f in formats:
        if f == "mimic":
            ws.append(MimicWriter(os.path.join(out, "mimic-cxr-jpg")))
        elif f == "mscxr":
            ws.append(MsCxrWriter(os.path.join(out, "ms-cxr")))
        elif f == "vindr":
            ws.append(VinDrWriter(os.path.join(out, "vindr-cxr"), vindr_max))
        elif f == "imagenome":
            ws.append(ImaGenomeWriter(os.path.join(out, "chest-imagenome")))
        elif f == "png":
            ws.append(PngWriter(os.path.join(out, "png"), png_bits))
        else:
            raise ValueError("unknown format %r (use %s)" % (f, ",".join(FORMATS + EXTRA_FORMATS)))
    return ws
