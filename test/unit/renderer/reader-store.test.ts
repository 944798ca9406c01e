// @vitest-environment happy-dom
// The reading view's steps run in the order the reader gave them (renderer/src/reader/store.ts): a score and `a`
// pressed at once, whose replies come back crossed, still show both answers; Enter right after an answer waits for it
// and then moves on. (CI once saw the accept lost on screen: the score's late reply overwrote the accept's state.)
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import type { ReaderState } from '../../../common/contract/reader';

type State = z.output<typeof ReaderState>;
type Answers = Record<string, number | string | boolean>;

const server = vi.hoisted(() => ({
  /** the replies the test releases by hand, in the order the store asked */
  held: [] as { release: () => void }[],
  answers: new Map<number, Answers>(),
  position: 0,
}));

const stateAt = (position: number): State => {
  const answers = { ...(server.answers.get(position) ?? {}) };
  return {
    study: 's',
    reader: 'R1',
    answered: [...server.answers.values()].filter((a) => 'score' in a && 'ok' in a).length,
    total: 3,
    next: position,
    sitting: 1,
    sittings: 1,
    allowChanges: true,
    practice: 0,
    unlocksAt: null,
    item: { position, token: '', imageId: 1, phrase: 'p', questions: [], answers, flagged: false, complete: 'score' in answers && 'ok' in answers, boxes: [], practice: false, feedback: null },
  };
};

vi.mock('../../../renderer/src/api', () => ({
  TOKEN_KEY: 'token',
  api: {
    reader: {
      state: async () => stateAt(server.position),
      activity: async () => ({}),
      goto: async ({ position }: { position: number }) => ((server.position = position), stateAt(position)),
      // the answer is stored at once (as the server does); its reply waits for the test
      answer: ({ position, question, value }: { position: number; question: string; value: number | boolean }) => {
        server.answers.set(position, { ...(server.answers.get(position) ?? {}), [question]: value });
        const reply = stateAt(position);
        return new Promise<State>((resolve) => server.held.push({ release: () => resolve(reply) }));
      },
    },
  },
}));

const { useReaderStore } = await import('../../../renderer/src/reader/store');

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(async () => {
  setActivePinia(createPinia());
  Object.assign(server, { held: [], answers: new Map(), position: 0 });
});

describe('the reading view answers in order', () => {
  it('a score and an accept given at once both show, even when their replies would cross', async () => {
    const reader = useReaderStore();
    reader.session = 'session';
    await reader.refresh();
    const score = reader.answer('score', 4);
    const accept = reader.answer('ok', true);
    await flush();
    expect(server.held).toHaveLength(1); // the accept waits for the score's reply
    server.held[0].release();
    await score;
    await flush();
    expect(server.held).toHaveLength(2);
    server.held[1].release();
    await accept;
    expect(reader.item?.answers).toEqual({ score: 4, ok: true });
    expect(reader.item?.complete).toBe(true);
  });

  it('Enter right after the last answer waits for it, then moves to the next item', async () => {
    const reader = useReaderStore();
    reader.session = 'session';
    await reader.refresh();
    void reader.answer('score', 2);
    void reader.answer('ok', false);
    const enter = reader.next();
    await flush();
    server.held[0].release();
    await flush();
    server.held[1].release();
    await enter;
    expect(reader.item?.position).toBe(1);
    expect(server.answers.get(0)).toEqual({ score: 2, ok: false });
  });
});
