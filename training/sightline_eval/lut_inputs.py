"""Reading the LUT builder's CSV inputs (docs/method.md 4.2): the Chest ImaGenome gold CSV's checks, image sizes
from MIMIC-CXR metadata or an MS-CXR CSV, and an image's size inferred from its 224-frame boxes (see lut.py's
module doc). Errors are LutInputError naming the file, line and column, worded as the app's builder words them
(main/evaluation/lut/read.ts)."""
from __future__ import annotations

import csv
import gzip
import io
import math
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

IMAGENOME_COLUMNS = ("image_id", "bbox_name", "x1", "y1", "x2", "y2",
                     "original_x1", "original_y1", "original_x2", "original_y2")
COORD_224 = ("x1", "y1", "x2", "y2")
COORD_ORIGINAL = ("original_x1", "original_y1", "original_x2", "original_y2")
METADATA_COLUMNS = ("dicom_id", "Rows", "Columns")
MSCXR_COLUMNS = ("dicom_id", "image_width", "image_height")
# a decimal number as written in these CSVs; Python's float() would also take "nan", "inf" and "1_0"
NUMBER_RE = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def open_text(path: str):
    """Text handle for a CSV, transparently gunzipping ``.gz``."""
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


class LutInputError(ValueError):
    """A CSV the builder cannot use: the message names the file (and the line and column of a bad value)."""


def parse_number(value, where: str = "") -> float:
    """A finite number from a CSV cell (strict: see NUMBER_RE) or an in-memory int/float; else LutInputError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    elif isinstance(value, str) and NUMBER_RE.fullmatch(value):
        v = float(value)
    else:
        shown = "empty" if value is None or (isinstance(value, str) and not value.strip()) else repr(value)
        raise LutInputError(f"{where}: {shown} is not a number")
    if not math.isfinite(v):
        raise LutInputError(f"{where}: {value!r} is not a finite number")
    return v


def _where(path: str, line: int, header: Sequence[str], column: str) -> str:
    return f"{path}: line {line}, column {header.index(column) + 1} ({column})"


def _check_header(path: str, header: Optional[Sequence[str]], needed: Sequence[str], what: str) -> List[str]:
    header = [h.strip() for h in (header or [])]
    missing = [c for c in needed if c not in header]
    if missing:
        found = f"its header is {','.join(header)}" if header else "it is empty"
        raise LutInputError(f"{path}: not {what}: missing column(s) {', '.join(missing)} ({found})")
    return header


def _read_sizes(path: str, columns: Tuple[str, str, str], what: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from the columns (id, height, width); rows with an empty size are skipped."""
    key, hcol, wcol = columns
    out = {}
    with open_text(path) as f:
        reader = csv.reader(f)
        header = _check_header(path, next(reader, None), columns, what)
        idx = {c: header.index(c) for c in columns}
        for rec in reader:
            if not rec:
                continue
            cell = {c: (rec[i] if i < len(rec) else "") for c, i in idx.items()}
            if not cell[hcol].strip() or not cell[wcol].strip():
                continue
            hw = []
            for c in (hcol, wcol):
                where = _where(path, reader.line_num, header, c)
                v = math.trunc(parse_number(cell[c], where))
                if v < 1:
                    raise LutInputError(f"{where}: {cell[c]!r} is not a positive image size")
                hw.append(v)
            out[cell[key]] = (hw[0], hw[1])
    return out


def read_mimic_metadata_sizes(path: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (Rows, Columns)."""
    return _read_sizes(path, ("dicom_id", "Rows", "Columns"), "a MIMIC-CXR metadata CSV")


def read_mscxr_sizes(path: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from an MS-CXR CSV that has image_width / image_height."""
    return _read_sizes(path, ("dicom_id", "image_height", "image_width"), "an MS-CXR CSV with image sizes")


def dicom_id_of(image_id: str) -> str:
    return image_id[:-4] if image_id.endswith(".dcm") else image_id


def _mean(values: Sequence[float]) -> float:
    s = 0.0
    for v in values:  # sequential, as the TypeScript builder sums
        s += v
    return s / len(values)


def round_half_up(v: float) -> int:
    return int(math.floor(v + 0.5))


def infer_size_from_224(rows: Sequence[Mapping[str, str]]) -> Optional[Tuple[int, int]]:
    """(height, width) of one image from its gold rows' 224-frame and original coordinates (see module doc)."""
    xs_o, xs_224, ys_o, ys_224 = [], [], [], []
    for r in rows:
        xs_o += [parse_number(r["original_x1"]), parse_number(r["original_x2"])]
        ys_o += [parse_number(r["original_y1"]), parse_number(r["original_y2"])]
        xs_224 += [parse_number(r["x1"]), parse_number(r["x2"])]
        ys_224 += [parse_number(r["y1"]), parse_number(r["y2"])]
    if len(xs_o) < 4:
        return None
    # x224 = r * xo + px ; y224 = r * yo + py (one shared r): least squares in closed form. For a given r the best
    # offsets are px = mean(x224) - r mean(xo) (likewise y), so r is the pooled slope of the centred coordinates.
    mxo, mx, myo, my = _mean(xs_o), _mean(xs_224), _mean(ys_o), _mean(ys_224)
    num = den = 0.0
    for o, v in zip(xs_o, xs_224):
        num += (o - mxo) * (v - mx)
        den += (o - mxo) * (o - mxo)
    for o, v in zip(ys_o, ys_224):
        num += (o - myo) * (v - my)
        den += (o - myo) * (o - myo)
    if not den > 0:
        return None
    r = num / den
    if not r > 0:
        return None
    px, py = mx - r * mxo, my - r * myo
    w, h = (224.0 - 2 * px) / r, (224.0 - 2 * py) / r
    if not (w > 0 and h > 0):
        return None
    return round_half_up(h), round_half_up(w)
