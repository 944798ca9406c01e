// Execution providers: what the installed onnxruntime-node offers, what a setting picks, the session options, and
// the fallback to CPU when a provider does not start (with fake factories for providers this machine lacks, and
// real sessions on the CPU and on whatever GPU provider is bundled here).
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_THREADS,
  availableProviders,
  chooseProviders,
  createSession,
  forgetProviderFailures,
  probeModel,
  probeRuntime,
  resolveThreads,
  sessionOptions,
  shortError,
  type ExecutionProvider,
  type SessionFactory,
  type SessionOptions,
} from '../../../main/models/providers';

const DEMO = path.resolve(__dirname, '../../../models/demo');

/** A factory whose listed providers fail to start; records what it was asked. */
function fakeFactory(failing: Partial<Record<ExecutionProvider, string>>) {
  const calls: SessionOptions[] = [];
  const create: SessionFactory = async (_model, options) => {
    calls.push(options);
    const provider = options.executionProviders![0] as ExecutionProvider;
    const why = failing[provider];
    if (why) throw new Error(why);
    return { release: async () => {}, provider } as unknown as ort.InferenceSession;
  };
  return { create, calls, providers: () => calls.map((c) => c.executionProviders![0]) };
}

beforeEach(() => forgetProviderFailures());

describe('available providers', () => {
  it('always offers CPU; a backend counts when bundled or when its provider library is installed', () => {
    expect(availableProviders([])).toEqual(['cpu']);
    const backends = [
      { name: 'cpu', bundled: true },
      { name: 'webgpu', bundled: true },
      { name: 'cuda', bundled: false },
      { name: 'tensorrt', bundled: false },
    ];
    expect(availableProviders(backends, () => false)).toEqual(['cpu', 'webgpu']);
    expect(availableProviders(backends, (p) => p === 'cuda')).toEqual(['cpu', 'cuda', 'webgpu']);
    expect(availableProviders([{ name: 'dml', bundled: true }, { name: 'cpu', bundled: true }])).toEqual(['cpu', 'dml']);
    expect(availableProviders([{ name: 'coreml', bundled: true }])).toEqual(['cpu', 'coreml']);
  });

  it('asks the installed onnxruntime-node', () => {
    const here = availableProviders();
    expect(here[0]).toBe('cpu');
    for (const p of here) expect(['cpu', 'cuda', 'dml', 'coreml', 'webgpu']).toContain(p);
  });
});

describe('choosing a provider', () => {
  it("'auto' tries the native GPU providers best first, then CPU; WebGPU only when chosen", () => {
    expect(chooseProviders('auto', ['cpu'])).toEqual({ candidates: ['cpu'], notice: null });
    expect(chooseProviders('auto', ['cpu', 'webgpu', 'cuda'])).toEqual({ candidates: ['cuda', 'cpu'], notice: null });
    expect(chooseProviders('auto', ['cpu', 'dml', 'webgpu'])).toEqual({ candidates: ['dml', 'cpu'], notice: null });
    expect(chooseProviders('webgpu', ['cpu', 'webgpu'])).toEqual({ candidates: ['webgpu', 'cpu'], notice: null });
  });

  it('a named provider is tried, then CPU; one not offered goes to CPU with a notice', () => {
    expect(chooseProviders('cpu', ['cpu', 'cuda'])).toEqual({ candidates: ['cpu'], notice: null });
    expect(chooseProviders('cuda', ['cpu', 'cuda'])).toEqual({ candidates: ['cuda', 'cpu'], notice: null });
    const cuda = chooseProviders('cuda', ['cpu']);
    expect(cuda.candidates).toEqual(['cpu']);
    expect(cuda.notice).toMatch(/^CUDA is not offered by the installed ONNX Runtime on this machine \(install .*ONNXRUNTIME_NODE_INSTALL=cuda12.*\); running on CPU$/);
    expect(chooseProviders('dml', ['cpu']).notice).toBe('DirectML is not offered by the installed ONNX Runtime on this machine; running on CPU');
  });
});

describe('session options', () => {
  it('threads 0 is one intra-op thread; a count is taken as is', () => {
    expect(DEFAULT_THREADS).toBe(1);
    expect(resolveThreads(0)).toBe(1);
    expect(resolveThreads(6)).toBe(6);
    expect(sessionOptions('cpu', 0)).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    expect(sessionOptions('cuda', 4)).toMatchObject({ executionProviders: ['cuda'], intraOpNumThreads: 4 });
  });

  it('shortens ONNX Runtime errors to the sentence that says why', () => {
    expect(
      shortError(
        new Error(
          '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(...)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters',
        ),
      ),
    ).toBe('Failed to get a WebGPU adapter: No supported adapters');
    expect(shortError(new Error('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library\nmore'))).toBe(
      'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
    );
  });
});

describe('creating a session with fallback', () => {
  it('uses the chosen provider when it starts', async () => {
    const fake = fakeFactory({});
    const s = await createSession('m.onnx', { setting: 'cuda', threads: 0, available: ['cpu', 'cuda'], create: fake.create });
    expect(s).toMatchObject({ provider: 'cuda', threads: 1, fallback: null });
    expect(fake.providers()).toEqual(['cuda']);
  });

  it('falls back to CPU with a message when the provider fails to start, and remembers it', async () => {
    const fake = fakeFactory({ cuda: 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library' });
    const failures = new Map();
    const s = await createSession('m.onnx', { setting: 'cuda', threads: 2, available: ['cpu', 'cuda'], create: fake.create, failures });
    expect(s).toMatchObject({ provider: 'cpu', threads: 2 });
    expect(s.fallback).toBe('CUDA did not start (OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library); running on CPU');
    expect(fake.providers()).toEqual(['cuda', 'cpu']);
    // the next session does not try CUDA again, and says the same
    const again = await createSession('m.onnx', { setting: 'cuda', threads: 2, available: ['cpu', 'cuda'], create: fake.create, failures });
    expect(again.fallback).toBe(s.fallback);
    expect(fake.providers()).toEqual(['cuda', 'cpu', 'cpu']);
  });

  it("'auto' walks down the GPU providers", async () => {
    const fake = fakeFactory({ cuda: 'no driver' });
    const s = await createSession('m.onnx', { setting: 'auto', threads: 0, available: ['cpu', 'cuda', 'dml'], create: fake.create, failures: new Map() });
    expect(s).toMatchObject({ provider: 'dml', fallback: 'CUDA did not start (no driver); running on DirectML' });
    const none = await createSession('m.onnx', { setting: 'auto', threads: 0, available: ['cpu'], create: fake.create, failures: new Map() });
    expect(none).toMatchObject({ provider: 'cpu', fallback: null });
  });

  it('a model CPU cannot open either is an error, and does not blame the provider', async () => {
    const fake = fakeFactory({ cuda: 'bad model', cpu: 'bad model' });
    const failures = new Map();
    await expect(createSession('m.onnx', { setting: 'cuda', threads: 0, available: ['cpu', 'cuda'], create: fake.create, failures })).rejects.toThrow('bad model');
    expect(failures.size).toBe(0);
  });

  it('a provider not offered here goes straight to CPU, saying so', async () => {
    const fake = fakeFactory({});
    const s = await createSession('m.onnx', { setting: 'coreml', threads: 0, available: ['cpu'], create: fake.create });
    expect(s).toMatchObject({ provider: 'cpu', fallback: 'CoreML is not offered by the installed ONNX Runtime on this machine; running on CPU' });
    expect(fake.providers()).toEqual(['cpu']);
  });

  it('opens a real graph of the demo model on the CPU', async () => {
    const s = await createSession(path.join(DEMO, 'vae_encoder.onnx'), { setting: 'cpu', threads: 0 });
    expect(s).toMatchObject({ provider: 'cpu', threads: 1, fallback: null });
    expect([...s.session.inputNames]).toEqual(['image']);
    await s.session.release();
  });
});

describe('the runtime probe', () => {
  it('starts the one-operator probe graph; CPU always works', async () => {
    expect(probeModel().length).toBeGreaterThan(40);
    const cpu = await probeRuntime('cpu', 0);
    expect(cpu).toEqual({ available: availableProviders(), active: 'cpu', threads: 1, fallback: null });
  });

  it("on this machine 'auto' ends on a provider that starts, explaining any it passed over", async () => {
    const auto = await probeRuntime('auto', 3);
    expect(auto.threads).toBe(3);
    expect(auto.available).toContain(auto.active);
    const tried = chooseProviders('auto', auto.available).candidates;
    if (auto.active === 'cpu' && tried.length > 1) expect(auto.fallback).toMatch(/did not start \(.+\); running on CPU$/);
    if (auto.fallback === null) expect(auto.active).toBe(chooseProviders('auto', auto.available).candidates[0]);
  });

  it('a provider that cannot start falls back for real', async () => {
    // not offered on this machine, or offered without the hardware: either way the probe runs on something that works
    const info = await probeRuntime('cuda', 0);
    if (info.active !== 'cuda') {
      expect(info.active).toBe('cpu');
      expect(info.fallback).toMatch(/^CUDA (is not offered|did not start)/);
    }
  });
});
