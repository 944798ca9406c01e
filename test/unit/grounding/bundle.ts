// A model bundle as the engine tests open it (the grounding parity and provisional-map tests, the classifier's error
// map and parity tests): its parsed manifest, its CLIP tokenizer and a GroundingEngine on single-threaded CPU
// sessions, or on the test's own session factory (one that counts U-Net runs, say).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BundleManifest } from '../../../common/model-bundle';
import { GroundingEngine, type SessionFactory } from '../../../main/grounding/engine';
import { ClipTokenizer } from '../../../main/grounding/tokenizer';
import { createSession } from '../../../main/models/providers';

export const root = path.resolve(__dirname, '../../..');

/** One ONNX session per graph on the CPU, one thread: the tests' numbers do not depend on the machine. */
export const cpuSession: SessionFactory = async (file) => (await createSession(file, { setting: 'cpu', threads: 1 })).session;

/** The bundle in `dir` (relative to the repository root); release the engine after the tests. */
export function openBundle(dir = 'models/demo', sessions: SessionFactory = cpuSession) {
  const bundleDir = path.join(root, dir);
  const manifest = BundleManifest.parse(JSON.parse(readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8')));
  const { text } = manifest;
  const tokenizer = ClipTokenizer.fromJson(readFileSync(path.join(bundleDir, text.tokenizer), 'utf8'), {
    bosId: text.bos_id,
    eosId: text.eos_id,
    padId: text.pad_id,
    maxLength: text.max_length,
  });
  return { bundleDir, manifest, tokenizer, engine: new GroundingEngine(bundleDir, manifest, sessions) };
}
