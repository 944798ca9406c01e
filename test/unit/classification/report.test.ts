// The experiment's scoring (main/classification/report.ts samplesOf) on hand-made error maps and weights: the plain
// row averages each prompt's map, a heatmap row weights the pathology prompt by its own heatmap and the normal prompt
// by its own (normalWeights 'own', method.md 7) or by the pathology prompt's ('pathology'); a negative image of a
// located row is scored once per candidate location, with that location's prompt. Worked by hand in the comments.
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../../main/classification/experiment';
import { samplesOf, type HeatIndex } from '../../../main/classification/report';

const maps = new Map<string, Float32Array>([
  // image 1 (the positive pair, "left pneumothorax")
  ['1\u0000No acute cardiopulmonary process', Float32Array.of(3, 1, 1, 1)],
  ['1\u0000pneumothorax', Float32Array.of(0.5, 0.5, 2, 2)],
  ['1\u0000left pneumothorax', Float32Array.of(0.2, 2, 2, 2)],
  // image 2 (a normal image)
  ['2\u0000No acute cardiopulmonary process', Float32Array.of(1, 1, 1, 1)],
  ['2\u0000pneumothorax', Float32Array.of(2, 2, 2, 2)],
  ['2\u0000left pneumothorax', Float32Array.of(4, 0.5, 4, 4)],
]);
const weights: Record<string, Float32Array> = {
  '1:left pneumothorax': Float32Array.of(1, 0, 0, 0),
  '1:No acute cardiopulmonary process': Float32Array.of(0, 0, 0, 1),
  '2:left pneumothorax': Float32Array.of(0, 1, 0, 0),
  '2:No acute cardiopulmonary process': Float32Array.of(0, 0, 1, 0),
};
const heat: HeatIndex = {
  weights: (variant, imageId, prompt) => {
    expect(variant).toBe('frozen');
    return weights[`${imageId}:${prompt}`];
  },
  miou: (_variant, pairKey) => (pairKey === 'pair-1' ? 0.3 : null),
  lutMiou: () => null,
};

function experiment(normalWeights: 'own' | 'pathology'): Experiment {
  return {
    request: { normalPrompt: 'No acute cardiopulmonary process', normalWeights, locations: ['left'], positive: 'Pneumothorax' },
    bundle: { manifest: { latent: { size: 2 } } },
    lut: null,
    generic: 'pneumothorax',
    conditions: [
      { name: 'uniform · generic', prompt: 'generic', heatmap: 'uniform' },
      { name: 'frozen · located', prompt: 'located', heatmap: 'frozen' },
    ],
    positives: [{ key: 'pair-1', imageId: 1, studyId: 10, location: 'left', prompt: 'left pneumothorax' }],
    negatives: [{ imageId: 2, studyId: 20 }],
  } as unknown as Experiment;
}

describe('samplesOf', () => {
  it('scores normal - pathology with uniform, own and pathology weights', () => {
    const own = samplesOf(experiment('own'), maps, heat);
    // plain: means 1.5 - 1.25 = 0.25 on the positive, 1 - 2 = -1 on the negative (one generic prompt per image)
    expect(own['uniform · generic'].map((s) => [s.role, s.prompt, s.score, s.miou])).toEqual([
      ['positive', 'pneumothorax', 0.25, null],
      ['negative', 'pneumothorax', -1, null],
    ]);
    // own: the normal prompt's own heatmap picks its 4th cell (1), the pathology's its 1st (0.2): 0.8;
    // the negative at "left": normal 3rd cell 1, pathology 2nd cell 0.5: 0.5
    const located = own['frozen · located'];
    expect(located.map((s) => [s.role, s.location, s.prompt, s.errorNormal, s.errorPathology, s.miou])).toEqual([
      ['positive', 'left', 'left pneumothorax', 1, expect.closeTo(0.2, 6), 0.3],
      ['negative', 'left', 'left pneumothorax', 1, 0.5, null],
    ]);
    expect(located[0].score).toBeCloseTo(0.8, 6);
    // pathology: both prompts over the pathology heatmap's cell: positive 3 - 0.2 = 2.8, negative 1 - 0.5 = 0.5
    const shared = samplesOf(experiment('pathology'), maps, heat)['frozen · located'];
    expect(shared.map((s) => s.errorNormal)).toEqual([3, 1]);
    expect(shared[0].score).toBeCloseTo(2.8, 6);
    expect(shared[1].score).toBeCloseTo(0.5, 6);
  });
});
