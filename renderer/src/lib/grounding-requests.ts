// Grounding requests as the list beside the report shows them: their shape, their keys, their progress; what a
// model choice is (stores/heatmaps.ts keeps the requests, stores/model-choice.ts the choice).

import { normalisePhrase } from './grounding';

/** A model and one of its variants: what a request is computed with (lib/model-choice.ts). */
export interface ModelChoice {
  model: string;
  variant: string;
}

export type GroundingState = 'queued' | 'computing' | 'done' | 'failed' | 'cancelled';

/** One grounding request (phrase on an image) or a heatmap stored before, as the list beside the report shows it. */
export interface GroundingItem {
  key: string;
  imageId: number;
  phrase: string;
  state: GroundingState;
  /** the job computing it, while there is one */
  jobId: string | null;
  heatmapId: number | null;
  done: number;
  total: number | null;
  etaSeconds: number | null;
  message: string;
  /** why it failed */
  error: string | null;
  /** the request's model and variant (null: the service's default, known once its heatmap is loaded) */
  model: string | null;
  variant: string | null;
  /** made by a model here, or imported from another method (listed from storage, never requested) */
  source: 'model' | 'imported';
  /** while computing: the provisional map it has (`heatmap.partial`), as steps of the kept steps; null: none */
  partial?: { stepsDone: number; stepsTotal: number } | null;
}

/** What the viewer can show for the current image's selected item ('provisional': a computing item's provisional map). */
export type HeatmapStatus = 'none' | 'computing' | 'provisional' | 'ready' | 'failed';

/** "provisional: 5 of 20 steps" for an item with a provisional map, else null. */
export function provisionalLabel(item: Pick<GroundingItem, 'partial'>): string | null {
  return item.partial ? `provisional: ${item.partial.stepsDone} of ${item.partial.stepsTotal} steps` : null;
}

export const requestKey = (imageId: number, phrase: string, choice: ModelChoice | null = null) =>
  `${imageId}|${choice ? `${choice.model}|${choice.variant}` : '*'}|${phrase}`;
/** a stored heatmap's identity among an image's: model, variant and phrase (lower case) */
export const storedKey = (model: string, variant: string, phrase: string) => `${model}|${variant}|${normalisePhrase(phrase).toLowerCase()}`;

/** Progress of a computing item in percent, null while its total is unknown. */
export function progressPercent(item: Pick<GroundingItem, 'done' | 'total'>): number | null {
  return item.total ? Math.min(100, Math.round((100 * item.done) / item.total)) : null;
}

