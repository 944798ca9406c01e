// Building blocks every domain's contract uses: ids, the empty input, and the typed error both transports carry.
import { z } from 'zod';

export const Id = z.number().int().positive();

/** Input of a procedure that takes nothing. */
export const empty = z.object({}).strict();

/** A procedure: what the UI may send and what it gets back. */
export interface ProcedureSpec {
  input: z.ZodType;
  output: z.ZodType;
}

export type ProcedureTable = Record<string, ProcedureSpec>;
export type EventTable = Record<string, z.ZodType>;

export const ERROR_CODES = ['invalid_input', 'not_found', 'unauthorized', 'busy', 'bad_file', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const RpcErrorShape = z.object({ code: z.enum(ERROR_CODES), message: z.string(), details: z.unknown().optional() });
export type RpcErrorShape = z.output<typeof RpcErrorShape>;

/** What a procedure call answers over either transport: the value, or a typed error. */
export type RpcReply = { ok: true; value: unknown } | { ok: false; error: RpcErrorShape };

/** The error main-process code throws for the UI; both transports deliver it as `{ code, message, details }`. */
export class RpcError extends Error implements RpcErrorShape {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
  toJSON(): RpcErrorShape {
    return { code: this.code, message: this.message, details: this.details };
  }
}
