"""Contact sheet: a grid of phantoms with their finding boxes and captions."""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

COLORS = {
    "Atelectasis": (255, 200, 0), "Cardiomegaly": (255, 90, 200), "Consolidation": (255, 60, 60),
    "Edema": (80, 200, 255), "Lung Opacity": (255, 140, 0), "Pleural Effusion": (60, 120, 255),
    "Pneumonia": (255, 0, 0), "Pneumothorax": (0, 230, 120),
}


def _font(size):
    for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        if os.path.exists(p):
            return ImageFont.truetype(p, size)
    return ImageFont.load_default()


def _wrap(draw, text, font, width):
    words, lines, cur = text.split(), [], ""
    for w in words:
        t = (cur + " " + w).strip()
        if draw.textlength(t, font=font) <= width:
            cur = t
        else:
            lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    return lines


def _palette(n):
    """Grey ramp plus the exact box/text colours (a median-cut palette would merge them into grey)."""
    fixed = list(COLORS.values()) + [(230, 230, 230), (20, 20, 20), (120, 120, 120)]
    greys = [(int(round(v)),) * 3 for v in np.linspace(0, 255, n - len(fixed))]
    flat = [c for rgb in greys + fixed for c in rgb]
    flat += [0] * (768 - len(flat))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def tile(case, tile_w=300, caption_lines=5, regions=False):
    t = case.truth
    img = (np.clip(case.image, 0, 1) * 255).astype(np.uint8)
    sc = tile_w / t["width"]
    th = int(round(t["height"] * sc))
    im = Image.fromarray(img).resize((tile_w, th), Image.BILINEAR).convert("RGB")
    d = ImageDraw.Draw(im)
    if regions:
        for name, (x, y, w, h) in t["regions"].items():
            d.rectangle([x * sc, y * sc, (x + w) * sc, (y + h) * sc], outline=(120, 120, 120))
    font = _font(11)
    for f in t["findings"]:
        col = COLORS[f["finding"]]
        for bid, (x, y, w, h) in f["boxes"].items():
            d.rectangle([x * sc, y * sc, (x + w) * sc - 1, (y + h) * sc - 1], outline=col, width=2)
            d.text((x * sc + 3, y * sc + 2), bid, fill=col, font=font)
    cap_h = 14 * caption_lines + 8
    out = Image.new("RGB", (tile_w, th + cap_h), (20, 20, 20))
    out.paste(im, (0, 0))
    d = ImageDraw.Draw(out)
    head = "#%d  %dx%d  CTR %.2f" % (t["case_index"], t["width"], t["height"], t["anatomy"]["ctr_measured"])
    lines = [head]
    if t["findings"]:
        for f in t["findings"]:
            lines.append("%s: %s, %s" % (f["finding"], f["location"], f["severity"]))
    else:
        lines.append("normal")
    imp = " ".join(s["text"] for s in t["sentences"] if s["section"] == "IMPRESSION")
    lines += _wrap(d, imp, font, tile_w - 8)
    y = th + 4
    for i, line in enumerate(lines[:caption_lines]):
        col = (230, 230, 230)
        if 0 < i <= len(t["findings"]):
            col = COLORS[t["findings"][i - 1]["finding"]]
        d.text((4, y), line, fill=col, font=font)
        y += 14
    return out


def contact_sheet(cases, path, cols=4, tile_w=260, regions=False, colors=128, title=None):
    """Grid of tiles under a title line (default: says the cases are synthetic); the title is also the PNG's
    Description text chunk."""
    from . import SYNTHETIC, SYNTHETIC_NOTE
    if title is None:
        title = "%s: %s. sightline_world seed %d, preset %s." % (SYNTHETIC, SYNTHETIC_NOTE, cases[0].seed, cases[0].preset)
    tiles = [tile(c, tile_w, regions=regions) for c in cases]
    cols = max(1, min(cols, len(tiles)))
    rows = (len(tiles) + cols - 1) // cols
    cell_h = max(t.height for t in tiles)
    width = cols * (tile_w + 6) + 6
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    head_lines = _wrap(probe, title, _font(13), width - 12)
    head_h = 18 * len(head_lines) + 6
    sheet = Image.new("RGB", (width, head_h + rows * (cell_h + 6) + 6), (0, 0, 0))
    d = ImageDraw.Draw(sheet)
    for k, line in enumerate(head_lines):
        d.text((6, 5 + 18 * k), line, fill=(230, 230, 230), font=_font(13))
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet.paste(t, (6 + c * (tile_w + 6), head_h + 6 + r * (cell_h + 6)))
    # grey images + a few box colours: a small palette keeps the PNG small
    sheet = sheet.quantize(palette=_palette(colors), dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Sightline synthetic world contact sheet")
    info.add_text("Description", title)
    sheet.save(path, optimize=True, pnginfo=info)
    return path
