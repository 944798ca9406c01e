#!/usr/bin/python3
"""Writes Sightline's placeholder demo data into resources/demo/ (deterministic, seeded).

Everything here is SYNTHETIC: simple chest-radiograph-like phantoms (body ellipse, two darker lung fields, a brighter
heart, spine, rib arcs, noise; some with a patchy opacity in a named lung zone). No real patient data.

Outputs:
  resources/demo/mimic-cxr-jpg/files/p10/p1000000N/s5000000M/<dicom_id>.jpg   8-bit grey JPEG (MIMIC-CXR-JPG layout)
  resources/demo/mimic-cxr-jpg/files/p10/p1000000N/s5000000M.txt             report (FINDINGS / IMPRESSION)
  resources/demo/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv                  metadata, MIMIC header
  resources/demo/mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv                  labels, MIMIC header
  resources/demo/dicom/dx-mono2-12bit/IM0001.dcm    DX, MONOCHROME2, 12 bits stored, window center/width
  resources/demo/dicom/cr-mono1-16bit/IM0001.dcm    CR, MONOCHROME1, 16 bits, rescale slope/intercept, spacing
  resources/demo/manifest.json                       what each file is (and its synthetic ground truth)

Run: /usr/bin/python3 scripts/make-demo-data.py   (numpy, pillow, pydicom)
"""

import csv
import hashlib
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'demo')
SEED = 20260101
JPEG_QUALITY = 88

# Zones as fractions of the lung field: (name, x-range within the lung, y-range within the lung).
ZONES = {
    'upper': (0.15, 0.85, 0.08, 0.38),
    'mid': (0.15, 0.85, 0.38, 0.66),
    'lower': (0.15, 0.85, 0.66, 0.92),
}

CASES = [
    # subject, study, width, height, opacity (side, zone) or None, extra findings sentence
    dict(subject=10000001, study=50000001, w=640, h=768, opacity=None),
    dict(subject=10000001, study=50000002, w=640, h=768, opacity=('right', 'lower')),
    dict(subject=10000002, study=50000003, w=704, h=640, opacity=None),
    dict(subject=10000002, study=50000004, w=576, h=704, opacity=('left', 'upper')),
    dict(subject=10000003, study=50000005, w=608, h=736, opacity=None, cardiomegaly=True),
    dict(subject=10000003, study=50000006, w=672, h=736, opacity=None),
]


def dicom_id_for(key: str) -> str:
    h = hashlib.sha1(f'sightline-demo:{key}'.encode()).hexdigest()
    return '-'.join(h[i:i + 8] for i in range(0, 40, 8))


def uid_for(key: str) -> str:
    # 2.25.<decimal of a 128-bit number>: the UUID-derived UID root, no registration needed.
    return '2.25.' + str(int(hashlib.sha1(f'sightline-demo-uid:{key}'.encode()).hexdigest()[:32], 16))


def box_blur(a: np.ndarray, r: int) -> np.ndarray:
    """Separable box blur with radius r (edge-padded)."""
    if r <= 0:
        return a
    k = 2 * r + 1
    p = np.pad(a, ((r, r), (r, r)), mode='edge')
    c = np.cumsum(np.pad(p, ((1, 0), (0, 0))), axis=0)
    a = (c[k:, :] - c[:-k, :]) / k
    c = np.cumsum(np.pad(a, ((0, 0), (1, 0))), axis=1)
    return (c[:, k:] - c[:, :-k]) / k


def phantom(w: int, h: int, rng: np.random.RandomState, opacity=None, cardiomegaly=False):
    """A chest-PA-like attenuation map in [0, 1] (1 = dense / bright on a MONOCHROME2 display), plus ground truth."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cx = w / 2 + rng.uniform(-0.02, 0.02) * w
    img = np.full((h, w), 0.06)

    # body / soft tissue
    body = ((x - cx) / (0.46 * w)) ** 2 + ((y - 0.56 * h) / (0.58 * h)) ** 2 <= 1
    img[body] = 0.55
    # shoulders: a wider, flatter ellipse at the top
    shoulders = ((x - cx) / (0.5 * w)) ** 2 + ((y - 0.2 * h) / (0.16 * h)) ** 2 <= 1
    img[shoulders & (y > 0.08 * h)] = 0.55

    lungs = {}
    truth = {}
    for side, sign in (('right', -1), ('left', 1)):  # patient right is on image left
        lx = cx + sign * 0.2 * w
        rx, ry = 0.15 * w, 0.31 * h
        ly = 0.45 * h
        lung = ((x - lx) / rx) ** 2 + ((y - ly) / ry) ** 2 <= 1
        # flatten the medial apex and dome the base (diaphragm)
        dome = y < ly + ry * (0.78 - 0.25 * ((x - lx) / rx) ** 2)
        lung &= dome
        lungs[side] = lung
        img[lung] = 0.2
        ys, xs = np.nonzero(lung)
        truth[f'{side} lung'] = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]

    # heart: brighter blob over the lower mediastinum, more to the patient's left (image right)
    hr = 0.17 if cardiomegaly else 0.12
    heart = ((x - (cx + 0.05 * w)) / (hr * w)) ** 2 + ((y - 0.63 * h) / (0.12 * h)) ** 2 <= 1
    img[heart & body] = 0.68
    hy, hx = np.nonzero(heart & body)
    truth['cardiac silhouette'] = [int(hx.min()), int(hy.min()), int(hx.max()), int(hy.max())]

    # mediastinum and spine
    img[(np.abs(x - cx) < 0.055 * w) & body & (y < 0.8 * h)] = np.maximum(img[(np.abs(x - cx) < 0.055 * w) & body & (y < 0.8 * h)], 0.62)
    spine = (np.abs(x - cx) < 0.032 * w) & body
    img[spine] = 0.78
    # vertebral bodies: faint horizontal bands
    img[spine] += 0.04 * np.sin(y[spine] / (0.022 * h) * np.pi)

    # ribs: thin arcs across each lung
    rib_mask = np.zeros((h, w), dtype=bool)
    for side, sign in (('right', -1), ('left', 1)):
        for k in range(9):
            y0 = 0.17 * h + k * 0.065 * h
            # an arc that rises towards the spine
            t = np.abs(x - cx) / (0.42 * w)
            arc_y = y0 + 0.09 * h * (t - 0.35) ** 2 - 0.03 * h * t
            band = (np.abs(y - arc_y) < 0.007 * h) & ((x - cx) * sign > 0.04 * w) & ((x - cx) * sign < 0.42 * w)
            rib_mask |= band & body
    img[rib_mask] += 0.12

    # clavicles
    for sign in (-1, 1):
        t = (x - cx) * sign / (0.3 * w)
        cl = (np.abs(y - (0.16 * h + 0.03 * h * t)) < 0.009 * h) & (t > 0.08) & (t < 1.0)
        img[cl & body] += 0.15

    finding = None
    if opacity is not None:
        side, zone = opacity
        ys, xs = np.nonzero(lungs[side])
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
        zx0, zx1, zy0, zy1 = ZONES[zone]
        bx0, bx1 = x0 + zx0 * (x1 - x0), x0 + zx1 * (x1 - x0)
        by0, by1 = y0 + zy0 * (y1 - y0), y0 + zy1 * (y1 - y0)
        patch = np.zeros((h, w))
        for _ in range(7):
            px, py = rng.uniform(bx0 + 0.15 * (bx1 - bx0), bx1 - 0.15 * (bx1 - bx0)), rng.uniform(by0 + 0.2 * (by1 - by0), by1 - 0.2 * (by1 - by0))
            s = rng.uniform(0.03, 0.06) * w
            patch += np.exp(-(((x - px) ** 2 + (y - py) ** 2) / (2 * s * s)))
        mottle = box_blur(rng.normal(0, 1, (h, w)), 4)
        patch = np.clip(patch * (0.8 + 0.6 * mottle), 0, None)
        patch = np.clip(patch, 0, 1.4) / 1.4 * 0.32
        patch[~lungs[side]] = 0
        img += patch
        ys2, xs2 = np.nonzero(patch > 0.05)
        finding = dict(side=side, zone=zone, label=f'{side} {zone} lung zone',
                       box=[int(xs2.min()), int(ys2.min()), int(xs2.max()), int(ys2.max())])

    img = box_blur(img, 3)
    img += rng.normal(0, 0.018, (h, w))
    img = box_blur(img, 1) + rng.normal(0, 0.008, (h, w))
    return np.clip(img, 0, 1), truth, finding


REPORT_HEADER = '                                 FINAL REPORT (SYNTHETIC DEMO - NOT A REAL PATIENT)\n'


def report_text(case, finding) -> str:
    findings = []
    impression = []
    if finding:
        side, zone = finding['side'], finding['zone']
        findings.append(f'There is a patchy opacity in the {side} {zone} lung zone, concerning for pneumonia.')
        impression.append(f'{side.capitalize()} {zone} lung zone opacity, may represent pneumonia in the appropriate clinical setting.')
    else:
        findings.append('The lungs are clear without focal consolidation.')
    if case.get('cardiomegaly'):
        findings.append('The cardiac silhouette is enlarged.')
        impression.append('Mild cardiomegaly.')
    else:
        findings.append('The cardiomediastinal silhouette is within normal limits.')
    findings.append('No pleural effusion. No pneumothorax.')
    findings.append('The osseous structures are unremarkable.')
    if not impression:
        impression.append('No acute cardiopulmonary process.')
    return (
        REPORT_HEADER
        + ' EXAMINATION:  CHEST (PA AND LAT)\n \n'
        + ' INDICATION:  SYNTHETIC DEMO CASE. ___ with cough, evaluate for pneumonia.\n \n'
        + ' TECHNIQUE:  Chest PA (synthetic phantom).\n \n'
        + ' COMPARISON:  None.\n \n'
        + ' FINDINGS: \n \n ' + '\n '.join(_wrap(' '.join(findings))) + '\n \n'
        + ' IMPRESSION: \n \n ' + '\n '.join(_wrap(' '.join(impression))) + '\n'
    )


def _wrap(text: str, width: int = 78):
    lines, line = [], ''
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f'{line} {word}' if line else word
    if line:
        lines.append(line)
    return lines


CHEXPERT = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Enlarged Cardiomediastinum', 'Fracture',
            'Lung Lesion', 'Lung Opacity', 'No Finding', 'Pleural Effusion', 'Pleural Other', 'Pneumonia',
            'Pneumothorax', 'Support Devices']


def write_mimic(rng: np.random.RandomState, manifest: dict):
    base = os.path.join(ROOT, 'mimic-cxr-jpg')
    meta_rows, label_rows = [], []
    for i, case in enumerate(CASES):
        img, truth, finding = phantom(case['w'], case['h'], rng, case.get('opacity'), case.get('cardiomegaly', False))
        subject, study = case['subject'], case['study']
        dicom_id = dicom_id_for(f'{subject}/{study}/0')
        study_dir = os.path.join(base, 'files', f'p{str(subject)[:2]}', f'p{subject}', f's{study}')
        os.makedirs(study_dir, exist_ok=True)
        jpg = os.path.join(study_dir, f'{dicom_id}.jpg')
        Image.fromarray(np.round(img * 255).astype(np.uint8), mode='L').save(jpg, quality=JPEG_QUALITY, optimize=True)
        with open(os.path.join(os.path.dirname(study_dir), f's{study}.txt'), 'w', newline='\n') as f:
            f.write(report_text(case, finding))
        date = f'2180{(i % 9) + 1:02d}{(i * 3) % 27 + 1:02d}'
        meta_rows.append([dicom_id, subject, study, 'CHEST (PA AND LAT)', 'PA', case['h'], case['w'], date,
                          f'{100000 + i * 1111}.000', 'CHEST (PA AND LAT)', 'postero-anterior', 'Erect'])
        labels = {k: '' for k in CHEXPERT}
        labels['Pleural Effusion'] = '0.0'
        labels['Pneumothorax'] = '0.0'
        if finding:
            labels['Lung Opacity'] = '1.0'
            labels['Pneumonia'] = '-1.0'
        if case.get('cardiomegaly'):
            labels['Cardiomegaly'] = '1.0'
        if not finding and not case.get('cardiomegaly'):
            labels['No Finding'] = '1.0'
        label_rows.append([subject, study] + [labels[k] for k in CHEXPERT])
        rel = os.path.relpath(jpg, ROOT).replace(os.sep, '/')
        manifest['images'].append(dict(path=rel, kind='mimic-cxr-jpg', subject_id=subject, study_id=study,
                                       dicom_id=dicom_id, width=case['w'], height=case['h'],
                                       anatomy=truth, finding=finding))
    with open(os.path.join(base, 'mimic-cxr-2.0.0-metadata.csv'), 'w', newline='') as f:
        wr = csv.writer(f, lineterminator='\n')
        wr.writerow(['dicom_id', 'subject_id', 'study_id', 'PerformedProcedureStepDescription', 'ViewPosition', 'Rows',
                     'Columns', 'StudyDate', 'StudyTime', 'ProcedureCodeSequence_CodeMeaning',
                     'ViewCodeSequence_CodeMeaning', 'PatientOrientationCodeSequence_CodeMeaning'])
        wr.writerows(meta_rows)
    with open(os.path.join(base, 'mimic-cxr-2.0.0-chexpert.csv'), 'w', newline='') as f:
        wr = csv.writer(f, lineterminator='\n')
        wr.writerow(['subject_id', 'study_id'] + CHEXPERT)
        wr.writerows(label_rows)


def base_dataset(key: str, modality: str, sop_class: str, rows: int, cols: int) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid_for(key + '/sop')
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = '2.25.1234567890123456789'
    meta.ImplementationVersionName = 'SIGHTLINE_DEMO'
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.ImageType = ['DERIVED', 'SECONDARY']
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = '21800101'
    ds.StudyTime = '120000'
    ds.AccessionNumber = 'SYNTH' + key[-4:].upper()
    ds.Modality = modality
    ds.Manufacturer = 'Sightline synthetic phantom'
    ds.StudyDescription = 'SYNTHETIC DEMO CHEST'
    ds.SeriesDescription = f'SYNTHETIC DEMO {modality} PHANTOM - NOT A REAL PATIENT'
    ds.PatientName = 'SYNTHETIC^DEMO'
    ds.PatientID = 'SYNTH-' + key[-4:].upper()
    ds.PatientBirthDate = ''
    ds.PatientSex = 'O'
    ds.PatientIdentityRemoved = 'YES'
    ds.BodyPartExamined = 'CHEST'
    ds.ViewPosition = 'PA'
    ds.StudyInstanceUID = uid_for(key + '/study')
    ds.SeriesInstanceUID = uid_for(key + '/series')
    ds.StudyID = '1'
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ['L', 'F']
    ds.SamplesPerPixel = 1
    ds.Rows = rows
    ds.Columns = cols
    ds.BurnedInAnnotation = 'NO'
    return ds


def write_dicom(rng: np.random.RandomState, manifest: dict):
    base = os.path.join(ROOT, 'dicom')
    # 1. DX, MONOCHROME2, 12 bits stored in 16, window center/width (two presets)
    img, truth, finding = phantom(480, 576, rng, ('right', 'mid'))
    stored = np.round(200 + img * 3600).astype(np.uint16)  # 0..4095
    ds = base_dataset('dx-mono2-12bit/0001', 'DX', '1.2.840.10008.5.1.4.1.1.1.1', 576, 480)
    ds.PresentationIntentType = 'FOR PRESENTATION'
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.ImagerPixelSpacing = [0.7, 0.7]
    ds.WindowCenter = [2000, 1600]
    ds.WindowWidth = [3600, 1800]
    ds.WindowCenterWidthExplanation = ['NORMAL', 'LUNG']
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = 'US'
    ds.PixelData = stored.tobytes()
    path = os.path.join(base, 'dx-mono2-12bit', 'IM0001.dcm')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)
    manifest['images'].append(dict(path=os.path.relpath(path, ROOT).replace(os.sep, '/'), kind='dicom', modality='DX',
                                   photometric='MONOCHROME2', bits_stored=12, width=480, height=576,
                                   anatomy=truth, finding=finding))

    # 2. CR, MONOCHROME1 (bright = low value), 16 bits, rescale slope/intercept, pixel spacing
    img, truth, finding = phantom(496, 592, rng, None)
    # modality value = stored * 0.5 - 1024 ; MONOCHROME1 so dense (bright) anatomy gets LOW values
    modality_values = 200 + (1 - img) * 30000
    stored = np.clip(np.round((modality_values + 1024) / 0.5), 0, 65535).astype(np.uint16)
    ds = base_dataset('cr-mono1-16bit/0001', 'CR', '1.2.840.10008.5.1.4.1.1.1', 592, 496)
    ds.PhotometricInterpretation = 'MONOCHROME1'
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [0.68, 0.68]
    ds.RescaleSlope = 0.5
    ds.RescaleIntercept = -1024
    ds.RescaleType = 'US'
    ds.WindowCenter = 15200
    ds.WindowWidth = 30000
    ds.PixelData = stored.tobytes()
    path = os.path.join(base, 'cr-mono1-16bit', 'IM0001.dcm')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)
    manifest['images'].append(dict(path=os.path.relpath(path, ROOT).replace(os.sep, '/'), kind='dicom', modality='CR',
                                   photometric='MONOCHROME1', bits_stored=16, width=496, height=592,
                                   anatomy=truth, finding=finding))


README = """# Sightline demo data (SYNTHETIC placeholder)

Everything in this folder is **synthetic**: simple chest-radiograph-like phantoms (a body ellipse, two darker lung
fields, a brighter heart, spine, rib arcs and clavicles, noise; some images carry a bright patchy "opacity" in a
named lung zone). There is no real patient data; names, IDs, dates and UIDs are made up and marked SYNTHETIC.
A later issue replaces this with a proper synthetic world.

Generated by `scripts/make-demo-data.py` (deterministic, seed {seed}); rerun with `/usr/bin/python3
scripts/make-demo-data.py` to recreate it byte for byte.

- `mimic-cxr-jpg/` imitates the MIMIC-CXR-JPG layout: `files/p10/p1000000N/s5000000M/<dicom_id>.jpg` (8-bit grey
  JPEG) with the report next to the study folder (`files/p10/p1000000N/s5000000M.txt`, `FINDINGS:` and
  `IMPRESSION:` sections), plus `mimic-cxr-2.0.0-metadata.csv` and `mimic-cxr-2.0.0-chexpert.csv` with the real
  headers. 3 subjects, 6 studies, one PA image each.
- `dicom/dx-mono2-12bit/IM0001.dcm`: DX, MONOCHROME2, 12 bits stored in 16, two Window Center/Width presets
  (NORMAL, LUNG), Imager Pixel Spacing 0.7 mm, explicit VR little endian.
- `dicom/cr-mono1-16bit/IM0001.dcm`: CR, MONOCHROME1 (dense anatomy has LOW values), 16 bits, Rescale Slope 0.5 /
  Intercept -1024, Pixel Spacing 0.68 mm, explicit VR little endian.
- `manifest.json`: every file with its synthetic ground truth (lung / heart boxes, opacity box and zone), in pixels.
"""


def main():
    rng = np.random.RandomState(SEED)
    for sub in ('mimic-cxr-jpg', 'dicom'):
        shutil.rmtree(os.path.join(ROOT, sub), ignore_errors=True)
    os.makedirs(ROOT, exist_ok=True)
    manifest = dict(synthetic=True, generator='scripts/make-demo-data.py', seed=SEED, images=[])
    write_mimic(rng, manifest)
    write_dicom(rng, manifest)
    with open(os.path.join(ROOT, 'manifest.json'), 'w', newline='\n') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    with open(os.path.join(ROOT, 'README.md'), 'w', newline='\n') as f:
        f.write(README.replace('{seed}', str(SEED)))
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(ROOT) for n in ns)
    print(f'wrote {len(manifest["images"])} images to {os.path.normpath(ROOT)} ({total / 1e6:.2f} MB)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
