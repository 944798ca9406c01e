// The grounding pipeline's ONNX part (docs/method.md sections 2-3), run inside a worker thread (main/workers): the
// sessions of one bundle are created once and reused. Two calls:
// - invert(image): z0 = vae_encoder(image), then the DDIM inversion with the empty prompt through unet.onnx at
//   batch 1, keeping the U-Net input latent z_i of every kept step (what does not depend on the phrase);
// - attend(latents, phrases): text_encoder on each phrase's token embeddings (tuned rows substituted), then
//   unet_attention.onnx over every (kept step, phrase) pair in batches, and the cross-attention probabilities of
//   the variant's layers reduced to one model-frame map per phrase (aggregate.ts).
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
  async invert(image: Float32Array, emptyIds: number[], settings: InversionSettings, onStep?: (done: number, total: number) => void): Promise<Float32Array> {
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
   * latents `invert` returned for `stepIndices` / `timesteps`.
   */
  async attend(
    latents: Float32Array,
    timesteps: number[],
    phrases: PhraseInput[],
    settings: AttendSettings,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[]> {
    const { channels, size: ls } = this.manifest.latent;
    const { max_length: L, hidden_size: H } = this.manifest.text;
    const latentLength = channels * ls * ls;
    const K = timesteps.length;
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
    // every (phrase, step) pair, phrase-major, cut into batches
    const pairs = phrases.flatMap((_, p) => timesteps.map((t, k) => ({ p, k, t })));
    const probs = new Map<string, Float32Array>(); // `${p}:${k}:${layer}` -> [heads, HW, L]
    const batch = Math.max(1, settings.maxBatch);
    for (let start = 0; start < pairs.length; start += batch) {
      const chunk = pairs.slice(start, start + batch);
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
      onBatch?.(Math.min(start + batch, pairs.length), pairs.length);
    }
    return phrases.map((phrase, p) =>
      aggregateMaps(
        // layer by layer, step by step: the reference's summation order
        [...settings.layers].sort((a, b) => a - b).flatMap((layer) => timesteps.map((_, k) => ({ probs: probs.get(`${p}:${k}:${layer}`)!, grid: grids.get(layer)! }))),
        phrase.positions,
        L,
        this.manifest.image.size,
        settings.sigma,
        settings.truncate,
      ),
    );
  }

  async release(): Promise<void> {
    const all = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    await Promise.all(all.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
  }
}
