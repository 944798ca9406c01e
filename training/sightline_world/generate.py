"""Generate a synthetic chest X-ray world in the real datasets' formats.

    cd training && /usr/bin/python3 -m sightline_world.generate --out DIR --cases N --seed S \
        --preset {full,small,tiny} --formats mimic,mscxr,vindr,imagenome

Output tree under DIR:
    mimic-cxr-jpg/   files/p1x/p{subject}/s{study}/{dicom_id}.jpg, files/.../s{study}.txt,
                     mimic-cxr-2.0.0-metadata.csv, mimic-cxr-2.0.0-chexpert.csv
    ms-cxr/          MS_CXR_Local_Alignment_v1.1.0.csv (+ .json, COCO style); paths relative to mimic-cxr-jpg/
    vindr-cxr/       train/{image_id}.dicom, test/{image_id}.dicom, annotations/*.csv
    chest-imagenome/ gold_dataset/gold_bbox_coordinate_annotations_1000images.csv
    png/             {dicom_id}.png, 8 or 16 bit (only with --formats ...,png)
    world/           truth.jsonl (full ground truth per case), manifest.json
"""
import argparse
import sys
import time

from . import SYNTHETIC, SYNTHETIC_NOTE, __version__
from .anatomy import PRESETS
from .case import generate_case
from .writers import EXTRA_FORMATS, FORMATS, make_writers


def generate(out, cases, seed=0, preset="small", formats=FORMATS, start=0, vindr_max=None,
             progress=True, contact_sheet=None, stream=None, png_bits=16):
    manifest = {"synthetic": True, "note": "%s: %s" % (SYNTHETIC, SYNTHETIC_NOTE),
                "generator": "sightline_world", "version": __version__, "seed": seed, "preset": preset,
                "cases": cases, "start": start, "formats": list(formats), "vindr_max": vindr_max}
    if "png" in formats:
        manifest["png_bits"] = png_bits
    stream = stream or sys.stderr
    writers = make_writers(out, formats, manifest, vindr_max, png_bits)
    sheet = []
    t0 = time.time()
    for k in range(cases):
        i = start + k
        case = generate_case(seed, i, preset)
        for w in writers:
            w.add(case)
        if contact_sheet and len(sheet) < 24:
            sheet.append(case)
        if progress:
            el = time.time() - t0
            eta = el / (k + 1) * (cases - k - 1)
            nf = len(case.truth["findings"])
            stream.write("\r[%*d/%d] case %d %dx%d, %d finding%s | %.1f s/case, ETA %.0f s   "
                         % (len(str(cases)), k + 1, cases, i, case.width, case.height, nf, "" if nf == 1 else "s",
                            el / (k + 1), eta))
            stream.flush()
    for w in writers:
        w.close()
    if progress:
        stream.write("\ndone: %d cases in %.1f s -> %s\n" % (cases, time.time() - t0, out))
    if contact_sheet:
        from .contact_sheet import contact_sheet as cs
        cs(sheet, contact_sheet)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sightline_world.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--cases", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="index of the first case (cases are independent)")
    p.add_argument("--preset", choices=PRESETS, default="small",
                   help="full: 2000-3000 px sides; small: 512-768 px; tiny: 128x128")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help="comma list of %s (default), or png (png/{dicom_id}.png, see --png-bits)" % ",".join(FORMATS))
    p.add_argument("--png-bits", type=int, choices=(8, 16), default=16)
    p.add_argument("--vindr-max", type=int, default=None, help="write at most this many VinDr DICOMs")
    p.add_argument("--contact-sheet", default=None, help="also write a contact sheet PNG (first 24 cases)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS + EXTRA_FORMATS]
    if bad:
        p.error("unknown format(s): %s" % ",".join(bad))
    generate(a.out, a.cases, a.seed, a.preset, formats, a.start, a.vindr_max, not a.quiet, a.contact_sheet,
             png_bits=a.png_bits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
