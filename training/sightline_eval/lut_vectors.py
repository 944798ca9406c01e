"""The shared LUT test vectors (test/vectors/lut-demo.json), checked by pytest and vitest: the demo CSVs and a tiny
hand-made one built with several frames, and the geometry, targets, nearest regions and box locations of the demo
LUT. Written by ``python -m sightline_eval.lut --vectors ../test/vectors/lut-demo.json``."""
from __future__ import annotations

import os
import tempfile

from .lut import (BUILDER_VERSION, REGION_TO_LOCATION, box_gaussian, box_to_model_frame, build_from_files,
                  location_regions, model_frame_geometry, nearest_region, region_params, render_target)

GOLD_HEADER = ("image_id,x1,y1,x2,y2,width,height,bbox_name,annot_id,original_x1,original_x2,original_y1,original_y2,"
               "original_width,original_height,annotator,coord224,coord_original")
# A hand-made gold CSV: a1 (1200 x 900) has no size anywhere, so it is inferred from the 224 frame; b2 and e5 (no
# ".dcm") get theirs from the metadata below; c3 has one region row (nothing to fit: skipped); trachea rows are of
# no region (not read: empty coordinates are fine there); one name has spaces around it; a quoted field has commas.
TINY_IMAGENOME = "\n".join([
    GOLD_HEADER,
    'a1.dcm,28,47,103,177,75,130,right lung,x01,150,550,100,800,400,700,t,"[28, 47, 103, 177]","[150, 100, 550, 800]"',
    'a1.dcm,121,47,196,177,75,130,left lung,x02,650,1050,100,800,400,700,t,"[121, 47, 196, 177]",""',
    'a1.dcm,,,,,,,trachea,x03,,,,,,,t,,',
    'a1.dcm,93,103,149,168,56,65,cardiac silhouette,x04,500,800,400,750,300,350,t,,',
    'a1.dcm,28,131,103,177,75,46, right lower lung zone ,x05,150,550,550,800,400,250,t,,',
    'b2.dcm,45,34,108,202,63,168,right lung,x06,100,380,150,900,280,750,t,,',
    'b2.dcm,116,34,179,202,63,168,left lung,x07,420,700,150,900,280,750,t,,',
    'b2.dcm,49,34,108,58,59,24,right apical zone,x08,120,380,150,260,260,110,t,,',
    'c3.dcm,2,2,20,20,18,18,left lung,x09,10,90,10,90,80,80,t,,',
    'e5,131,153,153,175,22,22,left costophrenic angle,x10,600.5,700.25,700,800,100,100,t,,',
    'e5,0,0,0,0,0,0,trachea,x11,not,a,number,here,0,0,t,,',
]) + "\n"
TINY_METADATA = "dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\nb2,1,1,PA,1000,800\ne5,2,2,PA,1024.0,1024\nzz,3,3,PA,,\n"

DEMO_GOLD = "resources/demo/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv"
DEMO_METADATA = "resources/demo/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv"
DEMO_MSCXR = "resources/demo/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv"
VECTOR_LOCATIONS = ("right", "left lower", "bilateral apical", "cardiomegaly", "pulmonary", "lingular",
                    "bibasilar", "left base", "right pleural", "right costophrenic and left upper", "bilateral")


def vectors(root: str) -> dict:
    """The shared LUT vectors: file cases name paths relative to the repository root ``root``; the tiny case's CSVs
    are inline (written to files by each test)."""
    files = [
        {"name": "demo-512-metadata", "imagenome": DEMO_GOLD, "metadata": [DEMO_METADATA], "mscxr": [], "frame": 512},
        {"name": "demo-128-metadata", "imagenome": DEMO_GOLD, "metadata": [DEMO_METADATA], "mscxr": [], "frame": 128},
        {"name": "demo-512-inferred", "imagenome": DEMO_GOLD, "metadata": [], "mscxr": [], "frame": 512},
        {"name": "demo-512-mscxr", "imagenome": DEMO_GOLD, "metadata": [], "mscxr": [DEMO_MSCXR], "frame": 512},
    ]
    cases = []
    for c in files:
        lut = build_from_files(os.path.join(root, c["imagenome"]), [os.path.join(root, m) for m in c["metadata"]],
                               [os.path.join(root, m) for m in c["mscxr"]], c["frame"])
        cases.append({**c, "lut": lut})
    with tempfile.TemporaryDirectory() as tmp:
        gold, meta = os.path.join(tmp, "gold.csv"), os.path.join(tmp, "metadata.csv")
        for path, text in ((gold, TINY_IMAGENOME), (meta, TINY_METADATA)):
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        tiny = [{"name": "tiny-512-metadata", "metadata": True, "frame": 512},
                {"name": "tiny-300-inferred", "metadata": False, "frame": 300}]
        for c in tiny:
            cases.append({**c, "lut": build_from_files(gold, [meta] if c["metadata"] else [], [], c["frame"])})
    demo = cases[1]["lut"]
    geometry = [[h, w, s, list(model_frame_geometry(h, w, s))]
                for h, w, s in ((600, 800, 512), (800, 600, 512), (716, 549, 128), (513, 758, 128), (1000, 1, 512),
                                (2544, 3056, 512), (512, 512, 512), (333, 1000, 300))]
    targets = [{"location": loc, "grid": grid, "values": render_target(demo, loc, grid).ravel().tolist()}
               for loc in VECTOR_LOCATIONS for grid in (16,)]
    targets.append({"location": "right lower", "grid": 7, "values": render_target(demo, "right lower", 7).ravel().tolist()})
    gaussians = [[64.0, 64.0, 10.0, 20.0], [30.0, 90.0, 5.0, 5.0], [100.0, 40.0, 8.0, 12.0], [64.0, 10.0, 30.0, 4.0],
                 [0.0, 0.0, 0.0, 0.0], list(region_params(demo, "left mid lung zone"))]
    nearest = [{"gaussian": g, "region": nearest_region(demo, g)} for g in gaussians]
    boxes = [[[90, 65, 251, 389], 716, 549], [[300, 100, 480, 300], 716, 549], [[150, 400, 400, 560], 646, 526],
             [[10, 10, 60, 60], 1000, 1000], [[500, 700, 900, 950], 1024, 1024]]
    box_locations = []
    for box, h, w in boxes:
        g = box_gaussian(*box_to_model_frame(*box, h, w, int(demo["frame"])))
        box_locations.append({"box": box, "height": h, "width": w, "region": nearest_region(demo, g),
                              "location": REGION_TO_LOCATION[nearest_region(demo, g)]})
    return {
        "generated_by": "cd training && /usr/bin/python3 -m sightline_eval.lut --vectors ../test/vectors/lut-demo.json",
        "builder": BUILDER_VERSION,
        "tiny_imagenome": TINY_IMAGENOME,
        "tiny_metadata": TINY_METADATA,
        "cases": cases,
        "geometry": geometry,
        "location_regions": {loc: location_regions(loc) for loc in VECTOR_LOCATIONS + ("right lower and left upper",)},
        "targets_lut": "demo-128-metadata",
        "targets": targets,
        "nearest": nearest,
        "box_locations": box_locations,
    }
