// The grounding pipeline's ONNX part (docs/method.md sections 2-3), run inside a worker thread (main/workers): the
// sessions of one bundle are created once and reused. Two calls:
// - invert(image): z0 = vae_encoder(image), then the DDIM inversion with the empty prompt through unet.onnx at
//   batch 1, keeping the U-Net input latent z_i of every kept step (what does not depend on the phrase);
// - attend(latents, phrases): text_encoder on each phrase's token embeddings (tuned rows substituted), then
//   unet_attention.onnx over every (kept step, phrase) pair in batches, and the cross-attention probabilities of
//   the variant's layers reduced to one model-frame map per phrase (aggregate.ts). The pairs go step-major (every
//   phrase of the first kept steps first), so that between batches a provisional map of each phrase can be made
//   from the steps it has so far (`onProvisional`); the final maps do not depend on the batching.
// (and predictV, unet.onnx on a batch, for the classifier's error maps: main/classification/errors.ts)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { BundleManifest } from '../../common/model-bundle';
import { aggregateMaps, type LayerGrid } from './aggregate';
import { alphaBarAt, alphasCumprod, inversionStep, trailingTimesteps } from './schedule';

export type Graph = 'vae_encoder' | 'text_encoder' | 'unet' | 'unet_attention';
export type SessionFactory = (file: string, graph: Graph) => Promise<ort.InferenceSession>;

export interface InversionSettings {
  numInferenceSteps: number;
  /** the kept steps (indices into the trailing timesteps) */
  stepIndices: number[];
  clipSample: boolean;
}

export interface PhraseInput {
  /** padded token ids (max_length) */
  ids: number[];
  /** positions of the phrase's own tokens (no start/end/padding) */
  positions: number[];
}

export interface AttendSettings {
  layers: number[];
  sigma: number;
  truncate: number;
  /** token id -> replacement embedding row (tuned variants), for the phrase only */
  tokenOverrides?: Record<string, number[]>;
  /** (kept step, phrase) pairs per unet_attention call */
  maxBatch: number;
  /**
   * With provisional maps asked for and at least 2 kept steps: at least this many unet_attention calls (fewer
   * only when there are fewer pairs), each followed by provisional maps. Default: min(4, kept steps) for a model
   * with latents of 32 x 32 or more (a phrase pass takes seconds there), else 1 (the demo's whole job is one fast
   * batch). Tests set it to see provisional maps on the demo.
   */
  minChunks?: number;
}

/** A phrase's map from the first `stepsDone` of its `stepsTotal` kept steps (the same aggregation as the final). */
export interface ProvisionalMap {
  /** index into the phrases given to attend */
  phrase: number;
  map: Float32Array;
  stepsDone: number;
  stepsTotal: number;
}

/** From this latent size up, a bundle's phrase passes are slow enough for provisional maps to be worth their cost. */
export const PROVISIONAL_LATENT_SIZE = 32;

/**
 * How many unet_attention calls at least, when provisional maps are asked for: `requested` (AttendSettings.minChunks),
 * else min(4, K) for a model with latents of PROVISIONAL_LATENT_SIZE or more, else 1; always 1 with a single kept step.
 */
export function minAttentionChunks(keptSteps: number, latentSize: number, requested?: number): number {
  if (keptSteps < 2) return 1;
  return requested ?? (latentSize >= PROVISIONAL_LATENT_SIZE ? Math.min(4, keptSteps) : 1);
}

/**
 * The sizes of the unet_attention calls for `pairs` pairs: as few as `maxBatch` allows and at least `minChunks`
 * (never more than one per pair), as even as possible (they differ by at most one).
 */
export function attentionChunks(pairs: number, maxBatch: number, minChunks = 1): number[] {
  if (pairs <= 0) return [];
  const n = Math.min(pairs, Math.max(Math.ceil(pairs / Math.max(1, maxBatch)), Math.max(1, Math.floor(minChunks))));
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) sizes.push(Math.floor(((i + 1) * pairs) / n) - Math.floor((i * pairs) / n));
  return sizes;
}

export class GroundingEngine {
  private readonly sessions = new Map<Graph, Promise<ort.InferenceSession>>();
  private table: Float32Array | null = null;

  constructor(
    readonly dir: string,
    readonly manifest: BundleManifest,
    private readonly createSession: SessionFactory,
  ) {}

  private session(graph: Graph): Promise<ort.InferenceSession> {
    let s = this.sessions.get(graph);
    if (!s) {
      s = this.createSession(path.join(this.dir, this.manifest.onnx[graph].file), graph);
      s.catch(() => this.sessions.delete(graph));
      this.sessions.set(graph, s);
    }
    return s;
  }

  private tokenTable(): Float32Array {
    if (!this.table) {
      const bytes = readFileSync(path.join(this.dir, this.manifest.text.token_embedding.file));
      const [v, h] = this.manifest.text.token_embedding.shape;
      if (bytes.byteLength !== v * h * 4) throw new Error(`${this.manifest.text.token_embedding.file}: ${bytes.byteLength} bytes, expected ${v * h * 4} for [${v}, ${h}] float32`);
      this.table = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    return this.table;
  }

  /** Embeddings [batch, L, H] of padded id sequences, with tuned rows substituted where given. */
  private embed(sequences: number[][], overrides?: Record<string, number[]>): ort.Tensor {
    const { max_length: L, hidden_size: H } = this.manifest.text;
    const table = this.tokenTable();
    const out = new Float32Array(sequences.length * L * H);
    sequences.forEach((ids, b) => {
      if (ids.length !== L) throw new Error(`token sequence of length ${ids.length}, expected ${L}`);
      ids.forEach((id, p) => {
        const row = overrides?.[String(id)];
        const at = (b * L + p) * H;
        if (row) {
          if (row.length !== H) throw new Error(`tuned row of token ${id} has ${row.length} values, expected ${H}`);
          out.set(row, at);
        } else out.set(table.subarray(id * H, (id + 1) * H), at);
      });
    });
    return new ort.Tensor('float32', out, [sequences.length, L, H]);
  }

  async encodeText(sequences: number[][], overrides?: Record<string, number[]>): Promise<Float32Array> {
    const text = await this.session('text_encoder');
    const out = await text.run({ inputs_embeds: this.embed(sequences, overrides) }, ['last_hidden_state']);
    return out.last_hidden_state.data as Float32Array;
  }

  /**
   * The U-Net input latents z_i at the kept steps, concatenated in step order ([K, C, h, w]).
   * `emptyIds`: the padded ids of the inversion prompt ("").
   */
  async invert(
    image: Float32Array,
    emptyIds: number[],
    settings: InversionSettings,
    onStep?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const { size } = this.manifest.image;
    const { channels, size: ls } = this.manifest.latent;
    const latentLength = channels * ls * ls;
    const [vae, unet] = await Promise.all([this.session('vae_encoder'), this.session('unet')]);
    const empty = await this.encodeText([emptyIds]);
    const context = new ort.Tensor('float32', empty, [1, this.manifest.text.max_length, this.manifest.text.hidden_size]);
    const z0 = (await vae.run({ image: new ort.Tensor('float32', image, [1, 1, size, size]) }, ['latent'])).latent.data as Float32Array;

    const schedule = this.manifest.schedule;
    const alphaBar = alphasCumprod(schedule);
    const timesteps = trailingTimesteps(settings.numInferenceSteps, schedule.num_train_timesteps);
    const stride = Math.floor(schedule.num_train_timesteps / settings.numInferenceSteps);
    const kept = [...settings.stepIndices].sort((a, b) => a - b);
    const last = kept[kept.length - 1];
    if (last >= timesteps.length) throw new Error(`kept step ${last} is beyond the ${timesteps.length} inference steps`);
    const out = new Float32Array(kept.length * latentLength);
    let z: Float32Array = Float32Array.from(z0);
    for (let i = 0, k = 0; i <= last; i++) {
      if (i === kept[k]) out.set(z, latentLength * k++);
      if (i === last) break;
      signal?.throwIfAborted(); // cancelled: stop between U-Net calls (one call cannot be interrupted)
      const t = timesteps[i];
      const v = (
        await unet.run(
          { latent: new ort.Tensor('float32', z, [1, channels, ls, ls]), timestep: new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), [1]), context },
          ['v_prediction'],
        )
      ).v_prediction.data as Float32Array;
      z = inversionStep(z, v, alphaBarAt(alphaBar, t), alphaBarAt(alphaBar, t + stride), settings.clipSample);
      onStep?.(i + 1, last);
    }
    return out;
  }

  /**
   * One model-frame map per phrase (image.size squared, min-max [0,1], before any Otsu threshold), from the
   * latents `invert` returned for `stepIndices` / `timesteps`. `onProvisional`, when given, is called after each
   * unet_attention call but the last with a provisional map of every phrase whose count of finished steps grew.
   */
  async attend(
    latents: Float32Array,
    timesteps: number[],
    phrases: PhraseInput[],
    settings: AttendSettings,
    onBatch?: (done: number, total: number) => void,
    onProvisional?: (maps: ProvisionalMap[]) => void,
    signal?: AbortSignal,
  ): Promise<Float32Array[]> {
    const { channels, size: ls } = this.manifest.latent;
    const { max_length: L, hidden_size: H } = this.manifest.text;
    const latentLength = channels * ls * ls;
    const K = timesteps.length;
    const P = phrases.length;
    if (latents.length !== K * latentLength) throw new Error(`latents for ${latents.length / latentLength} steps, expected ${K}`);
    const grids = new Map<number, LayerGrid>();
    for (const layer of settings.layers) {
      const spec = this.manifest.cross_attention.layers.find((l) => l.index === layer);
      if (!spec) throw new Error(`layer ${layer} is not a cross-attention layer of ${this.manifest.name}`);
      grids.set(layer, { rows: spec.grid[0], columns: spec.grid[1], heads: spec.heads });
    }
    const contexts = await this.encodeText(
      phrases.map((p) => p.ids),
      settings.tokenOverrides,
    );
    const graph = await this.session('unet_attention');
    const fetches = settings.layers.map((l) => `attn_${l}`);
    const layers = [...settings.layers].sort((a, b) => a - b);
    // every (step, phrase) pair, step-major: after n pairs, phrase p has its first floor(n / P) + (p < n % P) steps
    const pairs = timesteps.flatMap((t, k) => phrases.map((_, p) => ({ p, k, t })));
    const probs = new Map<string, Float32Array>(); // `${p}:${k}:${layer}` -> [heads, HW, L]
    const chunks = attentionChunks(pairs.length, settings.maxBatch, onProvisional ? minAttentionChunks(K, ls, settings.minChunks) : 1);
    /** one phrase's map from its first `steps` kept steps: layers in order, then steps in order (the reference's summation order) */
    const mapOf = (p: number, steps: number) =>
      aggregateMaps(
        layers.flatMap((layer) => timesteps.slice(0, steps).map((_, k) => ({ probs: probs.get(`${p}:${k}:${layer}`)!, grid: grids.get(layer)! }))),
        phrases[p].positions,
        L,
        this.manifest.image.size,
        settings.sigma,
        settings.truncate,
      );
    const reported = new Array<number>(P).fill(0);
    let start = 0;
    for (const [c, size] of chunks.entries()) {
      signal?.throwIfAborted();
      const chunk = pairs.slice(start, start + size);
      const latent = new Float32Array(chunk.length * latentLength);
      const context = new Float32Array(chunk.length * L * H);
      const steps = new BigInt64Array(chunk.length);
      chunk.forEach(({ p, k, t }, b) => {
        latent.set(latents.subarray(k * latentLength, (k + 1) * latentLength), b * latentLength);
        context.set(contexts.subarray(p * L * H, (p + 1) * L * H), b * L * H);
        steps[b] = BigInt(t);
      });
      const out = await graph.run(
        {
          latent: new ort.Tensor('float32', latent, [chunk.length, channels, ls, ls]),
          timestep: new ort.Tensor('int64', steps, [chunk.length]),
          context: new ort.Tensor('float32', context, [chunk.length, L, H]),
        },
        fetches,
      );
      for (const layer of settings.layers) {
        const data = out[`attn_${layer}`].data as Float32Array;
        const per = data.length / chunk.length;
        chunk.forEach(({ p, k }, b) => probs.set(`${p}:${k}:${layer}`, data.subarray(b * per, (b + 1) * per)));
      }
      start += size;
      onBatch?.(start, pairs.length);
      if (!onProvisional || c === chunks.length - 1) continue;
      const provisional: ProvisionalMap[] = [];
      for (let p = 0; p < P; p++) {
        const stepsDone = Math.floor(start / P) + (p < start % P ? 1 : 0);
        if (stepsDone <= reported[p]) continue;
        reported[p] = stepsDone;
        provisional.push({ phrase: p, map: mapOf(p, stepsDone), stepsDone, stepsTotal: K });
      }
      if (provisional.length) onProvisional(provisional);
    }
    return phrases.map((_, p) => mapOf(p, K));
  }

  /**
   * unet.onnx on a batch: the v-prediction [batch, C, h, w] of latents [batch, C, h, w] at one timestep each, with
   * contexts [batch, L, H] (the classifier's error maps, main/classification/errors.ts).
   */
  async predictV(latent: Float32Array, timesteps: number[], context: Float32Array, batch: number): Promise<Float32Array> {
    const { channels, size: ls } = this.manifest.latent;
    const { max_length: L, hidden_size: H } = this.manifest.text;
    if (latent.length !== batch * channels * ls * ls || context.length !== batch * L * H || timesteps.length !== batch) {
      throw new Error(`predictV: inputs for a batch of ${batch} expected (latent ${latent.length}, context ${context.length}, ${timesteps.length} timesteps)`);
    }
    const unet = await this.session('unet');
    const out = await unet.run(
      {
        latent: new ort.Tensor('float32', latent, [batch, channels, ls, ls]),
        timestep: new ort.Tensor('int64', BigInt64Array.from(timesteps, (t) => BigInt(t)), [batch]),
        context: new ort.Tensor('float32', context, [batch, L, H]),
      },
      ['v_prediction'],
    );
    return out.v_prediction.data as Float32Array;
  }

  async release(): Promise<void> {
    const all = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    await Promise.all(all.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
  }
}
