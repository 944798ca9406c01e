"""Sightline synthetic chest X-ray world: radiograph-like PA phantoms with anatomy, findings, reports,
anatomy boxes and finding boxes, written in the real datasets' formats. Deterministic by seed.

    from sightline_world.case import generate_case
    case = generate_case(seed=0, index=3, preset="small")   # case.image (float32 [0,1]), case.truth (dict)
"""
__version__ = "0.1.0"

# Everything the world writes says so where its format has room for it (report header, DICOM patient name and
# comments, JPEG comment, JSON metadata, contact sheet title). The CSVs keep the datasets' exact headers.
SYNTHETIC = "SYNTHETIC"
SYNTHETIC_NOTE = "Sightline synthetic world phantom, not a patient (no patient data)"
