"""Fixed vocabularies and exact file headers (docs/method.md 4.1/4.2, docs/datasets.md)."""

# method.md 4.1: the 8 pathologies (MS-CXR category names).
FINDINGS = (
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
    "Lung Opacity", "Pleural Effusion", "Pneumonia", "Pneumothorax",
)

SIDES = ("left", "right", "bilateral")
ZONE_TERMS = ("", "apical", "upper", "middle", "lower", "costophrenic", "pleural", "base")


def location_vocabulary():
    """The 27 location strings of method.md 4.1 ("bilateral base" is written "bibasilar")."""
    out = []
    for side in SIDES:
        for z in ZONE_TERMS:
            if side == "bilateral" and z == "base":
                out.append("bibasilar")
            else:
                out.append((side + " " + z).strip())
    out += ["lingular", "cardiomegaly", "pulmonary"]
    return out


LOCATIONS = tuple(location_vocabulary())

# method.md 4.2: the 13 Chest ImaGenome regions the anatomy LUT uses.
REGIONS = (
    "right lung", "right apical zone", "right upper lung zone", "right mid lung zone",
    "right lower lung zone", "right costophrenic angle",
    "left lung", "left apical zone", "left upper lung zone", "left mid lung zone",
    "left lower lung zone", "left costophrenic angle",
    "cardiac silhouette",
)

ZONE_TO_REGION = {
    "": "lung", "apical": "apical zone", "upper": "upper lung zone", "middle": "mid lung zone",
    "lower": "lower lung zone", "costophrenic": "costophrenic angle", "pleural": "lower lung zone",
    "base": "lower lung zone",
}


def location_regions(location):
    """Map a vocabulary location (possibly several joined with " and ") to ImaGenome region names."""
    regions = []
    for part in location.split(" and "):
        part = part.strip()
        if part == "cardiomegaly":
            regions.append("cardiac silhouette")
            continue
        if part == "pulmonary":
            regions += ["right lung", "left lung"]
            continue
        if part == "lingular":
            regions.append("left mid lung zone")
            continue
        if part == "bibasilar":
            regions += ["right lower lung zone", "left lower lung zone"]
            continue
        words = part.split(" ", 1)
        side, zone = words[0], (words[1] if len(words) > 1 else "")
        sides = ["right", "left"] if side == "bilateral" else [side]
        for s in sides:
            regions.append(s + " " + ZONE_TO_REGION[zone])
    out = []
    for r in regions:
        if r not in out:
            out.append(r)
    return out


# docs/datasets.md: MIMIC-CXR-JPG metadata and CheXpert label files.
MIMIC_METADATA_HEADER = (
    "dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
    "Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
    "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning",
)
CHEXPERT_LABELS = (
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
    "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other",
    "Pneumonia", "Pneumothorax", "Support Devices",
)
MIMIC_CHEXPERT_HEADER = ("subject_id", "study_id") + CHEXPERT_LABELS

# MS-CXR v1.1.0.
MSCXR_HEADER = ("dicom_id", "category_name", "label_text", "path", "x", "y", "w", "h",
                "image_width", "image_height", "split")

# VinDr-CXR 1.0.0.
VINDR_LOCAL = (
    "Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Clavicle fracture",
    "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD", "Infiltration", "Lung Opacity",
    "Lung cavity", "Lung cyst", "Mediastinal shift", "Nodule/Mass", "Pleural effusion",
    "Pleural thickening", "Pneumothorax", "Pulmonary fibrosis", "Rib fracture", "Other lesion",
)
VINDR_GLOBAL = ("COPD", "Lung tumor", "Pneumonia", "Tuberculosis", "Other diseases", "No finding")
VINDR_LABELS = VINDR_LOCAL + VINDR_GLOBAL  # 28 label columns
VINDR_ANNOTATION_HEADER = ("image_id", "rad_id", "class_name", "x_min", "y_min", "x_max", "y_max")
VINDR_IMAGE_LABELS_TRAIN_HEADER = ("image_id", "rad_id") + VINDR_LABELS
VINDR_IMAGE_LABELS_TEST_HEADER = ("image_id",) + VINDR_LABELS

# Our finding -> VinDr local class (Pneumonia is a VinDr global label; its opacity is boxed as Consolidation).
FINDING_TO_VINDR = {
    "Atelectasis": "Atelectasis", "Cardiomegaly": "Cardiomegaly", "Consolidation": "Consolidation",
    "Edema": "Edema", "Lung Opacity": "Lung Opacity", "Pleural Effusion": "Pleural effusion",
    "Pneumonia": "Consolidation", "Pneumothorax": "Pneumothorax",
}

# Chest ImaGenome gold boxes.
IMAGENOME_GOLD_HEADER = (
    "image_id", "x1", "y1", "x2", "y2", "width", "height", "bbox_name", "annot_id",
    "original_x1", "original_x2", "original_y1", "original_y2", "original_width", "original_height",
    "annotator", "coord224", "coord_original",
)
