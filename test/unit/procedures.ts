// A procedure called the way the transports call it (the app context's dispatcher), for tests on a real data
// directory: an error reply throws (its code on the error), an answer is parsed with the contract's output schema,
// so a handler that drifts from the contract fails the test.
import { procedures, type RpcReply } from '../../common/contract';
import type { AppContext } from '../../main/services/app-context';

export async function callProcedure<T>(context: AppContext, name: string, input: unknown): Promise<T> {
  const reply: RpcReply = await context.dispatcher.call(name, input);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return (procedures as Record<string, { output: { parse(v: unknown): unknown } }>)[name].output.parse(reply.value) as T;
}
