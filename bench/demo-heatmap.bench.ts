// Time of one frozen heatmap on the demo bundle (models/demo) in onnxruntime-node, CPU.
// Run: npx tsx bench/demo-heatmap.bench.ts [--runs 5] [--threads 0] [--bundle models/demo]
//
// The graph sequence of method.md sections 2-3 at batch 1, as the manifest describes it: vae_encoder once, the
// text encoder for the empty prompt and the phrase, DDIM inversion with `unet` and the empty prompt up to the latent
// of the last kept step (59 calls for steps 0..58 of 100), and `unet_attention` with the phrase at the 20 kept steps
// (40..59), reducing
// the variant's layers over the phrase tokens. Post-processing (resize, blur, Otsu: < 1 ms at 128 px) is left out.
// Baseline in the same run: the kept steps through the full `unet.onnx` instead of the truncated graph.
// Target (issue 4): well under a second per image-phrase pair on this 2-core machine.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const RUNS = Number(arg('runs', '5'));
const THREADS = Number(arg('threads', '0')); // 0: onnxruntime's default (one per core)
const bundleDir = path.resolve(arg('bundle', path.join(__dirname, '../models/demo')));

interface Manifest {
  image: { size: number };
  latent: { channels: number; size: number };
  schedule: { num_train_timesteps: number; beta_start: number; beta_end: number };
  text: { max_length: number; hidden_size: number; vocab_size: number; bos_id: number; eos_id: number; pad_id: number; tokenizer: string; token_embedding: { file: string } };
  grounding: Record<string, { layers: number[]; num_inference_steps: number; step_indices: number[] }>;
  onnx: Record<string, { file: string }>;
}
const manifest = JSON.parse(fs.readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;
const variant = manifest.grounding.frozen;
const { hidden_size: H, max_length: L } = manifest.text;

function alphasCumprod(): Float64Array {
  const { num_train_timesteps: n, beta_start: b0, beta_end: b1 } = manifest.schedule;
  const out = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    // float32 like the Python schedule (torch.linspace(...) ** 2 in float32)
    const s = Math.fround(Math.sqrt(b0) + ((Math.sqrt(b1) - Math.sqrt(b0)) * i) / (n - 1));
    prod = Math.fround(prod * Math.fround(1 - Math.fround(s * s)));
    out[i] = prod;
  }
  return out;
}

/** 'trailing' spacing as training/sightline_ldm/schedule.py, ascending: t_i = (i + 1) * (n // k) - 1. */
function inversionTimesteps(): number[] {
  const n = manifest.schedule.num_train_timesteps;
  const k = variant.num_inference_steps;
  return Array.from({ length: k }, (_, i) => (i + 1) * Math.floor(n / k) - 1);
}

/** Phrase ids from whole-word vocabulary entries (enough for timing; the app's tokenizer is the BPE one). */
function phraseIds(phrase: string): number[] {
  const vocab = (JSON.parse(fs.readFileSync(path.join(bundleDir, manifest.text.tokenizer), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
  const words = phrase.split(/\s+/).map((w) => vocab[`${w}</w>`]).filter((id): id is number => id !== undefined);
  return [manifest.text.bos_id, ...words, manifest.text.eos_id];
}

function embeddings(table: Float32Array, ids: number[]): ort.Tensor {
  const out = new Float32Array(L * H);
  for (let p = 0; p < L; p++) {
    const id = p < ids.length ? ids[p] : manifest.text.pad_id;
    out.set(table.subarray(id * H, (id + 1) * H), p * H);
  }
  return new ort.Tensor('float32', out, [1, L, H]);
}

async function main() {
  const t0 = performance.now();
  const open = (g: string) => ort.InferenceSession.create(path.join(bundleDir, manifest.onnx[g].file), { intraOpNumThreads: THREADS });
  const [vae, text, unet, unetAttention] = await Promise.all(['vae_encoder', 'text_encoder', 'unet', 'unet_attention'].map(open));
  const tableBytes = fs.readFileSync(path.join(bundleDir, manifest.text.token_embedding.file));
  const table = new Float32Array(tableBytes.buffer, tableBytes.byteOffset, tableBytes.byteLength / 4);
  const loadMs = performance.now() - t0;

  const S = manifest.image.size;
  const image = Float32Array.from({ length: S * S }, (_, i) => 0.5 + 0.4 * Math.sin((i % S) / 9) * Math.cos(Math.floor(i / S) / 13));
  const phrase = phraseIds('left pleural effusion');
  const ac = alphasCumprod();
  const ts = inversionTimesteps();
  const kept = new Set(variant.step_indices);
  const lastStep = Math.max(...variant.step_indices);

  async function heatmap(attentionGraph: ort.InferenceSession): Promise<Float32Array> {
    const z0 = (await vae.run({ image: new ort.Tensor('float32', image, [1, 1, S, S]) })).latent;
    const empty = (await text.run({ inputs_embeds: embeddings(table, [manifest.text.bos_id, manifest.text.eos_id]) })).last_hidden_state;
    const ctx = (await text.run({ inputs_embeds: embeddings(table, phrase) })).last_hidden_state;
    let x = Float32Array.from(z0.data as Float32Array);
    const dims = z0.dims as number[];
    let acc: Float32Array | undefined;
    for (let i = 0; i <= lastStep; i++) {
      const t = ts[i];
      const timestep = new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), [1]);
      if (kept.has(i)) {
        const out = await attentionGraph.run({ latent: new ort.Tensor('float32', x, dims), timestep, context: ctx });
        for (const layer of variant.layers) {
          const probs = out[`attn_${layer}`].data as Float32Array; // [1, heads, HW, 77]
          const positions = probs.length / L;
          acc ??= new Float32Array(positions);
          if (acc.length !== positions) acc = new Float32Array(positions); // mixed grids: timing only
          for (let p = 0; p < positions; p++) {
            let s = 0;
            for (let k = 1; k < phrase.length - 1; k++) s += probs[p * L + k];
            acc[p] += s;
          }
        }
      }
      if (i === lastStep) break;
      // DDIM inversion step t -> next with the empty prompt (v-prediction, eta 0)
      const v = (await unet.run({ latent: new ort.Tensor('float32', x, dims), timestep, context: empty })).v_prediction.data as Float32Array;
      const a = ac[t], aNext = ac[ts[i + 1]];
      const next = new Float32Array(x.length);
      for (let j = 0; j < x.length; j++) {
        const x0 = Math.sqrt(a) * x[j] - Math.sqrt(1 - a) * v[j];
        const eps = Math.sqrt(a) * v[j] + Math.sqrt(1 - a) * x[j];
        next[j] = Math.sqrt(aNext) * x0 + Math.sqrt(1 - aNext) * eps;
      }
      x = next;
    }
    return acc ?? new Float32Array();
  }

  const time = async (graph: ort.InferenceSession) => {
    await heatmap(graph); // warm
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      await heatmap(graph);
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    return { median: runs[Math.floor(runs.length / 2)], min: runs[0], max: runs[runs.length - 1] };
  };
  const truncated = await time(unetAttention);
  const full = await time(unet);
  const calls = `${lastStep} inversion + ${kept.size} attention calls`;
  console.log(`demo heatmap (${path.relative(process.cwd(), bundleDir)}, layers ${variant.layers.join(',')}, ${calls}), ${RUNS} runs, ms:`);
  console.log(`  sessions + table load      ${loadMs.toFixed(0)}`);
  console.log(`  truncated attention graph  median ${truncated.median.toFixed(0)}  min ${truncated.min.toFixed(0)}  max ${truncated.max.toFixed(0)}`);
  console.log(`  baseline: full unet.onnx   median ${full.median.toFixed(0)}  min ${full.min.toFixed(0)}  max ${full.max.toFixed(0)}`);
  console.log(`  target < 1000 ms: ${truncated.median < 1000 ? 'met' : 'NOT met'}`);
  await Promise.all([vae, text, unet, unetAttention].map((s) => s.release()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
