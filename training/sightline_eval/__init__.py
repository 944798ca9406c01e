"""Sightline evaluation: grounding metrics, the anatomy LUT, benchmark builders and the model-card report.

Modules (docs/method.md sections 4.2 and 5):
    metrics     per-pair CNR / mIoU / AUC-ROC, class-mean aggregation, bootstrap CIs (5.1)
    lut         Chest ImaGenome gold boxes -> anatomy LUT of 2D Gaussians, location -> regions, targets (4.2)
    locations   offline "{location} {pathology}" extractor (4.1)
    mscxr       MS-CXR-loc benchmark builder (5.2)
    vindr       VinDr-CXR synthetic-prompt benchmark builder (5.2)
    references  location-only / oracle / random reference heatmaps, left-right swap (5.3)
    model_card  ``python -m sightline_eval.model_card``: scores a model and the references, writes a table
Needs numpy (+ torch and sightline_ldm for model_card, Pillow for reading images).
"""
