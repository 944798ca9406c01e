// Grounding's orchestration: the active phrase (a clicked finding sentence, a dataset phrase, typed text) is
// grounded on the current image with the picker's model and variant and shown; a phrase chosen from a grounding
// item (the list, a small multiple) shows that item as it is. Moving to another image lists its stored heatmaps
// and shows the active phrase's if it was grounded there before (never starts a job by itself).

import { watch } from 'vue';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { useModelChoiceStore } from '../stores/model-choice';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';

export function useGrounding() {
  const heatmaps = useHeatmapStore();
  const display = useHeatmapDisplayStore();
  const phrase = usePhraseStore();
  const study = useStudyStore();
  const picker = useModelChoiceStore();
  void picker.ready();

  // every choice of a phrase (a new object each time, even for the same sentence) grounds it
  watch(
    () => phrase.active,
    (active) => {
      const imageId = study.currentImage?.id;
      if (!active || imageId == null) return;
      if (!display.settings.visible) display.update({ visible: true });
      // the list's own click (it selects, then sets the phrase): already shown, nothing to request
      if (active.item && heatmaps.current?.key === active.item) return;
      // the first request waits for the models list (a moment at start), so that it names the picker's choice
      void picker.ready().then(() => {
        if (phrase.active === active && study.currentImage?.id === imageId) heatmaps.ground(imageId, active.text, true, picker.choice);
      });
    },
  );

  // called by the workstation after the study has reacted to the image change (the phrase may have been cleared)
  function onImageChanged(imageId: number | null): void {
    void heatmaps.setImage(imageId, phrase.active?.text ?? null, picker.choice);
  }

  return { onImageChanged };
}
