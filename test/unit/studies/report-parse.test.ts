import { describe, expect, it } from 'vitest';
import { parseReport, splitSentences } from '../../../main/studies/report-parse';
import { SAMPLE_REPORT } from './fixtures';

function sentences(text: string): string[] {
  return parseReport(text).sections.flatMap((s) => s.sentences.map((x) => x.text));
}

/** Every sentence's offsets point at its text in the raw report. */
function expectOffsetsConsistent(text: string): void {
  const p = parseReport(text);
  let index = 0;
  for (const sec of p.sections) {
    expect(sec.start).toBeLessThanOrEqual(sec.bodyStart);
    expect(sec.bodyStart).toBeLessThanOrEqual(Math.max(sec.end, sec.bodyStart));
    for (const s of sec.sentences) {
      expect(s.index).toBe(index++);
      expect(text.slice(s.start, s.end).replace(/\s+/g, ' ')).toBe(s.text);
      expect(s.start).toBeGreaterThanOrEqual(sec.bodyStart);
      expect(s.end).toBeLessThanOrEqual(sec.end);
      expect(s.text).toBe(s.text.trim());
    }
  }
  expect(p.sentenceCount).toBe(index);
}

describe('parseReport: sections', () => {
  it('finds MIMIC section headers with offsets into the raw text', () => {
    const p = parseReport(SAMPLE_REPORT);
    expect(p.sections.map((s) => s.name)).toEqual([
      'FINAL REPORT',
      'EXAMINATION',
      'INDICATION',
      'TECHNIQUE',
      'COMPARISON',
      'FINDINGS',
      'IMPRESSION',
    ]);
    const findings = p.sections.find((s) => s.name === 'FINDINGS')!;
    expect(SAMPLE_REPORT.slice(findings.start, findings.bodyStart)).toBe('FINDINGS:');
    expect(SAMPLE_REPORT.slice(findings.end - 10, findings.end)).toBe('are noted.');
    const impression = p.sections.find((s) => s.name === 'IMPRESSION')!;
    expect(impression.sentences.map((s) => s.text)).toEqual(['No acute cardiopulmonary process.']);
    expect(SAMPLE_REPORT.slice(impression.end)).toBe('\n');
    expectOffsetsConsistent(SAMPLE_REPORT);
  });

  it('keeps text before the first header as PREAMBLE and handles WET READ, multi-word and (PFI) headers', () => {
    const text = [
      'WET READ: ___ ___ 10:49 PM',
      '  No pneumothorax.',
      'WET READ VERSION #1',
      '',
      'PROVISIONAL FINDINGS IMPRESSION (PFI): ___ ___ 8:17 PM',
      '  Right lower lobe pneumonia.',
      'REASON FOR EXAMINATION:  Evaluation of the patient with shortness of breath.',
      'FINDINGS AND IMPRESSION:  Heart size is normal. Lungs are clear.',
    ].join('\n');
    const p = parseReport(`Chest radiograph.\n${text}`);
    expect(p.sections.map((s) => s.name)).toEqual([
      'PREAMBLE',
      'WET READ',
      'PROVISIONAL FINDINGS IMPRESSION (PFI)',
      'REASON FOR EXAMINATION',
      'FINDINGS AND IMPRESSION',
    ]);
    expect(p.sections[1].sentences.map((s) => s.text)).toEqual(['___ ___ 10:49 PM No pneumothorax.', 'WET READ VERSION #1']);
    expect(p.sections[4].sentences.map((s) => s.text)).toEqual(['Heart size is normal.', 'Lungs are clear.']);
    expectOffsetsConsistent(`Chest radiograph.\n${text}`);
  });

  it('does not take times, mixed-case labels or mid-line capitals for headers', () => {
    const text = 'FINDINGS: Seen at 10:49 AM.\nPA and lateral views: unremarkable.\nTubes: none. CHEST: clear.';
    const p = parseReport(text);
    expect(p.sections.map((s) => s.name)).toEqual(['FINDINGS']);
    expectOffsetsConsistent(text);
  });

  it('handles CRLF line ends and an empty report', () => {
    const text = 'FINDINGS:\r\nSmall effusion.\r\nIMPRESSION:\r\nEffusion.\r\n';
    const p = parseReport(text);
    expect(p.sections.map((s) => [s.name, s.sentences.map((x) => x.text)])).toEqual([
      ['FINDINGS', ['Small effusion.']],
      ['IMPRESSION', ['Effusion.']],
    ]);
    expectOffsetsConsistent(text);
    expect(parseReport('')).toEqual({ sections: [], sentenceCount: 0 });
    expect(parseReport('   \n \n').sections).toEqual([]);
  });
});

describe('parseReport: sentences', () => {
  it('joins line-wrapped sentences and splits at sentence ends', () => {
    expect(parseReport(SAMPLE_REPORT).sections.find((s) => s.name === 'FINDINGS')!.sentences.map((s) => s.text)).toEqual([
      'There is no focal consolidation, pleural effusion or pneumothorax.',
      'Bilateral nodular opacities that most likely represent nipple shadows.',
      'The cardiomediastinal silhouette is normal.',
      'Clips project over the left lung, potentially within the breast.',
      'The imaged upper abdomen is unremarkable.',
      'Chronic deformity of the posterior left sixth and seventh ribs are noted.',
    ]);
  });

  it('does not split at abbreviations, decimals, initials or before lower-case words', () => {
    const text =
      'FINDINGS: A 1.5 cm nodule projects over the right apex, e.g. a nipple shadow vs. a true nodule. ' +
      'Dr. ___ discussed with Dr. J. Smith at 10:49 a.m. on ___. ' +
      'ET tube tip is approx. 4.5 cm above the carina. The pt. is rotated.';
    expect(sentences(text)).toEqual([
      'A 1.5 cm nodule projects over the right apex, e.g. a nipple shadow vs. a true nodule.',
      'Dr. ___ discussed with Dr. J. Smith at 10:49 a.m. on ___.',
      'ET tube tip is approx. 4.5 cm above the carina.',
      'The pt. is rotated.',
    ]);
    expectOffsetsConsistent(text);
  });

  it('splits numbered lists (inline and one per line) and drops the list markers from the spans', () => {
    const text = [
      ' IMPRESSION: ',
      ' ',
      ' 1. Interval increase in moderate right pleural effusion. 2. Stable mild',
      ' cardiomegaly.',
      ' 3. Left PICC line tip in the mid SVC',
      ' 4) Possible early pneumonia?  Clinical correlation is recommended.',
      '',
    ].join('\n');
    const p = parseReport(text);
    const imp = p.sections[0];
    expect(imp.sentences.map((s) => s.text)).toEqual([
      'Interval increase in moderate right pleural effusion.',
      'Stable mild cardiomegaly.',
      'Left PICC line tip in the mid SVC',
      'Possible early pneumonia?',
      'Clinical correlation is recommended.',
    ]);
    expect(text.slice(imp.sentences[0].start, imp.sentences[0].start + 8)).toBe('Interval');
    expectOffsetsConsistent(text);
  });

  it('ends a sentence at a blank line even without a period and keeps ___ blanks', () => {
    const text = 'INDICATION:  ___F with new onset ascites  // eval for infection\n\nTECHNIQUE: PA and lateral\n\nCOMPARISON: ___.';
    const p = parseReport(text);
    expect(p.sections.map((s) => s.sentences.map((x) => x.text))).toEqual([
      ['___F with new onset ascites // eval for infection'],
      ['PA and lateral'],
      ['___.'],
    ]);
    expectOffsetsConsistent(text);
  });

  it('keeps question marks inside indications (? PNA) and closing brackets with the sentence', () => {
    const text = 'INDICATION: Cough, ? pna. Eval (r/o effusion.) Thanks!';
    expect(sentences(text)).toEqual(['Cough, ? pna.', 'Eval (r/o effusion.)', 'Thanks!']);
    expectOffsetsConsistent(text);
  });

  it('splitSentences works on an arbitrary range with a starting index', () => {
    const text = 'xx One. Two. yy';
    const s = splitSentences(text, 3, 12, 5);
    expect(s.map((x) => [x.index, x.text, x.start, x.end])).toEqual([
      [5, 'One.', 3, 7],
      [6, 'Two.', 8, 12],
    ]);
  });

  it('has consistent offsets on a batch of generated reports', async () => {
    const { syntheticReport } = await import('./fixtures');
    for (let i = 0; i < 50; i++) expectOffsetsConsistent(syntheticReport(i));
  });
});
