// Grounding's orchestration: the active phrase (a clicked finding sentence, a dataset phrase, typed text) is
// grounded on the current image and shown; moving to another image lists its stored heatmaps and shows the
// active phrase's if it was grounded there before (never starts a job by itself).

import { watch } from 'vue';
import { normalisePhrase } from '../lib/grounding';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';

export function useGrounding() {
  const heatmaps = useHeatmapStore();
  const display = useHeatmapDisplayStore();
  const phrase = usePhraseStore();
  const study = useStudyStore();

  // every choice of a phrase (a new object each time, even for the same sentence) grounds it
  watch(
    () => phrase.active,
    (active) => {
      const imageId = study.currentImage?.id;
      if (!active || imageId == null) return;
      if (!display.settings.visible) display.update({ visible: true });
      const cur = heatmaps.current;
      // the list's own click (it selects, then sets the phrase): already shown, nothing to request
      if (cur && cur.imageId === imageId && normalisePhrase(cur.phrase) === normalisePhrase(active.text) && cur.state !== 'failed' && cur.state !== 'cancelled') return;
      heatmaps.ground(imageId, active.text);
    },
  );

  // called by the workstation after the study has reacted to the image change (the phrase may have been cleared)
  function onImageChanged(imageId: number | null): void {
    void heatmaps.setImage(imageId, phrase.active?.text ?? null);
  }

  return { onImageChanged };
}
