"""The 8 findings of method.md: sampling (type, location, severity) and location-true rendering.

Each finding edits the Scene's modifier maps (extra attenuation, lung-air and lung-marking scales) and
gets ground-truth boxes in original pixels, derived from what was actually drawn.
"""
from dataclasses import dataclass, field

import numpy as np

from .anatomy import mask_bbox
from .render import smooth_noise

OPACITY_GROUP = ("Consolidation", "Pneumonia", "Lung Opacity")
TYPE_WEIGHTS = {
    "Lung Opacity": 1.0, "Consolidation": 0.9, "Pneumonia": 1.0, "Atelectasis": 1.2,
    "Pleural Effusion": 1.3, "Pneumothorax": 0.8, "Edema": 0.7, "Cardiomegaly": 1.0,
}
SEVERITY = ("mild", "moderate", "severe")


@dataclass
class Finding:
    name: str
    location: str          # method.md 4.1 vocabulary, the true location
    severity: int          # 0 mild/small, 1 moderate, 2 severe/large
    params: dict = field(default_factory=dict)
    boxes: list = field(default_factory=list)   # [(box_id, [x, y, w, h]), ...] original pixels

    def sides(self):
        loc = self.location
        if loc.startswith("bilateral") or loc in ("bibasilar", "pulmonary"):
            return ("right", "left")
        if loc.startswith("right"):
            return ("right",)
        if loc.startswith("left") or loc == "lingular":
            return ("left",)
        return ()

    def zone(self):
        loc = self.location
        if loc == "bibasilar":
            return "base"
        if loc in ("lingular", "pulmonary", "cardiomegaly"):
            return loc
        parts = loc.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""

    def to_dict(self):
        return {"finding": self.name, "location": self.location, "severity": SEVERITY[self.severity],
                "box_ids": [b for b, _ in self.boxes], "params": self.params}


def _pick(rng, items, weights=None):
    if weights is None:
        return items[int(rng.integers(len(items)))]
    p = np.asarray(weights, float)
    return items[int(rng.choice(len(items), p=p / p.sum()))]


def _join(side, zone):
    if side == "bilateral" and zone == "base":
        return "bibasilar"
    return (side + " " + zone).strip()


def sample_findings(rng):
    """0-3 findings with locations and severities (some cases normal)."""
    n = int(rng.choice(4, p=[0.28, 0.36, 0.23, 0.13]))
    names = list(TYPE_WEIGHTS)
    chosen = []
    while len(chosen) < n:
        nm = _pick(rng, names, [TYPE_WEIGHTS[k] for k in names])
        if nm in chosen or (nm in OPACITY_GROUP and any(c in OPACITY_GROUP for c in chosen)):
            continue
        chosen.append(nm)
    out = []
    for nm in chosen:
        sev = int(rng.choice(3, p=[0.5, 0.35, 0.15] if nm == "Pleural Effusion" else [0.45, 0.35, 0.20]))
        if nm in OPACITY_GROUP:
            side = _pick(rng, ["right", "left", "bilateral"], [0.45, 0.40, 0.15])
            if side == "bilateral":
                zone = _pick(rng, ["lower", "base", ""], [0.4, 0.4, 0.2])
            else:
                zones = ["lower", "base", "middle", "upper", "", "apical"] + (["lingular"] if side == "left" else [])
                zone = _pick(rng, zones, [0.28, 0.15, 0.15, 0.15, 0.10, 0.05] + ([0.12] if side == "left" else []))
            loc = "lingular" if zone == "lingular" else _join(side, zone)
        elif nm == "Atelectasis":
            loc = _pick(rng, ["right lower", "left lower", "right base", "left base", "bibasilar", "lingular",
                              "bilateral lower"], [0.17, 0.17, 0.12, 0.12, 0.22, 0.1, 0.1])
        elif nm == "Pleural Effusion":
            side = _pick(rng, ["right", "left", "bilateral"], [0.38, 0.34, 0.28])
            loc = _join(side, "costophrenic" if sev == 0 else "pleural")
        elif nm == "Pneumothorax":
            side = _pick(rng, ["right", "left"])
            loc = _join(side, "apical" if (sev == 0 or (sev == 1 and rng.random() < 0.5)) else "")
        elif nm == "Edema":
            loc = _pick(rng, ["pulmonary", "bilateral"], [0.7, 0.3])
        else:
            loc = "cardiomegaly"
        f = Finding(nm, loc, sev)
        if nm == "Cardiomegaly":
            f.params["target_ctr"] = float(rng.uniform(*[(0.56, 0.60), (0.60, 0.65), (0.65, 0.70)][sev]))
        if nm == "Atelectasis":
            f.params["form"] = _pick(rng, ["linear", "wedge"])
        out.append(f)
    # an opacity at a base already filled by a moderate/large effusion would be hidden: move it up a zone
    wet = {s for f in out if f.name == "Pleural Effusion" and f.severity > 0 for s in f.sides()}
    for f in out:
        if f.name in OPACITY_GROUP and set(f.sides()) & wet and f.zone() in ("lower", "base"):
            side = "bilateral" if len(f.sides()) == 2 else f.sides()[0]
            f.location = _join(side, _pick(rng, ["middle", "upper"]))
    # basal atelectasis under such an effusion is invisible (compressive): leave it out
    return [f for f in out if not (f.name == "Atelectasis" and f.location != "lingular" and set(f.sides()) & wet)]


# ---- geometry helpers on the scene grid ---------------------------------------------

def lung_band(scene, side, a, b):
    """Part of one lung between fractions a..b of its height (0 = apex)."""
    m = scene.lung(-1 if side == "right" else 1)
    rows = np.nonzero((m > 0.5).any(1))[0]
    top, bot = rows.min(), rows.max() + 1
    L = bot - top
    out = np.zeros_like(m)
    r0, r1 = int(round(top + a * L)), int(round(top + b * L))
    out[r0:r1] = m[r0:r1]
    return out


ZONE_BANDS = {"apical": (0, 0.2), "upper": (0.05, 0.36), "middle": (0.33, 0.66), "lower": (0.64, 1.0),
              "base": (0.72, 1.0), "": (0.1, 0.95), "costophrenic": (0.82, 1.0), "pleural": (0.6, 1.0)}


def zone_mask(scene, side, zone):
    if zone == "lingular":
        m = lung_band(scene, "left", 0.48, 0.78)
        X = scene.X
        med = np.clip((0.75 - X) / 0.2, 0, 1)  # medial part of the left lung, next to the heart border
        return m * med
    a, b = ZONE_BANDS[zone]
    return lung_band(scene, side, a, b)


MIN_BOX_FRAC = 0.08  # a box side must be at least this fraction of the half thoracic width


def side_boxes(scene, mask, sides):
    """One box per side of a binary grid mask (original pixels); tiny remnants are dropped."""
    a = scene.anat
    out = []
    for side in sides:
        sm = (scene.X < 0) if side == "right" else (scene.X >= 0)
        b = mask_bbox(mask & sm, scene.s, a.width, a.height)
        if b is not None and min(b[2], b[3]) >= MIN_BOX_FRAC * a.h:
            out.append(b)
    return out


def _boxes_per_side(scene, contrib, sides, thr_frac=0.3):
    """One box per side of a density contribution map (original pixels)."""
    mx = contrib.max()
    if mx <= 0:
        return []
    return side_boxes(scene, contrib > thr_frac * mx, sides)


# ---- renderers ------------------------------------------------------------------------

def fill(scene, amount, dens):
    """Air spaces filled with fluid/tissue: the lung loses air where `amount` (0..1) is high, so an opacity
    can reach, but not exceed, soft-tissue density; a little extra keeps faint haze visible."""
    scene.air_scale *= (1 - dens * amount)
    scene.extra += 0.04 * dens * amount


def render_opacity(f, scene, rng):
    zone = f.zone()
    sides = f.sides()
    dens = {"Consolidation": 0.75, "Pneumonia": 0.70, "Lung Opacity": 0.55}[f.name] * (0.8 + 0.12 * f.severity)
    total = np.zeros(scene.shape, np.float32)
    for side in sides:
        zm = zone_mask(scene, side, zone)
        if (zm > 0.5).sum() < 4:
            zm = zone_mask(scene, side, "lower")
        ys, xs = np.nonzero(zm > 0.5)
        i = int(rng.integers(len(xs)))
        cxg, cyg = xs[i], ys[i]
        # envelope: ellipse around a point of the zone, size grows with severity
        ext_x = (xs.max() - xs.min() + 1)
        ext_y = (ys.max() - ys.min() + 1)
        sx = max(3.0, ext_x * (0.28 + 0.12 * f.severity))
        sy = max(3.0, ext_y * (0.30 + 0.12 * f.severity))
        cxg = 0.5 * cxg + 0.5 * xs.mean()
        cyg = 0.5 * cyg + 0.5 * ys.mean()
        yy, xx = np.mgrid[0:scene.shape[0], 0:scene.shape[1]]
        env = np.exp(-(((xx - cxg) / sx) ** 2 + ((yy - cyg) / sy) ** 2) ** 1.5)
        patch = smooth_noise(rng, scene.shape, max(0.6, 0.05 * scene.hpx))
        fine = smooth_noise(rng, scene.shape, max(0.5, 0.015 * scene.hpx))
        patchy = 1 / (1 + np.exp(-(patch + 0.25 * fine) / 0.45))
        op = env * (0.5 + 0.5 * patchy)
        soft_zone = scene.blur_h(zm, 0.04)
        op = op * np.clip(soft_zone * 1.5, 0, 1) * scene.lung(-1 if side == "right" else 1)
        total += op
    total = np.clip(scene.blur_h(total, 0.008), 0, 1) * np.clip(scene.air_scale, 0, 1)
    fill(scene, total, dens)
    scene.vessel_scale *= (1 - 0.6 * total)
    return _boxes_per_side(scene, total, sides)


def render_atelectasis(f, scene, rng):
    zone = f.zone() if f.location != "lingular" else "lingular"
    sides = f.sides()
    dens = (0.65 if f.params.get("form") == "linear" else 0.75) + 0.1 * f.severity
    total = np.zeros(scene.shape, np.float32)
    a = scene.anat
    for side in sides:
        sgn = -1 if side == "right" else 1
        lm = scene.lung(sgn)
        if zone == "lingular":
            zm = zone_mask(scene, side, "lingular")
        else:
            zm = zone_mask(scene, side, "base" if zone == "base" else "lower")
        ys, xs = np.nonzero(zm > 0.5)
        if len(xs) < 4:
            continue
        X0, Y0 = scene.X[ys, xs], scene.Y[ys, xs]
        if f.params.get("form") == "linear":
            # plate-like band, roughly horizontal, in the lower part of the zone
            cxh = float(np.median(X0)) + rng.normal(0, 0.05)
            cyh = float(np.percentile(Y0, 55)) + rng.normal(0, 0.03)
            ang = np.deg2rad(rng.uniform(-12, 18)) * sgn
            length = 0.28 + 0.08 * f.severity
            thick = 0.018 + 0.008 * f.severity
            dx, dy = scene.X - cxh, scene.Y - cyh
            along = dx * np.cos(ang) + dy * np.sin(ang)
            across = -dx * np.sin(ang) + dy * np.cos(ang)
            band = np.exp(-(across / thick) ** 2) * np.clip(1 - (np.abs(along) / length) ** 4, 0, 1)
            op = band
        else:
            # wedge: triangle with its base on the diaphragm and apex towards the hilum
            hx, hy = a.hilum[0 if sgn < 0 else 1]
            ybase = a.dome_top(sgn) + 0.12
            u0 = rng.uniform(0.15, 0.3)
            xb1, xb2 = sgn * u0, sgn * (u0 + 0.35 + 0.08 * f.severity)
            tip = (hx + sgn * rng.uniform(0.0, 0.1), hy + (0.35 - 0.08 * f.severity) * (ybase - hy))
            op = scene.r.poly(np.array([tip[0], xb1, xb2]), np.array([tip[1], ybase, ybase]))
            op = scene.blur_h(op, 0.012)
        total += op * lm
    total = np.clip(scene.blur_h(total, 0.004), 0, 1) * np.clip(scene.air_scale, 0, 1)
    fill(scene, total, dens)
    scene.vessel_scale *= (1 - 0.5 * total)
    return _boxes_per_side(scene, total, sides, 0.35)


def render_effusion(f, scene, rng):
    sides = f.sides()
    a = scene.anat
    total = np.zeros(scene.shape, np.float32)
    X, Y = scene.X, scene.Y
    # the effusion fills the hemithorax from below (including the costophrenic recess), outlining a meniscus
    for side in sides:
        sgn = -1 if side == "right" else 1
        cp = a.cp_v(sgn)
        L = a.lung_len
        level = cp - [0.13, 0.40 + rng.uniform(0, 0.1), 0.75 + rng.uniform(0, 0.2)][f.severity] * (L / 1.7)
        rise = [0.14, 0.26, 0.30][f.severity] * (L / 1.7)
        u = np.clip(sgn * X, 0, 1.2)
        top = level - rise * np.clip((u - 0.15) / 0.85, 0, 1) ** 1.6
        fl = np.clip((Y - top) / (0.08 + 0.08 * f.severity), 0, 1) ** 1.5
        outline = scene.r.poly(*a.lung_outline(sgn))
        outline = np.clip(scene.blur_h(outline, 0.012) * 2, 0, 1)
        outline = outline * (1 - scene.masks["heart_full"]) * (1 - scene.masks["mediastinum"])
        fl = fl * outline
        total += fl
    total = scene.blur_h(total, 0.006)
    scene.air_scale *= (1 - 0.92 * total)
    scene.vessel_scale *= (1 - total)
    scene.extra += 0.06 * total
    return side_boxes(scene, total > 0.5, sides)


def render_pneumothorax(f, scene, rng):
    a = scene.anat
    side = f.sides()[0]
    sgn = -1 if side == "right" else 1
    hx, hy = a.hilum[0 if sgn < 0 else 1]
    L = a.lung_len
    X0, Y0 = a.lung_outline(sgn, n=160)
    f0 = [0.86, 0.74, 0.55][f.severity] + rng.uniform(-0.03, 0.03)
    ylim = [0.30, 0.38, 0.38][f.severity] * L if f.zone() == "apical" else 0.85 * L
    w = np.clip((ylim - Y0) / (0.25 * L), 0, 1)
    w = w * w * (3 - 2 * w)
    k = 1 - (1 - f0) * w
    Xc = hx + (X0 - hx) * k
    Yc = hy + (Y0 - hy) * k
    outer = scene.r.poly(X0, Y0) * (1 - scene.masks["heart_full"]) * (1 - scene.masks["mediastinum"])
    coll = scene.r.poly(Xc, Yc)
    gap = np.clip(outer - coll, 0, 1)
    gap_s = scene.blur_h(gap, 0.004)
    scene.vessel_scale *= (1 - gap_s)
    scene.air_scale *= (1 + 0.30 * gap_s) * (1 - 0.08 * scene.blur_h(coll * outer, 0.01))
    c = scene.blur_h(coll, 0.003)
    edge = 4 * c * (1 - c) * scene.blur_h((gap > 0.5).astype(np.float32), 0.02) * outer
    scene.extra += (0.10 + 0.03 * f.severity) * np.clip(edge * 2, 0, 1)
    scene.extra += 0.015 * scene.blur_h(coll * outer, 0.01)  # the collapsed lung is slightly denser
    f.params["collapse_factor"] = float(f0)
    return side_boxes(scene, gap > 0.5, (side,))


def render_edema(f, scene, rng):
    a = scene.anat
    dens = [0.35, 0.45, 0.58][f.severity]
    total = np.zeros(scene.shape, np.float32)
    for sgn, (hx, hy) in zip((-1, 1), a.hilum):
        g = np.exp(-(((scene.X - hx - sgn * 0.1) / (0.32 + 0.06 * f.severity)) ** 2
                     + ((scene.Y - hy - 0.05) / (0.42 + 0.08 * f.severity)) ** 2) ** 1.2)
        total += g * scene.lung(sgn)
    tex = 1 / (1 + np.exp(-smooth_noise(rng, scene.shape, max(0.6, 0.02 * scene.hpx)) / 0.5))
    total = np.clip(scene.blur_h(total, 0.02) * (0.7 + 0.3 * tex), 0, 1) * np.clip(scene.air_scale, 0, 1)
    fill(scene, total, dens)
    scene.vessel_scale *= (1 - 0.4 * total)
    return _boxes_per_side(scene, total, ("right", "left"), 0.4)


def render_cardiomegaly(f, scene, rng, region_boxes):
    scene.heart_scale = 1.2
    return [region_boxes["cardiac silhouette"]]


RENDERERS = {
    "Consolidation": render_opacity, "Pneumonia": render_opacity, "Lung Opacity": render_opacity,
    "Atelectasis": render_atelectasis, "Pleural Effusion": render_effusion,
    "Pneumothorax": render_pneumothorax, "Edema": render_edema,
}


def apply_findings(findings, scene, rng, region_boxes):
    """Render every finding into the scene and attach its boxes (with case-unique ids)."""
    n = 0
    # effusion first so that opacities/atelectasis lie on top of the remaining aerated lung
    order = sorted(findings, key=lambda f: 0 if f.name == "Pleural Effusion" else 1)
    for f in order:
        if f.name == "Cardiomegaly":
            boxes = render_cardiomegaly(f, scene, rng, region_boxes)
        else:
            boxes = RENDERERS[f.name](f, scene, rng)
        if len(f.sides()) == 2 and len(boxes) == 1 and f.location != "pulmonary":
            # one side came out too small to box: the finding is unilateral after all
            side = "right" if boxes[0][0] + boxes[0][2] / 2 < scene.anat.cx else "left"
            f.location = f.location.replace("bilateral", side).replace("bibasilar", side + " base")
        f.boxes = []
        for b in boxes:
            f.boxes.append(("b%d" % n, [int(v) for v in b]))
            n += 1
    return findings
