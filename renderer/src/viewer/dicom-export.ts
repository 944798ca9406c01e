// "Export as DICOM…" (the DICOM… button in the study header above the viewer, views/WorkstationView.vue: the viewer's
// toolbar and heatmap bar have no room left at 1280 px): what the dialog asks of `dicomExport.write` for the shown heatmap (Segmentation + Parametric
// Map) and the shown phrase's boxes (a TID 1500 SR), optionally de-identified, the files it lists after, and what a
// PACS server made of them when they are also sent there (STOW-RS, `pacs.store`). Objects, references and refusals:
// main/dicom-export/README.md.
import type { Input, Output, Types } from '../../../common/contract';
import { matchingPhrases, type PhraseRef } from '../lib/grounding';
import type { LoadedHeatmap } from '../lib/heatmap';

export interface DicomExportForm {
  /** the output folder, typed (the app has no folder dialog; ../batch/ExportPanel.vue asks the same way) */
  out: string;
  heatmap: boolean;
  /** with the heatmap: also burned into the image with a caption (a colour Secondary Capture any viewer shows) */
  overlay: boolean;
  boxes: boolean;
  /** the SEG's threshold; empty: the map's own (its variant's Otsu threshold) */
  threshold: string;
  /** de-identify (PS3.15 Basic Profile): the image goes into the folder de-identified and the objects refer to it */
  deidentify: boolean;
  /** the Retain Longitudinal Temporal Information option of a de-identified export */
  dates: 'remove' | 'keep' | 'shift';
}

type Request = Input<'dicomExport.write'>;

/** The folder of the last export, for the session: the next one goes there too. */
export const lastFolder = { value: '' };
export type DicomExportFile = Output<'dicomExport.write'>['files'][number];

/** The shown heatmap when it can be exported: a stored map (not a job's provisional one) of this image. */
export function exportableHeatmap(shown: LoadedHeatmap | null, imageId: number | null): LoadedHeatmap | null {
  return shown && imageId != null && shown.imageId === imageId && !shown.provisional && shown.id > 0 ? shown : null;
}

/** The texts of the active phrase's phrases that have boxes on this image (the SR matches boxes by phrase text). */
export function boxedPhraseTexts(phrases: readonly Types['Phrase'][], active: PhraseRef | null, imageId: number | null): string[] {
  if (imageId == null) return [];
  const texts = matchingPhrases(phrases, active)
    .filter((p) => p.boxes.some((b) => b.imageId === imageId))
    .map((p) => p.text.trim());
  return [...new Map(texts.map((t) => [t.toLowerCase(), t])).values()];
}

/** The requests for the form, or why it cannot be sent yet; `session` (one per Write) makes a de-identified
 *  heatmap and boxes refer to the same de-identified image. */
export function planDicomExport(form: DicomExportForm, imageId: number | null, heatmap: LoadedHeatmap | null, boxTexts: readonly string[], session = ''): { requests: Request[]; error: string | null } {
  const out = form.out.trim();
  const fail = (error: string) => ({ requests: [], error });
  if (imageId == null) return fail('Open an image first.');
  if (!out) return fail('Type the output folder (created if needed).');
  const wantHeatmap = form.heatmap && !!heatmap;
  const wantBoxes = form.boxes && boxTexts.length > 0;
  if (!wantHeatmap && !wantBoxes) return fail('Choose the heatmap or the boxes to export.');
  const requests: Request[] = [];
  const deidentify = form.deidentify ? { deidentify: { dates: form.dates, ...(session ? { session } : {}) } } : {};
  if (wantHeatmap) {
    const text = form.threshold.trim();
    const threshold = text === '' ? undefined : Number(text);
    if (threshold !== undefined && !Number.isFinite(threshold)) return fail(`Threshold “${text}” is not a number.`);
    if (threshold === undefined && heatmap!.threshold === null) return fail('This map has no threshold of its own (an imported map, or a variant without Otsu): give one for the Segmentation.');
    requests.push({ kind: 'heatmap', heatmapId: heatmap!.id, objects: form.overlay ? ['seg', 'pmap', 'overlay'] : ['seg', 'pmap'], out, ...(threshold === undefined ? {} : { threshold }), ...deidentify });
  }
  if (wantBoxes) for (const phrase of boxTexts) requests.push({ kind: 'boxes', imageId, phrase, out, ...deidentify });
  return { requests, error: null };
}

/** The files of several exports, each once (the Secondary Capture of a PNG/JPEG, or the de-identified image, is
 *  written by each), and their warnings, each once. */
export function writtenFiles(results: readonly Output<'dicomExport.write'>[]): DicomExportFile[] {
  const seen = new Map<string, DicomExportFile>();
  for (const r of results) for (const f of r.files) seen.set(f.file, f);
  return [...seen.values()];
}

export function exportWarnings(results: readonly Output<'dicomExport.write'>[]): string[] {
  return [...new Set(results.flatMap((r) => r.warnings))];
}

export const OBJECT_LABEL: Record<DicomExportFile['object'], string> = {
  image: 'The image (de-identified)',
  sc: 'Secondary Capture (the image)',
  seg: 'Segmentation',
  pmap: 'Parametric Map',
  overlay: 'Overlay (Secondary Capture, burned in)',
  sr: 'Structured Report (boxes)',
};

/** What a `pacs.store` of the written files answered, in words: "Sent to Orthanc: 3 stored" (and the refusals). */
export function sentSummary(server: string, result: Output<'pacs.store'>): { text: string; refused: string[] } {
  const n = result.stored.length;
  const text = `Sent to ${server}: ${n} stored${result.failed.length ? `, ${result.failed.length} refused` : ''}`;
  return { text, refused: result.failed.map((f) => `${f.file.split(/[\\/]/).pop()}: ${f.reason}`) };
}
