// Which side of the displayed image is the patient's right or left (laterality matters for grounding "left
// lower lobe"). From the DICOM's Patient Orientation (0020,0020) when it is known: its first value is the
// direction of the rows (left to right across the image), e.g. "L" puts the patient's left on the right edge.
// Else from View Position (0018,5101) PA or AP, under the display convention every chest radiograph follows
// (the patient's right on the viewer's left), which is an assumption about how the image was stored and is
// marked as one. Anything else (lateral views, JPEGs without metadata) is "orientation unknown".

import { orientMatrix, type ViewOrient } from './view-transform';

export interface Orientation {
  /** what the left and right edges of the displayed image face: 'R', 'L', 'A', 'P', 'H', 'F' */
  left: string;
  right: string;
  /** what the top and bottom edges face, when the column direction is known ('H', 'F', ...) */
  top?: string;
  bottom?: string;
  /** where it comes from, for the tooltip */
  source: string;
}

const OPPOSITE: Record<string, string> = { R: 'L', L: 'R', A: 'P', P: 'A', H: 'F', F: 'H' };

/** Patient Orientation's row value ('L', 'R', 'A', 'P', or obliques like 'LP') -> the opposite letters. */
function opposite(value: string): string | null {
  const letters = [...value.toUpperCase()];
  if (letters.length === 0 || letters.some((c) => !OPPOSITE[c])) return null;
  return letters.map((c) => OPPOSITE[c]).join('');
}

/**
 * The patient directions at the displayed image's edges. `orient` is the viewer's rotation/flip
 * (lib/view-transform.ts): the edge a screen direction reaches is the image direction M^-1 sends it to, so a
 * horizontal flip swaps R and L and a quarter turn brings the head-feet axis to the sides.
 */
export function orientationOf(viewPosition: string | null | undefined, patientOrientation?: readonly string[] | null, orient?: ViewOrient): Orientation | null {
  const row = patientOrientation?.[0]?.trim().toUpperCase();
  const col = patientOrientation?.[1]?.trim().toUpperCase();
  let axes: { row: string; col: string | null; source: string } | null = null;
  if (row && opposite(row)) axes = { row, col: col && opposite(col) ? col : null, source: 'from Patient Orientation' };
  else {
    const view = viewPosition?.trim().toUpperCase();
    // the standard display: the patient's left towards the image's right, the feet at the bottom
    if (view === 'PA' || view === 'AP') axes = { row: 'L', col: 'F', source: `assumed from the ${view} view (standard display)` };
  }
  if (!axes) return null;
  const { row: r, col: c } = axes;
  // the image direction that screen +x and screen +y come from: M^T's columns
  const [a, b, cc, d] = orientMatrix(orient);
  const toward = (ix: number, iy: number): string | null => {
    if (ix !== 0) return ix > 0 ? r : opposite(r);
    if (c === null) return null;
    return iy > 0 ? c : opposite(c);
  };
  const right = toward(a, b);
  const bottom = toward(cc, d);
  if (right === null) return null;
  const out: Orientation = { left: opposite(right)!, right, source: axes.source };
  if (bottom !== null) {
    out.top = opposite(bottom)!;
    out.bottom = bottom;
  }
  return out;
}

/** "0.139 mm/px", or "0.139 x 0.150 mm/px" for unequal row and column spacing. */
export function formatSpacing(spacing: readonly [number, number] | null | undefined): string | null {
  if (!spacing) return null;
  const f = (v: number) => String(Math.round(v * 1000) / 1000);
  return spacing[0] === spacing[1] ? `${f(spacing[0])} mm/px` : `${f(spacing[1])} x ${f(spacing[0])} mm/px`;
}

/** YYYYMMDD (DICOM, MIMIC metadata) -> YYYY-MM-DD; anything else as it is; null when unknown. */
export function formatStudyDate(d: string | null | undefined): string | null {
  if (!d) return null;
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}
