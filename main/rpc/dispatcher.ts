// Transport-agnostic procedure dispatch: validates input against the contract, calls the handler,
// optionally validates the output (always in tests), and turns every failure into a typed error.
import { ZodError } from 'zod';
import { procedures, RpcError, type ProcedureName, type Procedures, type RpcErrorShape, type RpcReply } from '../../common/contract';
import type { HandlersOf } from './handlers';

/** One handler per procedure of the whole contract (app-context merges the domains' services into it). */
export type Handlers = HandlersOf<Procedures>;

export interface Dispatcher {
  call(name: string, input: unknown): Promise<RpcReply>;
}

export interface DispatcherOptions {
  validateOutput?: boolean;
  log?: (message: string) => void;
}

export function isProcedureName(name: string): name is ProcedureName {
  return Object.prototype.hasOwnProperty.call(procedures, name);
}

export function toErrorShape(error: unknown): RpcErrorShape {
  if (error instanceof RpcError) return error.toJSON();
  if (error instanceof ZodError) {
    return { code: 'invalid_input', message: error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ') };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

export function createDispatcher(handlers: Handlers, options: DispatcherOptions = {}): Dispatcher {
  const validateOutput = options.validateOutput ?? process.env.NODE_ENV === 'test';
  return {
    async call(name, rawInput) {
      if (!isProcedureName(name)) {
        return { ok: false, error: { code: 'not_found', message: `unknown procedure ${JSON.stringify(name)}` } };
      }
      const spec = procedures[name];
      const parsed = spec.input.safeParse(rawInput ?? {});
      if (!parsed.success) return { ok: false, error: toErrorShape(parsed.error) };
      try {
        const handler = handlers[name] as (input: unknown) => Promise<unknown> | unknown;
        const value = await handler(parsed.data);
        if (validateOutput) {
          const checked = spec.output.safeParse(value);
          if (!checked.success) {
            return {
              ok: false,
              error: { code: 'internal', message: `${name} returned output that breaks the contract: ${toErrorShape(checked.error).message}` },
            };
          }
        }
        return { ok: true, value };
      } catch (error) {
        const shape = toErrorShape(error);
        if (shape.code === 'internal') options.log?.(`${name} failed: ${error instanceof Error ? error.stack : shape.message}`);
        return { ok: false, error: shape };
      }
    },
  };
}
