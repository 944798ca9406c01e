// Which side of the displayed image is the patient's right or left (laterality matters for grounding "left
// lower lobe"). From the DICOM's Patient Orientation (0020,0020) when it is known: its first value is the
// direction of the rows (left to right across the image), e.g. "L" puts the patient's left on the right edge.
// Else from View Position (0018,5101) PA or AP, under the display convention every chest radiograph follows
// (the patient's right on the viewer's left), which is an assumption about how the image was stored and is
// marked as one. Anything else (lateral views, JPEGs without metadata) is "orientation unknown".

export interface Orientation {
  /** what the left and right edges of the displayed image face: 'R', 'L', 'A', 'P', 'H', 'F' */
  left: string;
  right: string;
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

export function orientationOf(viewPosition: string | null | undefined, patientOrientation?: readonly string[] | null): Orientation | null {
  const row = patientOrientation?.[0]?.trim();
  const other = row ? opposite(row) : null;
  if (row && other) return { left: other, right: row.toUpperCase(), source: 'from Patient Orientation' };
  const view = viewPosition?.trim().toUpperCase();
  if (view === 'PA' || view === 'AP') return { left: 'R', right: 'L', source: `assumed from the ${view} view (standard display)` };
  return null;
}

/** "0.139 mm/px", or "0.139 x 0.150 mm/px" for unequal row and column spacing. */
export function formatSpacing(spacing: readonly [number, number] | null | undefined): string | null {
  if (!spacing) return null;
  const f = (v: number) => String(Math.round(v * 1000) / 1000);
  return spacing[0] === spacing[1] ? `${f(spacing[0])} mm/px` : `${f(spacing[1])} x ${f(spacing[0])} mm/px`;
}
