"""Radiology-style reports (FINDINGS / IMPRESSION) with phrase <-> box ground truth.

Every sentence is kept as a record: text, section, certainty ("positive", "uncertain", "negative" or
"normal"), and for positive/uncertain mentions the finding, the location (method.md 4.1 vocabulary, as
worded in that sentence) and the ids of the boxes it refers to.
"""
from . import SYNTHETIC, SYNTHETIC_NOTE
from .vocab import CHEXPERT_LABELS


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _cap(s):
    return s[:1].upper() + s[1:]


def location_surfaces(location):
    """(adjective, noun phrase, vocabulary location) wordings of a true location."""
    if location == "lingular":
        return [("lingular", "the lingula", "lingular")]
    if location == "pulmonary":
        return [("pulmonary", "both lungs", "pulmonary")]
    if location == "bibasilar":
        return [("bibasilar", "both lung bases", "bibasilar"), ("bibasilar", "the lung bases", "bibasilar")]
    parts = location.split(" ", 1)
    s, z = parts[0], (parts[1] if len(parts) > 1 else "")
    if s == "bilateral":
        tab = {
            "": [("bilateral", "both lungs", "bilateral")],
            "lower": [("bilateral lower lobe", "both lower lobes", "bilateral lower"),
                      ("right lower and left lower", "the right and left lower lobes", "right lower and left lower"),
                      ("bibasilar", "both lung bases", "bibasilar")],
            "upper": [("bilateral upper lobe", "both upper lobes", "bilateral upper")],
            "middle": [("bilateral mid lung", "both mid lungs", "bilateral middle")],
            "apical": [("bilateral apical", "both apices", "bilateral apical")],
            "costophrenic": [("bilateral", "both costophrenic angles", "bilateral costophrenic")],
            "pleural": [("bilateral pleural", "both pleural spaces", "bilateral pleural")],
        }
        return tab[z]
    tab = {
        "": [(s + "-sided", "the %s lung" % s, s), (s + " lung", "the %s lung" % s, s)],
        "apical": [(s + " apical", "the %s apex" % s, s + " apical"), (s + " apical", "the %s lung apex" % s, s + " apical")],
        "upper": [(s + " upper lobe", "the %s upper lobe" % s, s + " upper"), (s + " upper lung", "the %s upper lung" % s, s + " upper")],
        "middle": [(s + " mid lung", "the %s mid lung" % s, s + " middle"), (s + " mid-lung", "the %s mid lung zone" % s, s + " middle")]
        + ([("right middle lobe", "the right middle lobe", "right middle")] if s == "right" else []),
        "lower": [(s + " lower lobe", "the %s lower lobe" % s, s + " lower"), (s + " lower lung", "the %s lower lung" % s, s + " lower"),
                  (s + " basilar", "the %s base" % s, s + " base")],
        "base": [(s + " basilar", "the %s base" % s, s + " base"), (s + " base", "the %s lung base" % s, s + " base")],
        "costophrenic": [(s + " costophrenic", "the %s costophrenic angle" % s, s + " costophrenic")],
        "pleural": [(s + " pleural", "the %s pleural space" % s, s + " pleural")],
    }
    return tab[z]


def _sev(rng, f, words):
    """One severity wording per finding, reused by all its sentences."""
    if "severity_word" not in f.params:
        f.params["severity_word"] = _pick(rng, words[f.severity])
    return f.params["severity_word"]


def positive_sentence(rng, f, impression=False):
    """(text, vocabulary location, certainty) for one finding."""
    adj, noun, loc = _pick(rng, location_surfaces(f.location))
    n = f.name
    if n == "Cardiomegaly":
        sev = ["mild", "moderate", "severe"][f.severity]
        opts = [("Heart size is enlarged.", "positive"), (_cap(sev) + " cardiomegaly.", "positive"),
                ("The heart is %s enlarged." % {"mild": "mildly", "moderate": "moderately", "severe": "markedly"}[sev], "positive"),
                ("%s enlargement of the cardiac silhouette." % _cap(sev), "positive")]
        if impression:
            opts = [(_cap(sev) + " cardiomegaly.", "positive"), ("Cardiomegaly.", "positive")]
        text, cert = _pick(rng, opts)
        return text, "cardiomegaly", cert
    if n == "Pleural Effusion":
        sev = _sev(rng, f, [["small", "trace", "small"], ["moderate", "small to moderate"], ["large", "moderate to large"]])
        if f.location.endswith("costophrenic") and rng.random() < 0.5:
            if f.location.startswith("bilateral"):
                return ("Blunting of both costophrenic angles suggests small bilateral pleural effusions.",
                        "bilateral costophrenic", "positive")
            side = f.location.split()[0]
            return ("Blunting of the %s costophrenic angle, likely a small effusion." % side,
                    side + " costophrenic", "positive")
        side = f.location.split()[0]
        if side == "bilateral":
            return _pick(rng, [("%s bilateral pleural effusions." % _cap(sev), "bilateral pleural", "positive"),
                               ("There are %s bilateral pleural effusions." % sev, "bilateral pleural", "positive")])
        return _pick(rng, [("%s %s pleural effusion." % (_cap(sev), side), side + " pleural", "positive"),
                           ("There is a %s %s pleural effusion." % (sev, side), side + " pleural", "positive"),
                           ("%s layering %s effusion." % (_cap(sev), side), side, "positive")])
    if n == "Pneumothorax":
        sev = _sev(rng, f, [["small", "tiny"], ["moderate", "small to moderate"], ["large"]])
        if f.zone() == "":
            adj, loc = f.location, f.location
        opts = [("%s %s pneumothorax." % (_cap(sev), adj), loc, "positive"),
                ("There is a %s %s pneumothorax." % (sev, adj), loc, "positive")]
        if f.zone() == "apical":
            opts.append(("A %s pneumothorax is seen at %s, with a visible pleural line." % (sev, noun), loc, "positive"))
        return _pick(rng, opts)
    if n == "Edema":
        sev = _sev(rng, f, [["mild", "mild interstitial"], ["moderate"], ["severe", "moderate to severe"]])
        if f.location == "pulmonary":
            return _pick(rng, [("%s pulmonary edema." % _cap(sev), "pulmonary", "positive"),
                               ("There is %s pulmonary edema with perihilar haziness." % sev, "pulmonary", "positive"),
                               ("Findings are consistent with %s pulmonary edema." % sev, "pulmonary", "positive")])
        return _pick(rng, [("%s bilateral perihilar opacities consistent with edema." % _cap(sev), "bilateral", "positive"),
                           ("Bilateral hazy opacities, likely %s edema." % sev, "bilateral", "uncertain")])
    if n == "Atelectasis":
        form = f.params.get("form", "linear")
        sev = _sev(rng, f, [["mild", "minimal", "subsegmental"], ["moderate", "patchy"], ["extensive", "moderate to severe"]])
        kind = _pick(rng, ["plate-like", "linear", "streaky"]) if form == "linear" else _pick(rng, ["", "segmental "])
        opts = [("%s %s atelectasis." % (_cap(sev), adj), loc, "positive"),
                ("%s %satelectasis at %s." % (_cap(sev), (kind.strip() + " ") if kind.strip() else "", noun), loc, "positive"),
                ("%s opacities, likely atelectasis." % _cap(adj), loc, "uncertain")]
        if form == "linear":
            opts.append(("%s %s atelectasis." % (_cap(kind), adj), loc, "positive"))
        return _pick(rng, opts)
    # opacity group
    if n == "Consolidation":
        sev = _sev(rng, f, [["focal", "patchy", "mild"], ["moderate", "dense"], ["extensive", "dense", "large"]])
        opts = [("%s consolidation in %s." % (_cap(sev), noun), loc, "positive"),
                ("%s %s consolidation." % (_cap(sev), adj), loc, "positive"),
                ("There is %s consolidation at %s." % (sev, noun), loc, "positive")]
        if impression:
            opts = [("%s consolidation." % _cap(adj), loc, "positive")]
        return _pick(rng, opts)
    if n == "Pneumonia":
        opts = [("Patchy opacity at %s, possibly pneumonia." % noun, loc, "uncertain"),
                ("%s opacity concerning for pneumonia." % _cap(adj), loc, "uncertain"),
                ("%s pneumonia." % _cap(adj), loc, "positive"),
                ("Consolidation in %s compatible with pneumonia." % noun, loc, "positive")]
        if impression:
            opts = [("%s pneumonia." % _cap(adj), loc, "positive"),
                    ("Findings concerning for %s pneumonia." % adj, loc, "uncertain")]
        return _pick(rng, opts)
    sev = _sev(rng, f, [["mild", "hazy", "faint"], ["patchy", "moderate"], ["extensive", "dense"]])
    return _pick(rng, [("%s %s opacity." % (_cap(sev), adj), loc, "positive"),
                       ("%s opacity in %s." % (_cap(sev), noun), loc, "positive"),
                       ("There is %s opacity at %s." % (sev, noun), loc, "positive")])


NEGATIONS = {
    "Pneumothorax": ["No pneumothorax.", "There is no pneumothorax.", "No evidence of pneumothorax."],
    "Pleural Effusion": ["No pleural effusion.", "No pleural effusions.", "There is no pleural effusion."],
    "Consolidation": ["No focal consolidation.", "There is no focal consolidation."],
    "Pneumonia": ["No focal consolidation to suggest pneumonia.", "No evidence of pneumonia."],
    "Edema": ["No pulmonary edema.", "There is no pulmonary vascular congestion or edema."],
    "Cardiomegaly": ["Heart size is normal.", "The cardiac silhouette is not enlarged.",
                     "The cardiomediastinal silhouette is within normal limits."],
    "Atelectasis": ["No atelectasis."],
    "Lung Opacity": ["No focal opacity."],
}
NORMAL_LINES = ["The mediastinal and hilar contours are normal.", "No acute osseous abnormality.",
                "The visualized osseous structures are unremarkable.", "Lungs are well expanded."]


def _sent(text, section, certainty, finding=None, location=None, box_ids=()):
    return {"text": text, "section": section, "certainty": certainty, "negated": certainty == "negative",
            "finding": finding, "location": location, "box_ids": list(box_ids)}


def make_report(rng, findings):
    """Sentence records for FINDINGS and IMPRESSION."""
    present = {f.name for f in findings}
    lung_findings = [f for f in findings if f.name != "Cardiomegaly"]
    sents = []
    if rng.random() < 0.4:
        sents.append(_sent(_pick(rng, ["PA and lateral views of the chest were obtained.",
                                       "Frontal view of the chest."]), "FINDINGS", "normal"))
    order = list(findings)
    rng.shuffle(order)
    for f in order:
        text, loc, cert = positive_sentence(rng, f)
        sents.append(_sent(text, "FINDINGS", cert, f.name, loc, [b for b, _ in f.boxes]))
    # negations: always at least one
    neg_pool = [k for k in ("Pneumothorax", "Pleural Effusion", "Consolidation", "Edema", "Cardiomegaly")
                if k not in present and not (k == "Consolidation" and present & {"Pneumonia", "Lung Opacity"})]
    rng.shuffle(neg_pool)
    k = max(1, int(rng.integers(1, len(neg_pool) + 1))) if neg_pool else 0
    done = set()
    for name in neg_pool[:k]:
        if name in done:
            continue
        if name == "Consolidation" and not lung_findings and rng.random() < 0.5:
            sents.append(_sent("The lungs are clear.", "FINDINGS", "normal"))
            name = "Pneumonia" if rng.random() < 0.3 else None
            if name is None:
                continue
        if (name == "Pleural Effusion" and "Pneumothorax" in neg_pool[:k] and "Pneumothorax" not in done
                and rng.random() < 0.5):
            sents.append(_sent("No pleural effusion or pneumothorax.", "FINDINGS", "negative", None))
            sents[-1]["negated_findings"] = ["Pleural Effusion", "Pneumothorax"]
            done.add("Pneumothorax")
            continue
        s = _sent(_pick(rng, NEGATIONS[name]), "FINDINGS", "negative")
        s["negated_findings"] = [name]
        sents.append(s)
        done.add(name)
    if not [s for s in sents if s["negated"]]:
        s = _sent("No pneumothorax.", "FINDINGS", "negative")
        s["negated_findings"] = ["Pneumothorax"]
        sents.append(s)
    if rng.random() < 0.5:
        sents.append(_sent(_pick(rng, NORMAL_LINES), "FINDINGS", "normal"))
    # impression
    if not findings:
        sents.append(_sent(_pick(rng, ["No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality.",
                                       "Normal chest radiograph."]), "IMPRESSION", "normal"))
    else:
        imp = sorted(findings, key=lambda f: -f.severity)
        for f in imp[: 1 + int(rng.integers(len(imp)))]:
            text, loc, cert = positive_sentence(rng, f, impression=True)
            sents.append(_sent(text, "IMPRESSION", cert, f.name, loc, [b for b, _ in f.boxes]))
    return sents


def report_text(sents, indication):
    """MIMIC-CXR style free text, under a first line that says it is synthetic."""
    fnd = " ".join(s["text"] for s in sents if s["section"] == "FINDINGS")
    imp = " ".join(s["text"] for s in sents if s["section"] == "IMPRESSION")
    lines = [" %s:  %s." % (SYNTHETIC, SYNTHETIC_NOTE), " ",
             "                                 FINAL REPORT",
             " EXAMINATION:  CHEST (PA AND LAT)", " ",
             " INDICATION:  %s" % indication, " ",
             " TECHNIQUE:  Chest PA and lateral", " ",
             " COMPARISON:  None.", " ",
             " FINDINGS: ", " ", " " + fnd, " ",
             " IMPRESSION: ", " ", " " + imp, ""]
    return "\n".join(lines)


def chexpert_labels(sents, findings):
    """CheXpert-style labels (1.0 / 0.0 / -1.0 / None) derived from the sentences."""
    lab = {k: None for k in CHEXPERT_LABELS}

    def setv(k, v):
        cur = lab[k]
        if cur is None or v == 1.0 or (v == -1.0 and cur == 0.0):
            lab[k] = v

    for s in sents:
        if s["certainty"] in ("positive", "uncertain") and s["finding"]:
            v = 1.0 if s["certainty"] == "positive" else -1.0
            setv(s["finding"], v)
            if s["finding"] in ("Pneumonia", "Consolidation") and "opacit" in s["text"].lower():
                setv("Lung Opacity", 1.0)
        elif s["certainty"] == "negative":
            for k in s.get("negated_findings", []):
                setv(k, 0.0)
    if not findings:
        lab["No Finding"] = 1.0
    return lab
