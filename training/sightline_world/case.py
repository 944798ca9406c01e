"""One synthetic case: anatomy + findings + image + anatomy/finding boxes + report, deterministic by seed."""
from dataclasses import dataclass

import numpy as np

from .anatomy import measure_ctr, region_boxes, sample_anatomy, sample_size
from .findings import apply_findings, sample_findings
from .render import Scene, anatomy_layers, compose, exposure, finish, sample_look, work_scale
from .reports import chexpert_labels, make_report, report_text

INDICATIONS = ["___ with cough", "___ with shortness of breath", "___ with fever", "___ with chest pain",
               "Evaluate for pneumonia.", "Preoperative evaluation.", "___ with hypoxia", "Follow-up."]


@dataclass
class Case:
    index: int
    seed: int
    preset: str
    image: np.ndarray        # float32 [0,1], H x W, bright = attenuating (MONOCHROME2 sense)
    truth: dict              # everything else, JSON-serialisable

    @property
    def width(self):
        return self.truth["width"]

    @property
    def height(self):
        return self.truth["height"]

    def pixels(self, bits):
        """Image quantised to `bits` (8-16), uint8 for 8 bits, uint16 otherwise."""
        mx = (1 << bits) - 1
        q = np.round(self.image.astype(np.float64) * mx)
        return q.astype(np.uint8 if bits <= 8 else np.uint16)


def _ids(seed, index, rng):
    subject = 10_000_000 + (seed * 7919 + index * 1_234_567) % 9_999_999
    study = 50_000_000 + (seed * 31 + index * 3_456_791) % 9_999_999
    words = rng.integers(0, 2 ** 32, size=9, dtype=np.uint64)
    dicom_id = "-".join("%08x" % int(w) for w in words[:5])
    vindr_id = "".join("%08x" % int(w) for w in words[5:9])
    return {"subject_id": int(subject), "study_id": int(study), "dicom_id": dicom_id, "vindr_image_id": vindr_id}


def generate_case(seed, index, preset="small"):
    ss = np.random.SeedSequence([int(seed), int(index), 20261129])
    r_size, r_find, r_anat, r_rend, r_rep, r_ids = [np.random.default_rng(s) for s in ss.spawn(6)]
    width, height = sample_size(r_size, preset)
    findings = sample_findings(r_find)
    card = [f for f in findings if f.name == "Cardiomegaly"]
    anat = sample_anatomy(r_anat, width, height, ctr=card[0].params["target_ctr"] if card else None)
    s = work_scale(preset, width, height)
    scene = Scene(anat, s)
    regions = region_boxes(scene.masks, s, width, height)
    layers = anatomy_layers(scene, r_rend)
    apply_findings(findings, scene, r_rend, regions)
    findings = [f for f in findings if f.boxes]
    look = sample_look(r_rend)
    A = compose(scene, layers, look)
    img = finish(exposure(A, look), look, r_rend, width, height, s)
    ctr = measure_ctr(scene.masks["heart"], scene.masks["lung_right"], scene.masks["lung_left"])
    sents = make_report(r_rep, findings)
    indication = INDICATIONS[int(r_rep.integers(len(INDICATIONS)))]
    ids = _ids(seed, index, r_ids)
    truth = {
        "case_index": int(index), "seed": int(seed), "preset": preset,
        "width": int(width), "height": int(height),
        "ids": ids,
        "splits": {"mscxr": str(r_ids.choice(["train", "val", "test"], p=[0.7, 0.1, 0.2])),
                   "vindr": str(r_ids.choice(["train", "test"], p=[0.75, 0.25]))},
        "dicom": {"bits_stored": int(r_ids.choice([12, 14, 16])),
                  "photometric": str(r_ids.choice(["MONOCHROME1", "MONOCHROME2"], p=[0.35, 0.65])),
                  "modality": str(r_ids.choice(["CR", "DX"]))},
        "anatomy": {"ctr_target": anat.ctr, "ctr_measured": ctr, "inspiration": anat.extra["inspiration"],
                    "rotation_deg": float(np.rad2deg(anat.theta)), "female": anat.female,
                    "half_thorax_px": float(anat.h), "work_scale": float(s)},
        "look": {k: float(v) for k, v in look.items()},
        "regions": {k: v for k, v in regions.items()},
        "findings": [dict(f.to_dict(), boxes={b: box for b, box in f.boxes}) for f in findings],
        "boxes": {b: box for f in findings for b, box in f.boxes},
        "sentences": sents,
        "indication": indication,
        "report": report_text(sents, indication),
        "chexpert": chexpert_labels(sents, findings),
    }
    case = Case(index=index, seed=seed, preset=preset, image=img, truth=truth)
    case._masks = scene.masks  # for tests and the contact sheet (work resolution)
    return case
