"""Parametric PA chest anatomy with per-case variation.

Geometry lives in "h-units": X across the thorax (X = -1 / +1 are the inner rib margins of the right /
left hemithorax; the patient's right is on the image's LEFT, so the right lung has X < 0), Y downward
from the lung apices (Y = 0), isotropic (1 h-unit = half the thoracic width in pixels). `Anatomy.px`
maps h-units to original-image pixels (translation, scale and an in-plane rotation).
"""
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

PRESETS = ("full", "small", "tiny")


def sample_size(rng, preset):
    """(width, height) of one image for a preset; non-square except `tiny`."""
    if preset == "tiny":
        return 128, 128
    lo, hi = {"full": (2000, 3000), "small": (512, 768)}[preset]
    span = hi - lo
    if rng.random() < 0.75:  # portrait / near square, like most PA detectors
        h = int(rng.integers(lo + int(0.35 * span), hi + 1))
        w = int(rng.integers(lo, h + 1))
    else:  # landscape detector orientation
        w = int(rng.integers(lo + int(0.35 * span), hi + 1))
        h = int(rng.integers(lo, w - int(0.03 * span) + 1))
    return w, h


@dataclass
class Anatomy:
    width: int
    height: int
    cx: float          # thorax centre x (px, before rotation)
    y_apex: float      # lung apex y (px, before rotation)
    h: float           # half thoracic width (px)
    theta: float       # in-plane rotation (radians)
    lung_len: float    # apex -> right costophrenic angle (h-units); inspiration
    left_drop: float   # left hemidiaphragm lower than the right (h-units)
    dome_h: tuple      # dome height above the costophrenic angle (right, left)
    ctr: float         # target cardiothoracic ratio
    heart_rb: float    # right heart border X
    body_w: float      # body half width (h-units)
    neck_w: float
    rib_dv: float      # rib / vertebra spacing (h-units)
    spine_dx: float    # rotation sign: spinous process offset
    female: bool
    hilum: tuple       # ((Xr, Yr), (Xl, Yl))
    knob: float        # aortic knob prominence
    extra: dict = field(default_factory=dict)

    # ---- coordinate transform -------------------------------------------------
    def px(self, X, Y):
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        x0 = X * self.h
        y0 = (Y - self.lung_len / 2) * self.h
        c, s = np.cos(self.theta), np.sin(self.theta)
        x = self.cx + c * x0 - s * y0
        y = self.y_apex + self.lung_len / 2 * self.h + s * x0 + c * y0
        return x, y

    def to_h(self, x, y):
        """Inverse of px (pixel -> h-units)."""
        x = np.asarray(x, dtype=np.float64) - self.cx
        y = np.asarray(y, dtype=np.float64) - (self.y_apex + self.lung_len / 2 * self.h)
        c, s = np.cos(self.theta), np.sin(self.theta)
        x0 = c * x + s * y
        y0 = -s * x + c * y
        return x0 / self.h, y0 / self.h + self.lung_len / 2

    # ---- lung outline ---------------------------------------------------------
    def cp_v(self, side):
        return self.lung_len + (self.left_drop if side > 0 else 0.0)

    def dome_top(self, side):
        return self.cp_v(side) - self.dome_h[1 if side > 0 else 0]

    def diaphragm_v(self, side, u):
        """Diaphragm height (Y) under lateral coordinate u >= 0 of one side."""
        u = np.asarray(u, dtype=np.float64)
        top, cp = self.dome_top(side), self.cp_v(side)
        upk, ucp, umed = 0.47, 0.95, 0.06
        med = top + 0.10
        lat = top + (cp - top) * np.clip((u - upk) / (ucp - upk), 0, None) ** 2
        mid = top + (med - top) * np.clip((upk - u) / (upk - umed), 0, 1) ** 2
        return np.where(u >= upk, lat, mid)

    def lung_outline(self, side, n=80):
        """Closed polygon (h-units) of one lung before the heart/mediastinum is cut out."""
        L = self.lung_len
        vc = 0.60 * L
        uc, au, skew = 0.53, 0.47, 0.12
        phi = np.linspace(np.pi, 0, n)
        c, sn = np.cos(phi), np.sin(phi)
        u1 = uc + au * np.sign(c) * np.abs(c) ** 0.85 - skew * sn
        v1 = vc - vc * sn ** 0.75
        t = np.linspace(0, 1, n // 2)[1:]
        cp = self.cp_v(side)
        u2 = 1.0 - 0.05 * t ** 2
        v2 = vc + (cp - vc) * t
        u3 = np.linspace(0.95, 0.06, n)[1:]
        v3 = self.diaphragm_v(side, u3)
        u = np.concatenate([u1, u2, u3])
        v = np.concatenate([v1, v2, v3])
        return side * u, v

    def mediastinum_outline(self):
        L = self.lung_len
        Y = np.linspace(-4.0, L + 1.0, 160)
        knobY, paY = 0.30 * L, 0.42 * L
        xr = -(0.10 + 0.045 * _smooth_step(Y, 0.05 * L, 0.25 * L))
        xl = (0.09 + 0.03 * _smooth_step(Y, 0.05 * L, 0.25 * L)
              + self.knob * np.exp(-((Y - knobY) / (0.07 * L)) ** 2)
              + 0.05 * np.exp(-((Y - paY) / (0.05 * L)) ** 2))
        return np.concatenate([xr, xl[::-1]]), np.concatenate([Y, Y[::-1]])

    def heart_ellipse(self):
        """(Xc, Yc, A, B, phi) of the heart ellipse in h-units."""
        phi, ratio = 0.50, 0.72
        c2, s2 = np.cos(phi) ** 2, np.sin(phi) ** 2
        A = self.ctr / np.sqrt(c2 + ratio ** 2 * s2)
        B = ratio * A
        vhalf = np.sqrt(A ** 2 * s2 + B ** 2 * c2)
        xc = self.heart_rb + self.ctr
        yc = self.diaphragm_v(1, 0.3) - 0.30 * vhalf
        return xc, yc, A, B, phi

    def heart_outline(self, n=120):
        xc, yc, A, B, phi = self.heart_ellipse()
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ex, ey = A * np.cos(t), B * np.sin(t)
        return xc + ex * np.cos(phi) - ey * np.sin(phi), yc + ex * np.sin(phi) + ey * np.cos(phi)

    def cardiomediastinal_outline(self):
        """Fills the gap between the heart and the upper mediastinum: on the left a slightly concave
        "cardiac waist" from the pulmonary trunk down to the left ventricle, on the right the superior
        vena cava running straight down into the right atrial bulge."""
        L = self.lung_len
        hx, hy = self.heart_outline(120)
        xc, yc = self.heart_ellipse()[:2]
        il, ir = int(np.argmax(hx)), int(np.argmin(hx))
        t = np.linspace(0, 1, 30)
        ypa = 0.40 * L
        xpa = 0.12 + 0.05
        lx = xpa + (hx[il] - xpa) * t ** 1.5
        ly = ypa + (hy[il] - ypa) * t
        ysvc = 0.36 * L
        xsvc = -0.145
        rx = xsvc + (hx[ir] - xsvc) * t ** 2.2
        ry = ysvc + (hy[ir] - ysvc) * t
        X = np.concatenate([[0.0], lx, [xc], rx[::-1]])
        Y = np.concatenate([[min(ypa, ysvc)], ly, [yc], ry[::-1]])
        return X, Y

    def cavity_outline(self):
        """Everything above both hemidiaphragms (h-units)."""
        u = np.linspace(0.0, 1.6, 60)
        vr = np.where(u < 0.95, self.diaphragm_v(-1, np.maximum(u, 0.06)), self.cp_v(-1) + 0.3 * (u - 0.95))
        vl = np.where(u < 0.95, self.diaphragm_v(1, np.maximum(u, 0.06)), self.cp_v(1) + 0.3 * (u - 0.95))
        X = np.concatenate([[-1.6], -u[::-1], u, [1.6]])
        Y = np.concatenate([[-5.0], vr[::-1], vl, [-5.0]])
        return X, Y

    def body_outline(self):
        L, bw, nw = self.lung_len, self.body_w, self.neck_w
        pts = [(-nw, -6.0), (-nw, -0.55), (-nw - 0.15, -0.42), (-bw + 0.05, -0.32), (-bw - 0.08, -0.05),
               (-bw, 0.35), (-bw + 0.06, 0.75 * L), (-bw + 0.02, L + 0.4), (-bw - 0.05, L + 1.3),
               (-bw - 0.05, L + 6.0)]
        right = np.array(pts)
        left = right[::-1].copy()
        left[:, 0] *= -1
        allp = np.concatenate([right, left])
        return _smooth_polyline(allp[:, 0], allp[:, 1], closed=True)

    # ---- skeleton -------------------------------------------------------------
    def rib_paths(self, side):
        """List of (posterior, anterior) centre-lines (h-units) of ribs 1..12 for one side."""
        out = []
        dv = self.rib_dv
        uend_tab = [0.60, 0.88, 1.01, 1.06, 1.08, 1.09, 1.09, 1.08, 1.07, 1.06, 1.05, 1.04]
        for k in range(12):
            v0 = -0.16 + k * dv * (0.9 + 0.02 * k)
            t = np.linspace(0, 1, 40)
            uend = uend_tab[k]
            rise = 0.10 if k < 2 else 0.085
            drop = 0.20 + 0.03 * k + (0.08 if k == 0 else 0.0)
            u = 0.08 + (uend - 0.08) * t
            v = v0 - rise * np.sin(np.pi * t * 0.7) + drop * t ** 2.6
            post = (side * u, v)
            ua = 0.16 if k == 0 else (0.26 if k == 1 else 0.33 + 0.01 * k)
            ta = np.linspace(0, 1, 30)
            ue = uend + 0.02 * np.sin(np.pi * ta)
            ua_t = uend - (uend - ua) * ta
            d1 = 0.16 if k == 0 else 0.30 + 0.02 * k
            va = v[-1] + 0.03 + d1 * ta - 0.05 * np.sin(np.pi * ta) + 0.0 * ue
            out.append((post, (side * ua_t, va)))
        return out

    def clavicle_path(self, side):
        t = np.linspace(0, 1, 40)
        u = 0.12 + 0.93 * t
        v = 0.20 - 0.30 * t + 0.045 * np.sin(2 * np.pi * t)
        return side * u, v

    def vertebrae(self):
        """List of (Xc, Yc, half_w, half_h) vertebral bodies from C6 to L2."""
        dv = self.rib_dv
        out = []
        for j in range(-3, 15):
            yc = -0.16 + j * dv * (0.9 + 0.02 * max(j, 0)) + 0.02
            hw = 0.085 + 0.004 * max(j, 0)
            out.append((self.spine_dx * 0.3, yc, hw, 0.40 * dv))
        return out


def _smooth_step(x, a, b):
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


def _smooth_polyline(x, y, closed=False, n=400):
    """Catmull-Rom-ish smoothing of a control polygon by dense linear resampling + moving average."""
    pts = np.stack([x, y], 1)
    if closed:
        pts = np.concatenate([pts, pts[:1]])
    seg = np.sqrt((np.diff(pts, axis=0) ** 2).sum(1))
    s = np.concatenate([[0], np.cumsum(seg)])
    si = np.linspace(0, s[-1], n)
    xi = np.interp(si, s, pts[:, 0])
    yi = np.interp(si, s, pts[:, 1])
    k = 9
    ker = np.ones(k) / k
    if closed:
        xi = np.convolve(np.concatenate([xi[-k:], xi, xi[:k]]), ker, "same")[k:-k]
        yi = np.convolve(np.concatenate([yi[-k:], yi, yi[:k]]), ker, "same")[k:-k]
    return xi, yi


def sample_anatomy(rng, width, height, ctr=None):
    """Draw one patient's anatomy for an image of the given size."""
    inspiration = rng.uniform(0, 1)
    lung_len = 1.42 + 0.45 * inspiration + rng.normal(0, 0.03)
    tw_frac = rng.uniform(0.64, 0.80)
    h = tw_frac * width / 2
    # must fit vertically: ~0.09 H above apex, lung, and >= 0.10 H of abdomen below
    top_frac = rng.uniform(0.07, 0.15)
    need = (lung_len + 0.25) * h
    avail = height * (1 - top_frac - 0.08)
    if need > avail:
        h *= avail / need
    cx = width / 2 + rng.normal(0, 0.015) * width
    y_apex = top_frac * height
    if ctr is None:
        ctr = rng.uniform(0.40, 0.48)
    heart_rb = -(0.22 + 0.03 * rng.normal() + 0.8 * max(ctr - 0.45, 0))
    dome = 0.34 - 0.14 * inspiration
    return Anatomy(
        width=width, height=height, cx=cx, y_apex=y_apex, h=h,
        theta=np.deg2rad(rng.uniform(-4, 4)),
        lung_len=lung_len, left_drop=rng.uniform(0.03, 0.10),
        dome_h=(dome + rng.normal(0, 0.02), dome + rng.normal(0, 0.02)),
        ctr=float(ctr), heart_rb=heart_rb,
        body_w=rng.uniform(1.22, 1.50), neck_w=rng.uniform(0.34, 0.44),
        rib_dv=rng.uniform(0.155, 0.175), spine_dx=rng.uniform(-0.05, 0.05),
        female=bool(rng.random() < 0.45),
        hilum=((-0.22 + rng.normal(0, 0.01), 0.56 * lung_len), (0.22 + rng.normal(0, 0.01), 0.52 * lung_len)),
        knob=rng.uniform(0.06, 0.12),
        extra={"inspiration": float(inspiration)},
    )


# ---- rasterisation ------------------------------------------------------------

class Raster:
    """Rasterises h-unit polygons of an Anatomy onto a grid of scale `s` (grid px per original px)."""

    def __init__(self, anat, s):
        self.a = anat
        self.s = s
        self.w = max(1, int(round(anat.width * s)))
        self.h = max(1, int(round(anat.height * s)))

    def grid_xy(self, X, Y):
        x, y = self.a.px(X, Y)
        return x * self.s, y * self.s

    def poly(self, X, Y, ss=2):
        """Anti-aliased coverage in [0,1] of a polygon given in h-units."""
        x, y = self.grid_xy(X, Y)
        out = np.zeros((self.h, self.w), np.float32)
        x0, y0 = max(0, int(np.floor(x.min())) - 1), max(0, int(np.floor(y.min())) - 1)
        x1, y1 = min(self.w, int(np.ceil(x.max())) + 2), min(self.h, int(np.ceil(y.max())) + 2)
        if x1 <= x0 or y1 <= y0:
            return out
        img = Image.new("L", ((x1 - x0) * ss, (y1 - y0) * ss), 0)
        pts = list(zip(((x - x0) * ss).tolist(), ((y - y0) * ss).tolist()))
        ImageDraw.Draw(img).polygon(pts, fill=255)
        if ss > 1:
            img = img.resize((x1 - x0, y1 - y0), Image.BOX)
        out[y0:y1, x0:x1] = np.asarray(img, dtype=np.float32) / 255.0
        return out

    def grid_h_coords(self):
        """(X, Y) h-unit coordinates of every grid pixel centre."""
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float64)
        X, Y = self.a.to_h((xx + 0.5) / self.s, (yy + 0.5) / self.s)
        return X.astype(np.float32), Y.astype(np.float32)


def anatomy_masks(anat, raster):
    """Binary-ish masks (coverage) of the lungs, heart silhouette, mediastinum, cavity and body."""
    r = raster
    cav = r.poly(*anat.cavity_outline())
    heart_full = r.poly(*anat.heart_outline())
    heart = heart_full * cav
    med = r.poly(*anat.mediastinum_outline())
    hull = r.poly(*anat.cardiomediastinal_outline())
    cut = np.maximum(np.maximum(heart_full, med), hull)
    lungs = {}
    for name, side in (("right", -1), ("left", 1)):
        lungs[name] = r.poly(*anat.lung_outline(side)) * (1 - cut)
    body = r.poly(*anat.body_outline())
    return {"lung_right": lungs["right"], "lung_left": lungs["left"], "heart": heart,
            "heart_full": heart_full, "mediastinum": np.maximum(med, hull), "cavity": cav, "body": body}


def mask_bbox(mask, s, width, height, thr=0.5):
    """Box (x, y, w, h) in original pixels of a grid mask; None when empty."""
    ys, xs = np.nonzero(mask > thr)
    if len(xs) == 0:
        return None
    x0 = int(np.floor(xs.min() / s))
    y0 = int(np.floor(ys.min() / s))
    x1 = int(np.ceil((xs.max() + 1) / s))
    y1 = int(np.ceil((ys.max() + 1) / s))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x1), min(height, y1)
    return [x0, y0, max(1, x1 - x0), max(1, y1 - y0)]


def region_boxes(masks, s, width, height):
    """The 13 Chest ImaGenome regions (method.md 4.2) from the lung and heart masks, original pixels."""
    out = {}
    for side in ("right", "left"):
        m = masks["lung_" + side] > 0.5
        out[side + " lung"] = mask_bbox(m, s, width, height)
        rows = np.nonzero(m.any(1))[0]
        top, bot = rows.min(), rows.max() + 1
        L = bot - top

        def band(a, b, sub=None):
            mm = np.zeros_like(m)
            r0, r1 = int(round(top + a * L)), int(round(top + b * L))
            mm[r0:r1] = m[r0:r1]
            if sub is not None:
                mm &= sub
            return mm

        out[side + " apical zone"] = mask_bbox(band(0, 0.17), s, width, height)
        out[side + " upper lung zone"] = mask_bbox(band(0, 1 / 3), s, width, height)
        out[side + " mid lung zone"] = mask_bbox(band(1 / 3, 2 / 3), s, width, height)
        out[side + " lower lung zone"] = mask_bbox(band(2 / 3, 1.0), s, width, height)
        cols = np.nonzero(m.any(0))[0]
        c0, c1 = cols.min(), cols.max() + 1
        lat = np.zeros_like(m)
        cw = int(round(0.32 * (c1 - c0)))
        if side == "right":  # patient's right = image left: lateral is small x
            lat[:, c0:c0 + cw] = True
        else:
            lat[:, c1 - cw:c1] = True
        out[side + " costophrenic angle"] = mask_bbox(band(0.86, 1.0, lat), s, width, height)
    out["cardiac silhouette"] = mask_bbox(masks["heart"], s, width, height)
    return out


def measure_ctr(heart_mask, lung_right, lung_left, thr=0.5):
    """Cardiothoracic ratio from masks: max horizontal heart width / max horizontal thoracic width."""
    hm = heart_mask > thr
    lm = (lung_right > thr) | (lung_left > thr)
    hc = np.nonzero(hm.any(0))[0]
    lc = np.nonzero(lm.any(0))[0]
    return float((hc.max() - hc.min() + 1) / (lc.max() - lc.min() + 1))
