// The model bundle's manifest.json (models/README.md), as one zod schema: the runtime, the registry and the tests
// of the Python exporter's output all parse it with this. Unknown fields are kept (passthrough) so that a newer
// exporter's additions do not break an older reader; what the runtime needs is required and checked.
import { z } from 'zod';

export const BUNDLE_FORMAT = 'sightline-model-bundle';
/** The newest manifest format this code reads; a bundle with a higher `format_version` is refused. */
export const BUNDLE_FORMAT_VERSION = 1;

const int = z.number().int();
const positive = int.positive();

const TensorSpec = z.object({
  name: z.string(),
  /** "batch" marks the dynamic axis */
  shape: z.array(z.union([int.nonnegative(), z.literal('batch')])),
  dtype: z.enum(['float32', 'int64']),
});
export type TensorSpec = z.output<typeof TensorSpec>;

const GraphSpec = z
  .object({
    file: z.string().min(1),
    inputs: z.array(TensorSpec).min(1),
    outputs: z.array(TensorSpec).min(1),
    attention_layers: z.array(int.nonnegative()).optional(),
    stops_after_layer: int.nonnegative().optional(),
  })
  .passthrough();
export type GraphSpec = z.output<typeof GraphSpec>;

/** Grounding settings of one variant (method.md sections 2-3); every number is overridable per request. */
export const GroundingVariant = z
  .object({
    layers: z.array(int.nonnegative()).min(1),
    num_inference_steps: positive,
    step_indices: z.array(int.nonnegative()).min(1),
    timesteps: z.array(int.nonnegative()).min(1),
    timestep_spacing: z.literal('trailing'),
    otsu: z.boolean(),
    otsu_bins: positive.default(256),
    blur_sigma_px: z.number().nonnegative().default(2.5),
    blur_truncate: z.number().positive().default(4),
    inversion_prompt: z.string().default(''),
    guidance_scale: z.number().default(0),
    /** no x0 clipping in the inversion (the predecessor's scheduler: clip_sample=False); kept as an option */
    clip_sample: z.boolean().default(false),
    /** token id -> replacement row of the token-embedding table, applied to the phrase only (tuned variants) */
    token_overrides: z.record(z.string().regex(/^\d+$/), z.array(z.number())).optional(),
  })
  .passthrough();
export type GroundingVariant = z.output<typeof GroundingVariant>;

export const BundleManifest = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    format_version: positive,
    name: z.string().min(1),
    version: z.string().min(1),
    licence: z.string(),
    description: z.string().default(''),
    image: z.object({ size: positive, channels: z.literal(1), value_range: z.tuple([z.number(), z.number()]) }).passthrough(),
    latent: z
      .object({ channels: positive, size: positive, downsample_factor: positive, scale_factor: z.number().positive() })
      .passthrough(),
    schedule: z
      .object({
        num_train_timesteps: positive,
        beta_schedule: z.literal('scaled_linear'),
        beta_start: z.number().positive(),
        beta_end: z.number().positive(),
        prediction_type: z.literal('v_prediction'),
      })
      .passthrough(),
    text: z
      .object({
        max_length: positive,
        hidden_size: positive,
        vocab_size: positive,
        bos_id: int.nonnegative(),
        eos_id: int.nonnegative(),
        pad_id: int.nonnegative(),
        tokenizer: z.string().min(1),
        token_embedding: z.object({
          file: z.string().min(1),
          dtype: z.literal('float32'),
          byte_order: z.literal('little'),
          shape: z.tuple([positive, positive]),
        }),
      })
      .passthrough(),
    cross_attention: z
      .object({
        num_layers: positive,
        latent_size: z.tuple([positive, positive]),
        layers: z.array(z.object({ index: int.nonnegative(), grid: z.tuple([positive, positive]), heads: positive }).passthrough()),
      })
      .passthrough(),
    grounding: z.record(z.string(), GroundingVariant).refine((v) => Object.keys(v).length > 0, 'no grounding variants'),
    onnx: z.object({ vae_encoder: GraphSpec, text_encoder: GraphSpec, unet: GraphSpec, unet_attention: GraphSpec }).passthrough(),
    files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: int.nonnegative() })),
  })
  .passthrough()
  .superRefine((m, ctx) => {
    const issue = (message: string, path: (string | number)[]) => ctx.addIssue({ code: 'custom', message, path });
    if (m.format_version > BUNDLE_FORMAT_VERSION) {
      issue(`format_version ${m.format_version} is newer than this Sightline reads (${BUNDLE_FORMAT_VERSION}); update Sightline`, ['format_version']);
    }
    const [v, h] = m.text.token_embedding.shape;
    if (v !== m.text.vocab_size || h !== m.text.hidden_size) issue('token_embedding.shape must be [vocab_size, hidden_size]', ['text', 'token_embedding', 'shape']);
    const attention = new Set(m.onnx.unet_attention.attention_layers ?? []);
    const known = new Set(m.cross_attention.layers.map((l) => l.index));
    for (const [name, variant] of Object.entries(m.grounding)) {
      for (const layer of variant.layers) {
        if (!known.has(layer)) issue(`variant ${name}: layer ${layer} is not a cross-attention layer of the model`, ['grounding', name, 'layers']);
        else if (!attention.has(layer)) issue(`variant ${name}: layer ${layer} is not an output of unet_attention.onnx`, ['grounding', name, 'layers']);
      }
      if (variant.timesteps.length !== variant.step_indices.length) issue(`variant ${name}: one timestep per kept step`, ['grounding', name, 'timesteps']);
    }
    for (const [graph, spec] of Object.entries(m.onnx) as [string, GraphSpec][]) {
      if (spec && typeof spec === 'object' && 'file' in spec && !(spec.file in m.files)) issue(`${graph}: ${spec.file} is not listed in files`, ['onnx', graph, 'file']);
    }
    for (const file of [m.text.tokenizer, m.text.token_embedding.file]) if (!(file in m.files)) issue(`${file} is not listed in files`, ['files']);
  });
export type BundleManifest = z.output<typeof BundleManifest>;
