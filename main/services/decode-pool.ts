// A small pool of worker threads for image decoding, so that imports and the viewer's pixel requests never
// block the event loop that serves the UI.
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ImageDecodeError, type DecodedImage } from '../imaging';
import type { DecodeRequest } from './decode-worker';

type Reply = { id: number; ok: true; image: DecodedImage } | { id: number; ok: false; reason: string };

interface Pending {
  file: string;
  resolve: (image: DecodedImage) => void;
  reject: (error: Error) => void;
}

function workerScript(): { file: string; execArgv: string[] } {
  // Built app: electron-vite emits the worker next to the main bundle. From source: run the .ts through tsx.
  const built = path.join(__dirname, 'decode-worker.js');
  if (existsSync(built)) return { file: built, execArgv: [] };
  return { file: path.join(__dirname, 'decode-worker.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
}

export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<DecodeRequest & Pending> = [];
  private readonly inFlight = new Map<Worker, DecodeRequest & Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = Math.max(1, Math.min(4, os.cpus().length - 1))) {}

  decode(file: string, maxPixels?: number): Promise<DecodedImage> {
    if (this.closed) return Promise.reject(new Error('decode pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, file, maxPixels, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('decode pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const { file, execArgv } = workerScript();
    const worker = new Worker(file, { execArgv });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = this.inFlight.get(worker);
      this.inFlight.delete(worker);
      if (job) {
        if (reply.ok) job.resolve(reply.image);
        else job.reject(new ImageDecodeError(job.file, reply.reason));
      }
      this.idle.push(worker);
      this.pump();
    });
    worker.on('error', (error) => {
      const job = this.inFlight.get(worker);
      this.inFlight.delete(worker);
      job?.reject(new ImageDecodeError(job.file, `decoder crashed: ${error.message}`));
      this.workers.splice(this.workers.indexOf(worker), 1);
      this.pump();
    });
    this.workers.push(worker);
    return worker;
  }

  private pump(): void {
    while (this.queue.length && !this.closed) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : null);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.inFlight.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, file: job.file, maxPixels: job.maxPixels } satisfies DecodeRequest);
    }
    for (const worker of this.idle) worker.unref();
  }
}
