// The handler type of a contract table: what a domain's service.ts returns for its part of the contract.
import type { z } from 'zod';
import type { ProcedureSpec } from '../../common/contract';

export type HandlersOf<T extends Record<string, ProcedureSpec>> = {
  [N in keyof T]: (input: z.output<T[N]['input']>) => Promise<z.output<T[N]['output']>> | z.output<T[N]['output']>;
};
