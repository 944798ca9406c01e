// Narrowing a value to a zod object's fields without restating them: the row types of main/db are the contract's
// shapes extended, and the contract's views of them are these picks.
import type { z } from 'zod';

/** The fields of `schema` taken from `value` (which has at least those fields); nothing is validated. */
export function pickShape<S extends z.ZodObject>(schema: S, value: z.output<S>): z.output<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) out[key] = (value as Record<string, unknown>)[key];
  return out as z.output<S>;
}
