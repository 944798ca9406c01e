import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { threadsFor } from '../../../main/grounding/tasks';

describe('intra-op threads per graph', () => {
  const cores = Math.max(1, os.availableParallelism());

  it('gives a small model one thread for its batch-1 graphs and every core for the batched attention', () => {
    for (const graph of ['vae_encoder', 'text_encoder', 'unet'] as const) expect(threadsFor(graph, 0, 16)).toBe(1);
    expect(threadsFor('unet_attention', 0, 16)).toBe(cores);
  });

  it('gives every graph of a large model (64 x 64 latents) every core', () => {
    for (const graph of ['vae_encoder', 'text_encoder', 'unet', 'unet_attention'] as const) expect(threadsFor(graph, 0, 64)).toBe(cores);
  });

  it('follows the threads setting when it is set', () => {
    expect(threadsFor('unet', 3, 16)).toBe(3);
    expect(threadsFor('unet_attention', 1, 64)).toBe(1);
  });
});
