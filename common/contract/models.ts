// The models domain's contract: the model registry (bundles shipped in models/ and added under the data
// directory), their verification, and the ONNX Runtime execution providers the grounding runs on.
import { z } from 'zod';
import { empty, type EventTable } from './shared';

export const ModelSource = z.enum(['shipped', 'user']);

/** A bundle's verification: every listed file hashed once (`ok`), then trusted while size and mtime hold. */
export const ModelCheck = z.object({
  state: z.enum(['ok', 'unverified', 'failed']),
  /** what is wrong, naming the file ('unet.onnx: sha256 differs from the manifest (tampered or damaged)') */
  problem: z.string().nullable(),
  checkedAt: z.string().nullable(),
});

export const ModelInfo = z.object({
  /** manifest name, unique across the registry */
  name: z.string(),
  version: z.string(),
  description: z.string(),
  licence: z.string(),
  source: ModelSource,
  dir: z.string(),
  bytes: z.number().int(),
  imageSize: z.number().int(),
  variants: z.array(z.string()),
  /** variant -> what it computes, in one line (layers, steps, threshold, tuned rows, presets): main/models/presets.ts */
  variantNotes: z.record(z.string(), z.string()).default({}),
  defaultVariant: z.string(),
  check: ModelCheck,
});

export const ExecutionProvider = z.enum(['cpu', 'cuda', 'dml', 'coreml', 'webgpu']);

export const RuntimeInfo = z.object({
  /** providers the installed onnxruntime-node offers on this machine */
  available: z.array(ExecutionProvider),
  /** the one grounding uses now (the setting, or CPU when it failed to start) */
  active: ExecutionProvider,
  threads: z.number().int(),
  /** why the selected provider is not active, if it is not */
  fallback: z.string().nullable(),
});

export const modelsProcedures = {
  'models.list': { input: empty, output: z.array(ModelInfo) },
  /** Hashes every file of the bundle (a job: the MONAI bundle is 3.2 GB). */
  'models.verify': { input: z.object({ name: z.string().min(1) }), output: z.object({ jobId: z.string() }) },
  /** Copies a bundle directory into <data-dir>/models and verifies it (a job). */
  'models.add': { input: z.object({ dir: z.string().min(1) }), output: z.object({ jobId: z.string() }) },
  'models.runtime': { input: empty, output: RuntimeInfo },
} as const;

export const modelsEvents = {} as const satisfies EventTable;
