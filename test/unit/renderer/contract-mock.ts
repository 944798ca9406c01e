// The renderer's api module for store tests, mocked through the contract: every input a store sends and every answer
// and event a mock gives is parsed with the contract's zod schemas, so a mock (or a store) that drifts from the
// contract fails the test. Use from a vi.mock factory:
//   vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));
// mockEvents() is the event source such a mock hands in, with `emit` for the test (from an async vi.hoisted:
//   const mock = await vi.hoisted(async () => { const events = (await import('./contract-mock')).mockEvents(); ... })).
import { events as contractEvents, procedures } from '../../../common/contract';

type Listener = (p: unknown) => void;
type Schema = { parse(value: unknown): unknown };
type MockMethods = Record<string, Record<string, (input: never) => Promise<unknown>>>;

export function contractCheckedApi(
  mockApi: object,
  mockEvents: { on(event: string, listener: Listener): () => void },
  /** namespaces whose answers are passed through unparsed (a partial settings object, say) */
  opts: { unparsedOutputs?: readonly string[] } = {},
) {
  const specs = procedures as unknown as Record<string, { input: Schema; output: Schema } | undefined>;
  const eventSchemas = contractEvents as unknown as Record<string, Schema | undefined>;
  const api: Record<string, Record<string, (input: unknown) => Promise<unknown>>> = {};
  for (const [ns, methods] of Object.entries(mockApi as MockMethods)) {
    api[ns] = {};
    for (const [method, fn] of Object.entries(methods as Record<string, (input: unknown) => Promise<unknown>>)) {
      const name = `${ns}.${method}`;
      const spec = specs[name];
      if (!spec) throw new Error(`mock api: ${name} is not a procedure of the contract`);
      api[ns][method] = async (input: unknown) => {
        spec.input.parse(input ?? {});
        return opts.unparsedOutputs?.includes(ns) ? fn(input) : spec.output.parse(await fn(input));
      };
    }
  }
  const events = {
    on(event: string, listener: Listener) {
      const schema = eventSchemas[event];
      if (!schema) throw new Error(`mock events: ${event} is not an event of the contract`);
      return mockEvents.on(event, (p) => listener(schema.parse(p)));
    },
  };
  return { api, events, ApiError: Error, isElectron: false };
}

/** The api's `events` for a mock: `on` (returns the unsubscribe) as the real one has it; `emit` fires an event. */
export function mockEvents() {
  const listeners = new Map<string, Set<Listener>>();
  return {
    on(event: string, l: Listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(l);
      return () => set.delete(l);
    },
    emit(event: string, p: unknown) {
      listeners.get(event)?.forEach((l) => l(p));
    },
  };
}
