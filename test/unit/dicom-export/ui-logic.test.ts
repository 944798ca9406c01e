// The viewer's "Export as DICOM…" dialog logic (renderer/src/viewer/dicom-export.ts): which heatmap and boxes it
// offers, the requests it sends (valid for the contract), why it cannot send yet, and the files it lists.
import { describe, expect, it } from 'vitest';
import { procedures, type Types } from '../../../common/contract';
import type { LoadedHeatmap } from '../../../renderer/src/lib/heatmap';
import { boxedPhraseTexts, exportableHeatmap, planDicomExport, sentSummary, writtenFiles, type DicomExportForm } from '../../../renderer/src/viewer/dicom-export';

const geometry = { originalRows: 40, originalColumns: 50, top: 0, left: 5, width: 40, height: 40 };
const heatmap = (extra: Partial<LoadedHeatmap> = {}): LoadedHeatmap => ({
  id: 7, imageId: 3, phrase: 'right effusion', model: 'm', variant: 'frozen', source: 'model', width: 2, height: 2,
  values: new Float32Array(4), threshold: 0.4, geometry, min: 0, max: 1, ...extra,
});
const box = (imageId: number, id: number): Types['Box'] => ({ id, imageId, phraseId: 1, x: 1, y: 2, w: 3, h: 4, source: 'dataset' });
const phrase = (id: number, text: string, boxes: Types['Box'][]): Types['Phrase'] => ({ id, text, sentenceId: null, category: null, boxes }) as Types['Phrase'];
const form = (extra: Partial<DicomExportForm> = {}): DicomExportForm => ({ out: '/tmp/out', heatmap: true, overlay: false, boxes: true, threshold: '', deidentify: false, dates: 'remove', ...extra });

describe('the DICOM export dialog', () => {
  it('offers a stored heatmap of this image only (not a provisional map, not another image’s)', () => {
    expect(exportableHeatmap(heatmap(), 3)?.id).toBe(7);
    expect(exportableHeatmap(heatmap(), 4)).toBeNull();
    expect(exportableHeatmap(heatmap({ id: -2, provisional: { stepsDone: 1, stepsTotal: 5 } }), 3)).toBeNull();
    expect(exportableHeatmap(null, 3)).toBeNull();
  });

  it('offers the texts of the active phrase’s phrases with boxes on this image, each once', () => {
    const phrases = [phrase(1, 'Right effusion', [box(3, 1)]), phrase(2, 'right effusion ', [box(3, 2)]), phrase(3, 'right effusion', [box(9, 3)]), phrase(4, 'cardiomegaly', [box(3, 4)])];
    expect(boxedPhraseTexts(phrases, { text: 'RIGHT EFFUSION', sentenceId: null, phraseId: null }, 3)).toEqual(['right effusion']);
    expect(boxedPhraseTexts(phrases, { text: 'x', sentenceId: null, phraseId: 4 }, 3)).toEqual(['cardiomegaly']);
    expect(boxedPhraseTexts(phrases, { text: 'x', sentenceId: null, phraseId: 3 }, 3)).toEqual([]);
  });

  it('sends the heatmap (SEG + map, the typed threshold) and the boxes, as the contract takes them', () => {
    const plan = planDicomExport(form({ threshold: ' 0.25 ', out: ' /data/x ' }), 3, heatmap(), ['right effusion']);
    expect(plan).toEqual({
      error: null,
      requests: [
        { kind: 'heatmap', heatmapId: 7, objects: ['seg', 'pmap'], threshold: 0.25, out: '/data/x' },
        { kind: 'boxes', imageId: 3, phrase: 'right effusion', out: '/data/x' },
      ],
    });
    for (const r of plan.requests) expect(procedures['dicomExport.write'].input.safeParse(r).success).toBe(true);
    expect(planDicomExport(form({ boxes: false }), 3, heatmap(), ['a']).requests).toEqual([{ kind: 'heatmap', heatmapId: 7, objects: ['seg', 'pmap'], out: '/tmp/out' }]);
    expect(planDicomExport(form({ boxes: false, overlay: true }), 3, heatmap(), ['a']).requests[0]).toMatchObject({ objects: ['seg', 'pmap', 'overlay'] });
  });

  it('de-identifies every request of one Write in one session, with the dates option', () => {
    const plan = planDicomExport(form({ deidentify: true, dates: 'shift' }), 3, heatmap(), ['right effusion'], 'session-1234');
    expect(plan.requests.map((r) => r.deidentify)).toEqual([{ dates: 'shift', session: 'session-1234' }, { dates: 'shift', session: 'session-1234' }]);
    for (const r of plan.requests) expect(procedures['dicomExport.write'].input.safeParse(r).success).toBe(true);
    expect(planDicomExport(form(), 3, heatmap(), ['a'], 'session-1234').requests.every((r) => !('deidentify' in r))).toBe(true);
  });

  it('says why it cannot send yet', () => {
    expect(planDicomExport(form({ out: '  ' }), 3, heatmap(), []).error).toMatch(/output folder/);
    expect(planDicomExport(form(), null, heatmap(), []).error).toMatch(/Open an image/);
    expect(planDicomExport(form(), 3, null, []).error).toMatch(/Choose the heatmap or the boxes/);
    expect(planDicomExport(form({ heatmap: false }), 3, heatmap(), []).error).toMatch(/Choose the heatmap or the boxes/);
    expect(planDicomExport(form({ threshold: 'high' }), 3, heatmap(), []).error).toBe('Threshold “high” is not a number.');
    expect(planDicomExport(form(), 3, heatmap({ threshold: null }), []).error).toMatch(/no threshold of its own/);
    expect(planDicomExport(form({ threshold: '0' }), 3, heatmap({ threshold: null }), []).error).toBeNull();
  });

  it('says what the PACS made of the files sent there, naming each refusal by its file', () => {
    const ok = { file: '/o/Segmentation_1.dcm', sopInstanceUid: '1' };
    expect(sentSummary('Orthanc', { stored: [ok, { ...ok, sopInstanceUid: '2' }], failed: [], requests: 1 })).toEqual({ text: 'Sent to Orthanc: 2 stored', refused: [] });
    expect(sentSummary('PACS', { stored: [ok], failed: [{ file: '/o/ParametricMap_2.dcm', sopInstanceUid: '2', reason: 'SOP class not supported' }], requests: 1 })).toEqual({
      text: 'Sent to PACS: 1 stored, 1 refused',
      refused: ['ParametricMap_2.dcm: SOP class not supported'],
    });
  });

  it('lists each written file once (the Secondary Capture comes with every export of a PNG/JPEG)', () => {
    const f = (object: 'sc' | 'seg' | 'sr', file: string) => ({ object, file, sopClassUid: '1', sopInstanceUid: '2', seriesInstanceUid: '3' });
    expect(writtenFiles([{ files: [f('sc', '/o/sc.dcm'), f('seg', '/o/seg.dcm')], sourceIsDicom: false, warnings: [] }, { files: [f('sc', '/o/sc.dcm'), f('sr', '/o/sr.dcm')], sourceIsDicom: false, warnings: [] }]).map((x) => x.object)).toEqual(['sc', 'seg', 'sr']);
  });
});
