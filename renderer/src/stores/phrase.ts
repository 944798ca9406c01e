import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

export interface ActivePhrase {
  text: string;
  /** the report sentence it came from, or null for free text / dataset phrases */
  sentenceId: number | null;
  /** dataset phrase id when chosen from the study's phrases */
  phraseId: number | null;
  studyId: number | null;
  source: 'sentence' | 'free' | 'dataset';
  /** the grounding item it was chosen from (the list, a small multiple): shown as it is, not requested again */
  item?: string | null;
}

/** The phrase to ground: one at a time, chosen from the report or typed. Later issues ground it. */
export const usePhraseStore = defineStore('phrase', () => {
  const active = ref<ActivePhrase | null>(null);
  const history = ref<string[]>([]);

  function remember(text: string) {
    history.value = [text, ...history.value.filter((t) => t !== text)].slice(0, 20);
  }

  function setFromSentence(studyId: number, sentenceId: number, text: string, item: string | null = null): void {
    active.value = { text: text.trim(), sentenceId, phraseId: null, studyId, source: 'sentence', item };
    remember(text.trim());
  }

  function setFromDataset(studyId: number, phraseId: number, text: string, sentenceId: number | null, item: string | null = null): void {
    active.value = { text: text.trim(), sentenceId, phraseId, studyId, source: 'dataset', item };
    remember(text.trim());
  }

  /** Free text; empty or whitespace clears the phrase. Returns whether a phrase is now active. */
  function setFree(text: string, studyId: number | null, item: string | null = null): boolean {
    const t = text.replace(/\s+/g, ' ').trim();
    if (!t) {
      active.value = null;
      return false;
    }
    active.value = { text: t, sentenceId: null, phraseId: null, studyId, source: 'free', item };
    remember(t);
    return true;
  }

  function clear(): void {
    active.value = null;
  }

  /** Selections tied to a report sentence belong to that study; free text follows the user to the next study. */
  function onStudyChanged(studyId: number | null): void {
    if (active.value && active.value.source !== 'free' && active.value.studyId !== studyId) active.value = null;
  }

  const text = computed(() => active.value?.text ?? '');
  return { active, history, text, setFromSentence, setFromDataset, setFree, clear, onStudyChanged };
});
