// The shipped demo bundle (models/demo) opens in onnxruntime-node, matches its manifest, and its graphs run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const bundleDir = path.resolve(__dirname, '../../../models/demo');
interface TensorSpec { name: string; shape: (number | string)[]; dtype: 'float32' | 'int64' }
interface GraphSpec { file: string; inputs: TensorSpec[]; outputs: TensorSpec[] }
const manifest = JSON.parse(readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8')) as {
  onnx: Record<string, GraphSpec>;
  files: Record<string, { sha256: string }> | { path: string; sha256: string }[];
};

function feed(spec: TensorSpec): ort.Tensor {
  const dims = spec.shape.map((d) => (typeof d === 'number' ? d : 1));
  const size = dims.reduce((a, b) => a * b, 1);
  if (spec.dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: size }, () => 500n), dims);
  return new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 0.5), dims);
}

describe('demo model bundle', () => {
  it('lists every file with its sha256', () => {
    const entries = Array.isArray(manifest.files) ? manifest.files.map((f) => [f.path, f.sha256] as const) : Object.entries(manifest.files).map(([p, f]) => [p, f.sha256] as const);
    expect(entries.length).toBeGreaterThanOrEqual(5);
    for (const [file, sha] of entries) {
      expect(createHash('sha256').update(readFileSync(path.join(bundleDir, file))).digest('hex'), file).toBe(sha);
    }
  });

  it.each(Object.keys(manifest.onnx))('%s runs in onnxruntime-node with the manifest shapes', async (graph) => {
    const spec = manifest.onnx[graph];
    const session = await ort.InferenceSession.create(path.join(bundleDir, spec.file));
    expect([...session.inputNames].sort()).toEqual(spec.inputs.map((i) => i.name).sort());
    const outputs = await session.run(Object.fromEntries(spec.inputs.map((i) => [i.name, feed(i)])));
    for (const out of spec.outputs) {
      const dims = out.shape.map((d) => (typeof d === 'number' ? d : 1));
      expect(outputs[out.name].dims, `${graph}.${out.name}`).toEqual(dims);
      const data = outputs[out.name].data as Float32Array;
      expect(data.every(Number.isFinite), `${graph}.${out.name} finite`).toBe(true);
      if (out.name.startsWith('attn_')) {
        // softmax over the 77 tokens
        const sum = data.slice(0, 77).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 4);
      }
    }
    await session.release();
  });
});
