// `sightline classify` end to end through the CLI's entry (main/cli/main.ts `main`) on a data directory with the demo
// imported: --plan, a small run with --lut and --out (the JSON's shape, its numbers equal to the stored run's), and
// the exit codes of usage errors (2) and experiments that cannot run (1).
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAppContext } from '../../../main/services/app-context';
import { runCli } from '../run-cli';

let dataDir: string;
let dataset: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cls-cli-'));
  const context = await createAppContext({ dataDir, mode: 'cli', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  dataset = (context.db.prepare("SELECT name FROM datasets WHERE name LIKE 'MIMIC%'").get() as { name: string }).name;
  await context.close();
}, 120_000);

describe('sightline classify', () => {
  it('--plan prints the counts', async () => {
    const r = await runCli(['classify', '--dataset', dataset, '--positive', 'pneumothorax', '--samples', '4', '--plan', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ benchmark: `MS-CXR-loc/${dataset}`, positives: 1, normalImages: 3, negatives: 1, images: 2, unetPasses: 36, problem: null });
  });

  it('--condition gives the rows (named or not) instead of the default ones', async () => {
    const r = await runCli(['classify', '--dataset', dataset, '--positive', 'pneumothorax', '--condition', 'uniform:located', '--condition', 'frozen:located:mine', '--plan', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).conditions).toEqual([
      { name: 'uniform · located', prompt: 'located', heatmap: 'uniform' },
      { name: 'mine', prompt: 'located', heatmap: 'frozen' },
    ]);
    const bad = await runCli(['classify', '--dataset', dataset, '--positive', 'pneumothorax', '--condition', 'frozen:nearby', '--plan', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--condition frozen:nearby: HEATMAP:PROMPT\[:NAME\]/);
    const mixed = await runCli(['classify', '--dataset', dataset, '--positive', 'pneumothorax', '--condition', 'uniform:generic', '--lut', '--plan', '--data-dir', dataDir]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/leave out --variant and --lut/);
  });

  it('runs and writes the report, every sample, the settings and the cost', async () => {
    const out = path.join(dataDir, 'results.json');
    const r = await runCli(['classify', '--dataset', dataset, '--positive', 'Pleural Effusion', '--samples', '2', '--limit', '2', '--lut', '--variant', 'frozen', '--locations', 'left,right', '--bootstrap', '100', '--permutations', '100', '--out', out, '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^condition\s+AUROC \[95% CI\]\s+n\+ \/ n-\s+low \/ high mIoU AUROC\s+difference\s+p/);
    expect(r.stdout).toMatch(/lut · located/);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(json)).toEqual(['conditions', 'samples', 'settings', 'cost', 'run_id']);
    expect(Object.keys(json.conditions)).toEqual(['uniform · generic', 'lut · located', 'frozen · generic', 'frozen · located']);
    const located = json.conditions['frozen · located'];
    expect(Object.keys(located)).toEqual(['prompt', 'heatmap', 'auroc', 'ci_low', 'ci_high', 'positives', 'negatives', 'low_miou', 'high_miou', 'difference']);
    expect(located).toMatchObject({ prompt: 'located', heatmap: 'frozen', positives: 2, negatives: 2 * 2 });
    expect(Object.keys(located.low_miou)).toEqual(['auroc', 'miou_range', 'p_value', 'positives']);
    expect(located.low_miou.positives).toBe(1);
    expect(located.low_miou.miou_range[0]).toBeLessThanOrEqual(located.high_miou.miou_range[0]);
    expect(json.conditions['uniform · generic'].low_miou).toBeNull();
    expect(json.samples['lut · located']).toHaveLength(2 + 2 * 2);
    expect(json.settings).toMatchObject({ samples: 2, limit: 2, locations: ['left', 'right'], bootstrap: 100 });
    expect(json.cost.images).toBe(4);
    // the same numbers as the stored run
    const context = await createAppContext({ dataDir, mode: 'cli', importDemo: false });
    try {
      const run = await context.handlers['classification.runs.get']({ id: json.run_id });
      expect(run.report!.conditions.map((c) => c.auroc)).toEqual(Object.values(json.conditions).map((c) => (c as { auroc: number }).auroc));
    } finally {
      await context.close();
    }
  }, 120_000);

  it('exits 2 on usage errors and 1 when the experiment cannot run', async () => {
    const unknown = await runCli(['classify', '--dataset', dataset, '--positive', 'nodule', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--positive nodule: not one of the 8 classes: Atelectasis, Cardiomegaly, Consolidation, Edema, Lung Opacity, Pleural Effusion, Pneumonia, Pneumothorax/);
    expect((await runCli(['classify', '--positive', 'Edema', '--data-dir', dataDir])).code).toBe(2);
    expect((await runCli(['classify', '--dataset', dataset, '--positive', 'Edema', '--samples', '0', '--data-dir', dataDir])).code).toBe(2);
    expect((await runCli(['classify', '--dataset', dataset, '--positive', 'Edema', '--timesteps', '10', '--data-dir', dataDir])).code).toBe(2);
    expect((await runCli(['classify', '--dataset', dataset, '--positive', 'Edema', '--target', 'x', '--data-dir', dataDir])).code).toBe(2);
    expect((await runCli(['classify', '--dataset', dataset, '--positive', 'Edema', '--sample', '3', '--data-dir', dataDir])).stderr).toMatch(/did you mean --samples/);
    const variant = await runCli(['classify', '--dataset', dataset, '--positive', 'Edema', '--variant', 'nope', '--data-dir', dataDir]);
    expect([variant.code, variant.stderr]).toEqual([1, expect.stringMatching(/no variant "nope"/)]);
    const vindr = (await runCli(['classify', '--benchmark', 'VinDr-CXR', '--positive', 'Pneumothorax', '--data-dir', dataDir]));
    expect([vindr.code, vindr.stderr]).toEqual([1, expect.stringMatching(/has no normal image/)]);
    const bench = await runCli(['classify', '--benchmark', 'NoSuch', '--positive', 'Pneumothorax', '--data-dir', dataDir]);
    expect([bench.code, bench.stderr]).toEqual([1, expect.stringMatching(/no benchmark "NoSuch"/)]);
  }, 60_000);
});
