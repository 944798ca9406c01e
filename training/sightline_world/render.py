"""Radiograph-like rendering: an attenuation-like sum of soft shapes, then an exposure curve.

Bright = high attenuation (bone, mediastinum, abdomen), dark = air (lungs, outside the body), as on a
displayed PA radiograph (MONOCHROME2 convention).
"""
import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from .anatomy import Raster, anatomy_masks

WORK_LONG = {"tiny": 256, "small": None, "full": 1280}


def work_scale(preset, width, height):
    long_side = WORK_LONG[preset]
    if long_side is None:
        return 1.0
    return long_side / max(width, height)


def _blur(a, sigma):
    if sigma < 0.3:
        return a
    return ndimage.gaussian_filter(a, sigma, mode="nearest")


class Scene:
    """Work-resolution grid with the anatomy masks and the modifier maps findings write into."""

    def __init__(self, anat, s):
        self.anat = anat
        self.s = s
        self.r = Raster(anat, s)
        self.shape = (self.r.h, self.r.w)
        self.masks = anatomy_masks(anat, self.r)
        self.X, self.Y = self.r.grid_h_coords()
        self.hpx = anat.h * s  # grid pixels per h-unit
        self.air_scale = np.ones(self.shape, np.float32)     # multiplies lung air
        self.vessel_scale = np.ones(self.shape, np.float32)  # multiplies lung markings
        self.extra = np.zeros(self.shape, np.float32)         # added attenuation (findings)
        self.heart_scale = 1.0

    def blur_h(self, a, sigma_h):
        return _blur(a, sigma_h * self.hpx)

    def lung(self, side):
        return self.masks["lung_right" if side < 0 else "lung_left"]

    def lungs(self):
        return np.maximum(self.masks["lung_right"], self.masks["lung_left"])


# ---- drawing helpers ------------------------------------------------------------

def _band_polygon(X, Y, half_w):
    """Polygon around a centre-line with (possibly varying) half width, h-units."""
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    dx, dy = np.gradient(X), np.gradient(Y)
    n = np.sqrt(dx * dx + dy * dy) + 1e-9
    nx, ny = -dy / n, dx / n
    hw = np.broadcast_to(np.asarray(half_w, float), X.shape)
    px = np.concatenate([X + nx * hw, (X - nx * hw)[::-1]])
    py = np.concatenate([Y + ny * hw, (Y - ny * hw)[::-1]])
    return px, py


def draw_bone_band(scene, acc, X, Y, half_w, dens, cortex=0.55, fade=None):
    """Add a bone-like band (bright cortex, lighter medulla) to `acc` (grid)."""
    r = scene.r
    outer = r.poly(*_band_polygon(X, Y, half_w))
    inner = r.poly(*_band_polygon(X, Y, np.asarray(half_w) * 0.55))
    band = (outer - inner) * (1.0 + cortex) + inner * (1.0 - 0.25 * cortex)
    if fade is not None:  # fade along the path: fade(t) given per point, spread by nearest point
        gx, gy = r.grid_xy(X, Y)
        ys, xs = np.nonzero(outer > 0.01)
        if len(xs):
            d = (xs[:, None] + 0.5 - gx[None, :]) ** 2 + (ys[:, None] + 0.5 - gy[None, :]) ** 2
            f = np.asarray(fade)[np.argmin(d, 1)]
            w = np.ones_like(band)
            w[ys, xs] = f
            band *= w
    acc += dens * band


def vessel_tree(rng, anat, side):
    """Branching segments (X0, Y0, X1, Y1, half_width) from one hilum, h-units."""
    hx, hy = anat.hilum[0 if side < 0 else 1]
    segs = []
    L = anat.lung_len
    base_dirs = [-105, -80, -55, -30, -5, 20, 45, 70, 95, 115]  # degrees from lateral, positive = downward
    for a in base_dirs:
        ang = np.deg2rad(a + rng.normal(0, 8))
        # trunks leave the hilum at different heights (the hilum is vertically elongated)
        sx, sy = hx + side * rng.uniform(0.0, 0.06), hy + 0.16 * np.sin(np.deg2rad(a)) + rng.normal(0, 0.02)
        _grow(rng, segs, sx, sy, ang, side, 0.16 * L * rng.uniform(0.8, 1.1), 0.016, 0)
    return segs


def _grow(rng, segs, x, y, ang, side, length, hw, depth):
    if depth > 4 or hw < 0.003:
        return
    n = 4
    for _ in range(n):
        ang += rng.normal(0, 0.12)
        dx = side * np.cos(ang) * length / n
        dy = np.sin(ang) * length / n
        segs.append((x, y, x + dx, y + dy, hw))
        x, y = x + dx, y + dy
        hw *= 0.9
    for sgn in (-1, 1):
        _grow(rng, segs, x, y, ang + sgn * rng.uniform(0.25, 0.6), side, length * rng.uniform(0.55, 0.75),
              hw * 0.7, depth + 1)


def draw_segments(scene, segs, hila):
    r = scene.r
    img = Image.new("F", (r.w, r.h), 0.0)
    d = ImageDraw.Draw(img)
    for x0, y0, x1, y1, hw in segs:
        hx, hy = min(hila, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)
        gx, gy = r.grid_xy(np.array([x0, x1]), np.array([y0, y1]))
        wpx = 2 * hw * scene.hpx
        dh = np.hypot(x0 - hx, y0 - hy)
        val = float(min(1.0, (hw / 0.018) ** 0.7) * np.exp(-dh / 0.6))
        d.line([(gx[0], gy[0]), (gx[1], gy[1])], fill=val, width=max(1, int(round(wpx))))
    return np.asarray(img, np.float32)


def smooth_noise(rng, shape, sigma):
    n = rng.standard_normal(shape).astype(np.float32)
    n = _blur(n, sigma)
    sd = n.std()
    return n / sd if sd > 0 else n


# ---- anatomy layers ---------------------------------------------------------------

def anatomy_layers(scene, rng):
    """Compute the anatomy density layers once; findings then edit the scene's modifier maps."""
    a, m, X, Y = scene.anat, scene.masks, scene.X, scene.Y
    L = a.lung_len
    lay = {}
    body = scene.blur_h(m["body"], 0.03)
    prof = np.sqrt(np.clip(1 - (X / (a.body_w + 0.05)) ** 2, 0, 1))
    lay["body"] = body * (0.10 + 0.90 * prof ** 1.3)
    # below the diaphragm: liver / abdomen slightly denser, a gastric bubble under the left dome
    below = scene.blur_h(1 - m["cavity"], 0.02) * m["body"]
    lay["abdomen"] = 0.10 * below
    gb = np.exp(-(((X - 0.55) / 0.18) ** 2 + ((Y - (a.dome_top(1) + 0.16)) / 0.08) ** 2))
    lay["abdomen"] -= 0.22 * gb * below * float(rng.random() < 0.7)
    # lung air: deeper centrally and towards the bases
    lungs_soft = {}
    for name in ("right", "left"):
        lm = m["lung_" + name]
        dist = ndimage.distance_transform_edt(lm > 0.5) / scene.hpx
        depth = np.clip(dist / 0.35, 0, 1) ** 0.6
        grad = 0.85 + 0.25 * np.clip(Y / L, 0, 1.1)
        lungs_soft[name] = scene.blur_h(lm, 0.008) * (0.35 + 0.65 * depth) * grad
    lay["air_r"], lay["air_l"] = lungs_soft["right"], lungs_soft["left"]
    # heart slightly denser than the rest of the mediastinum
    lay["heart"] = 0.02 * scene.blur_h(m["heart_full"], 0.01)
    # trachea and main bronchi (air)
    cy = a.hilum[0][1] - 0.18 * L
    tX = np.array([0.0, 0.0, -0.01])
    tY = np.array([-5.0, 0.1 * L, cy])
    tr = scene.r.poly(*_band_polygon(tX, tY, 0.045))
    rb = scene.r.poly(*_band_polygon(np.array([-0.01, -0.16]), np.array([cy, a.hilum[0][1] - 0.05]), 0.03))
    lb = scene.r.poly(*_band_polygon(np.array([-0.01, 0.18]), np.array([cy, a.hilum[1][1] - 0.02]), 0.028))
    airway = scene.blur_h(np.maximum(tr, np.maximum(rb, lb)), 0.015)
    lay["airway"] = airway * (1 - 0.6 * scene.blur_h(scene.lungs(), 0.02))
    # hila: vessel bundles
    hil = np.zeros(scene.shape, np.float32)
    for (hx, hy) in a.hilum:
        hil += np.exp(-(((X - hx) / 0.09) ** 2 + ((Y - hy) / 0.16) ** 2))
    lay["hila"] = hil
    # spine
    sp = np.zeros(scene.shape, np.float32)
    for (vx, vy, hw, hh) in a.vertebrae():
        t = np.linspace(0, 2 * np.pi, 40)
        px = vx + hw * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** 0.55
        py = vy + hh * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** 0.55
        body_v = scene.r.poly(px, py, ss=1)
        sp += body_v * 0.45
        for sx in (-1, 1):  # pedicles
            e = np.exp(-(((X - vx - sx * 0.8 * hw) / 0.022) ** 2 + ((Y - vy + 0.2 * hh) / 0.035) ** 2))
            sp += 0.3 * e
        e = np.exp(-(((X - vx + 1.6 * a.spine_dx) / 0.02) ** 2 + ((Y - vy - 0.3 * hh) / 0.05) ** 2))
        sp += 0.3 * e
    lay["spine"] = scene.blur_h(sp, 0.01)
    # ribs and clavicles
    post = np.zeros(scene.shape, np.float32)
    ant = np.zeros(scene.shape, np.float32)
    for side in (-1, 1):
        for k, (pp, ap) in enumerate(a.rib_paths(side)):
            hw = (0.042 if k > 0 else 0.034) * (1 + 0.1 * rng.normal())
            tp = np.linspace(0, 1, len(pp[0]))
            draw_bone_band(scene, post, pp[0], pp[1], hw, 1.0, cortex=0.7, fade=1.15 - 0.55 * tp)
            tt = np.linspace(0, 1, len(ap[0]))
            draw_bone_band(scene, ant, ap[0], ap[1], hw * 1.15, 1.0, cortex=0.3, fade=np.clip(1.6 - 1.4 * tt, 0, 1))
    lay["rib_post"] = scene.blur_h(post, 0.005)
    lay["rib_ant"] = scene.blur_h(ant, 0.012)
    cl = np.zeros(scene.shape, np.float32)
    for side in (-1, 1):
        cX, cY = a.clavicle_path(side)
        t = np.linspace(0, 1, len(cX))
        draw_bone_band(scene, cl, cX, cY, 0.042 + 0.012 * np.sin(np.pi * t) ** 4, 1.0, cortex=0.6)
    lay["clavicle"] = scene.blur_h(cl, 0.005)
    # shoulders: humeral heads and scapulae (faint)
    sh = np.zeros(scene.shape, np.float32)
    for side in (-1, 1):
        hx, hy = side * (a.body_w - 0.02), -0.02
        rr = np.sqrt((X - hx) ** 2 + (Y - hy) ** 2)
        sh += np.clip((0.26 - rr) / 0.06, 0, 1) * (0.8 + 0.3 * np.clip((rr - 0.17) / 0.09, 0, 1))
        sX = np.array([side * 0.62, side * 0.80, side * (a.body_w - 0.15), side * 0.62])
        sY = np.array([0.05, 0.85, 0.05, 0.05])
        sh += 0.25 * scene.blur_h(scene.r.poly(sX, sY, ss=1), 0.03)
    lay["shoulder"] = sh * m["body"]
    # breasts
    if a.female:
        br = np.zeros(scene.shape, np.float32)
        for side in (-1, 1):
            bx, by = side * 0.68, a.cp_v(side) - 0.25
            e = ((X - bx) / 0.55) ** 2 + ((Y - by) / 0.38) ** 2
            br += np.clip(1 - e, 0, 1) ** 0.5 * (Y > by - 0.6)
        lay["breast"] = scene.blur_h(np.clip(br, 0, 1), 0.03)
    # lung markings and parenchymal texture
    segs = vessel_tree(rng, a, -1) + vessel_tree(rng, a, 1)
    lay["vessels"] = scene.blur_h(draw_segments(scene, segs, a.hilum), 0.006)
    lay["texture"] = smooth_noise(rng, scene.shape, max(0.5, 0.02 * scene.hpx))
    return lay


def compose(scene, lay, look):
    """Attenuation-like sum of the layers with the findings' modifiers."""
    m = scene.masks
    lungs = np.maximum(m["lung_right"], m["lung_left"])
    lung_soft = scene.blur_h(lungs, 0.01)
    air = (lay["air_r"] + lay["air_l"]) * scene.air_scale
    A = lay["body"] * look["tissue"]
    A = A + lay["abdomen"]
    A = A - look["air"] * air
    A = A + lay["heart"] * scene.heart_scale * m["cavity"]
    A = A - 0.12 * lay["airway"]
    A = A + 0.05 * lay["hila"] * m["cavity"]
    A = A + look["spine"] * lay["spine"] * m["body"] * (0.2 + 0.8 * scene.blur_h(m["cavity"], 0.05))
    ribs = lay["rib_post"] + 0.8 * lay["rib_ant"]
    # ribs fade below the diaphragm and over the mediastinum (little contrast against thick soft tissue)
    ribs = ribs * (0.35 + 0.65 * scene.blur_h(m["cavity"], 0.05)) * (1 - 0.5 * scene.blur_h(m["mediastinum"], 0.03))
    A = A + look["rib"] * ribs * m["body"]
    A = A + 0.16 * lay["clavicle"] * m["body"]
    A = A + 0.06 * lay["shoulder"]
    if "breast" in lay:
        A = A + 0.16 * lay["breast"] * m["body"]
    mark = lung_soft * scene.vessel_scale
    A = A + 0.15 * lay["vessels"] * mark
    A = A + 0.012 * lay["texture"] * mark
    A = A + scene.extra
    return A


def exposure(A, look):
    """Film/detector-like characteristic curve, then display processing; returns [0,1]."""
    k = look["gain"]
    I = 1 - np.exp(-k * np.clip(A + look["offset"], 0, None))
    I = I / (1 - np.exp(-k * 1.6))
    I = np.clip(I, 0, 1) ** look["gamma"]
    return I.astype(np.float32)


def sample_look(rng):
    return {
        "tissue": rng.uniform(0.95, 1.1),
        "air": rng.uniform(0.70, 0.80),
        "spine": rng.uniform(0.06, 0.10),
        "rib": rng.uniform(0.045, 0.07),
        "gain": rng.uniform(1.0, 1.4),
        "offset": rng.uniform(-0.02, 0.04),
        "gamma": rng.uniform(0.9, 1.3),
        "unsharp": rng.uniform(0.2, 0.5),
        "noise": rng.uniform(0.008, 0.022),
        "blur": rng.uniform(0.4, 1.4),   # detector blur, in px at 1000 px long side
    }


def finish(I, look, rng, width, height, s):
    """Unsharp masking at work resolution, resample to the output size, blur and quantum noise."""
    hp = I - _blur(I, 0.04 * max(I.shape))
    I = np.clip(I + look["unsharp"] * hp, 0, 1)
    if I.shape != (height, width):
        I = np.asarray(Image.fromarray(I, mode="F").resize((width, height), Image.BICUBIC
                                                              if s < 1 else Image.BOX), np.float32)
    blur_px = look["blur"] * max(width, height) / 1000.0
    if s < 1:  # upsampling already blurs by ~1/s output pixels
        blur_px = max(0.0, blur_px - 0.5 / s)
    I = _blur(I, blur_px)
    noise = rng.standard_normal(I.shape).astype(np.float32)
    nsig = look["noise"] * np.sqrt(0.3 + I)  # fewer photons (relatively noisier) where attenuation is high
    I = I + nsig * _blur(noise, 0.6) * 1.6
    return np.clip(I, 0, 1).astype(np.float32)
