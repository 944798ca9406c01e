// Showing a grounding item (a click in the grounding list or on a small multiple): select it for the main viewer
// and make its phrase the active one (its finding sentence or dataset phrase when it has one), marked as chosen
// from the item so that it is shown as it is rather than requested again with the picker's model.

import { computed } from 'vue';
import { findingSentences, normalisePhrase } from '../lib/grounding';
import type { GroundingItem } from '../lib/grounding-requests';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';

export function useShowGroundingItem() {
  const heatmaps = useHeatmapStore();
  const display = useHeatmapDisplayStore();
  const phrase = usePhraseStore();
  const study = useStudyStore();
  const findings = computed(() => findingSentences(study.detail?.report ?? null));

  function show(item: GroundingItem): void {
    heatmaps.select(item.key);
    display.update({ visible: true });
    const detail = study.detail;
    if (!detail) return;
    const key = normalisePhrase(item.phrase).toLowerCase();
    const sentence = findings.value.find((s) => normalisePhrase(s.text).toLowerCase() === key);
    const dataset = detail.phrases.find((p) => normalisePhrase(p.text).toLowerCase() === key);
    if (sentence) phrase.setFromSentence(detail.id, sentence.id, sentence.text, item.key);
    else if (dataset) phrase.setFromDataset(detail.id, dataset.id, dataset.text, dataset.sentenceId, item.key);
    else phrase.setFree(item.phrase, detail.id, item.key);
  }

  return { show, findings };
}
