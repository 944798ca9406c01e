// The shape of the client API derived from the contract: `api.studies.list(input)`.
import type { EventName, EventPayload, Input, Output, ProcedureName } from './contract';

type Namespace<N extends string> = N extends `${infer A}.${string}` ? A : never;
type Method<N extends string> = N extends `${string}.${infer B}` ? B : never;

export type Api = {
  [NS in Namespace<ProcedureName>]: {
    [P in ProcedureName as Namespace<P> extends NS ? Method<P> : never]: (input: Input<P>) => Promise<Output<P>>;
  };
};

export type EventListener<E extends EventName> = (payload: EventPayload<E>) => void;

export interface ApiEvents {
  on<E extends EventName>(event: E, listener: EventListener<E>): () => void;
}
