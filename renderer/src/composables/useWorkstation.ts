// The workstation's orchestration, out of its view: list selection -> study -> image -> pixels (+ prefetch of
// what the right arrow shows next), the deep link (#/study/:id), opening the first study once the list
// loads, and the keyboard: key -> action (keymap store) -> run(action).

import { computed, onBeforeUnmount, onMounted, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { createDeferredActions } from '../lib/deferred-actions';
import { comboFromEvent, worksInTextField, type Action } from '../lib/keymap';
import { useCompareStore } from '../stores/compare';
import { useDatasetStore } from '../stores/datasets';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useImportStore } from '../stores/imports';
import { useKeymapStore } from '../stores/keymap';
import { useLayoutStore } from '../stores/layout';
import { usePhraseStore } from '../stores/phrase';
import { useStudyListStore } from '../stores/studies';
import { useStudyStore } from '../stores/study';
import { useUiStore } from '../stores/ui';
import { useViewerStore } from '../stores/viewer';
import type { OrientOp } from '../lib/view-transform';
import type { ViewerControls } from '../viewer/tools';
import { useFigureExport } from './useFigureExport';
import { useGrounding } from './useGrounding';

export function isTextField(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (el instanceof HTMLInputElement) return !['button', 'checkbox', 'radio', 'range', 'submit'].includes(el.type);
  return false;
}

/** `viewerControls` returns the mounted viewer (or null): the target of the view.* and preset.* actions. */
export function useWorkstation(viewerControls: () => ViewerControls | null | undefined) {
  const list = useStudyListStore();
  const study = useStudyStore();
  const viewer = useViewerStore();
  const phrase = usePhraseStore();
  const keymap = useKeymapStore();
  const imports = useImportStore();
  const datasets = useDatasetStore();
  const ui = useUiStore();
  const layout = useLayoutStore();
  const heatmapDisplay = useHeatmapDisplayStore();
  const compare = useCompareStore();
  const grounding = useGrounding();
  const figure = useFigureExport();
  const route = useRoute();
  const router = useRouter();
  let autoSelected = false;

  // Selection -> study detail. Arrow left/right across studies ask for the first/last image.
  watch(
    () => list.selectedId,
    (id) => {
      if (id == null) return;
      if (study.detail?.id !== id) void study.load(id, study.takePendingPosition());
      if (String(route.params.id ?? '') !== String(id)) void router.replace({ name: 'study', params: { id: String(id) } });
    },
  );

  // Study + image -> pixels; prefetch what the right arrow would show next.
  watch(
    () => study.currentImage?.id,
    (imageId) => {
      phrase.onStudyChanged(study.detail?.id ?? null);
      grounding.onImageChanged(imageId ?? null);
      if (imageId == null) {
        if (!study.loading) viewer.close();
        return;
      }
      void viewer.open(imageId, study.detail?.dataset ?? null, study.detail?.id ?? null);
      const nextInStudy = study.images[study.imageIndex + 1]?.id;
      viewer.prefetch(nextInStudy ?? (list.selectedIndex >= 0 ? list.itemAt(list.selectedIndex + 1)?.firstImageId : null));
    },
  );

  // Deep link (#/study/123) -> selection.
  watch(
    () => route.params.id,
    (id) => {
      const n = Number(id);
      if (Number.isInteger(n) && n > 0 && n !== list.selectedId) list.selectId(n);
    },
    { immediate: true },
  );

  // Open the first study with a report once the list first loads, so the reader lands on an image and its
  // report. A search without matches closes the open study (it is not in the list any more); the next list
  // with matches opens its first study again.
  watch(
    () => list.total,
    (total) => {
      if (total === 0 && list.filtered && (list.selectedId !== null || study.detail)) {
        list.clearSelection();
        study.close();
        autoSelected = false;
        return;
      }
      if (autoSelected || !total || list.selectedId !== null) return;
      autoSelected = true;
      list.select(list.firstWithReport());
    },
  );

  const anyModal = computed(() => keymap.helpOpen || ui.settingsOpen || imports.dialogOpen);

  function run(action: Action): void {
    const v = viewerControls();
    switch (action) {
      case 'study.prev':
        void list.move(-1);
        break;
      case 'study.next':
        void list.move(1);
        break;
      case 'image.prev':
        void study.prevImage();
        break;
      case 'image.next':
        void study.nextImage();
        break;
      case 'view.fit':
        v?.fit();
        break;
      case 'view.invert':
        v?.toggleInvert();
        break;
      case 'view.reset':
        v?.resetView();
        break;
      case 'view.zoomIn':
        v?.zoomBy(1.25);
        break;
      case 'view.zoomOut':
        v?.zoomBy(0.8);
        break;
      case 'view.rotateRight':
      case 'view.rotateLeft':
      case 'view.flipHorizontal':
      case 'view.flipVertical':
        v?.reorient(action.slice(5) as OrientOp);
        break;
      case 'measure.ruler':
        v?.toggleRuler();
        break;
      case 'measure.clear':
        v?.clearMeasures();
        break;
      case 'preset.1':
      case 'preset.2':
      case 'preset.3':
      case 'preset.4':
      case 'preset.5':
      case 'preset.6':
      case 'preset.7':
      case 'preset.8':
      case 'preset.9':
        v?.applyPreset(Number(action.slice(-1)));
        break;
      case 'layout.maximise':
        layout.toggleMaximised();
        break;
      case 'layout.studies':
        layout.toggle('studies');
        break;
      case 'layout.report':
        layout.toggle('report');
        break;
      case 'layout.compare':
      case 'layout.multiples':
        // as the toolbar's buttons, which are disabled without an image
        if (viewer.image) compare.setMode(action === 'layout.compare' ? 'compare' : 'multiples');
        break;
      case 'heatmap.toggle':
        heatmapDisplay.toggleVisible();
        break;
      case 'heatmap.colormap':
        heatmapDisplay.cycleColormap();
        break;
      case 'boxes.toggle':
        heatmapDisplay.toggleBoxes();
        break;
      case 'figure.export':
        void figure.exportFigure();
        break;
      case 'help.toggle':
        keymap.helpOpen = !keymap.helpOpen;
        break;
      case 'search.focus':
        ui.focusSearch();
        break;
      case 'phrase.focus':
        ui.focusPhrase();
        break;
      case 'import.open':
        imports.openDialog();
        break;
      case 'dialog.close':
        if (keymap.helpOpen) keymap.helpOpen = false;
        else if (ui.settingsOpen) ui.settingsOpen = false;
        else if (imports.dialogOpen) imports.closeDialog();
        else if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
        break;
    }
  }

  // a viewing key pressed while a study or image loads applies to that one once it is shown
  const deferred = createDeferredActions<Action>(() => study.loading || viewer.loading, run);

  function onKeydown(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.isComposing) return;
    const combo = comboFromEvent(e);
    if (!combo) return;
    if (isTextField(e.target) && !worksInTextField(combo)) return;
    const action = keymap.actionFor(e);
    if (!action) return;
    if (anyModal.value && action !== 'dialog.close' && action !== 'help.toggle') return;
    e.preventDefault();
    deferred.dispatch(action);
  }

  onMounted(() => {
    window.addEventListener('keydown', onKeydown);
    void datasets.load();
    if (list.total === null) void list.refresh();
  });
  onBeforeUnmount(() => {
    window.removeEventListener('keydown', onKeydown);
    deferred.stop();
  });

  return { run, onKeydown };
}
