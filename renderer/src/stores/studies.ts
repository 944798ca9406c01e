import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { searchTerms } from '../../../common/search-terms';
import { api } from '../api';
import { createLatest } from '../lib/latest';
import { pagesForRange, pagesToEvict } from '../lib/virtual-window';
import { useToastStore } from './toasts';

export type StudyItem = Types['StudyListItem'];
export type StudySort = NonNullable<Parameters<typeof api.studies.list>[0]['sort']>;

export const PAGE_SIZE = 200;
/** ~100 pages x 200 rows: memory stays bounded while scrolling through 100,000 studies. */
export const MAX_CACHED_PAGES = 100;

/**
 * The study browser's list: a sparse, page-cached window onto `studies.list` for the current search and
 * dataset filter. Pages are fetched on demand; responses for an outdated query are dropped.
 */
export const useStudyListStore = defineStore('studyList', () => {
  const search = ref('');
  const datasetId = ref<number | null>(null);
  /** report search counts a finding's word only where the report does not call it absent (server-side) */
  const positiveOnly = ref(true);
  /** the findings the server filtered on for the current search ([] when the search names none) */
  const positiveFindings = ref<string[]>([]);
  /** the list's order (server-side, so paging and the keyboard follow it) */
  const sort = ref<StudySort>('imported');
  const descending = ref(false);
  /** the search's words, for highlighting in the list and the report */
  const terms = computed(() => searchTerms(search.value));
  const total = ref<number | null>(null);
  const pages = shallowRef(new Map<number, StudyItem[]>());
  /** bumped whenever `pages` changes, so row lookups re-render */
  const version = ref(0);
  const inflight = new Map<number, Promise<boolean>>();
  const loadingPages = ref(0);
  /** one generation per query (search + dataset filter): pages of an outdated query are dropped */
  const query = createLatest();

  const selectedIndex = ref(-1);
  const selectedId = ref<number | null>(null);

  const loading = computed(() => loadingPages.value > 0);
  const filtered = computed(() => search.value.trim() !== '' || datasetId.value !== null);

  function itemAt(index: number): StudyItem | undefined {
    void version.value;
    return pages.value.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  function fetchPage(page: number): Promise<boolean> {
    const existing = inflight.get(page);
    if (existing) return existing;
    if (pages.value.has(page)) return Promise.resolve(true);
    const gen = query.ticket();
    loadingPages.value++;
    const promise = api.studies
      .list({
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        search: search.value.trim() || undefined,
        datasetId: datasetId.value ?? undefined,
        positiveOnly: positiveOnly.value,
        sort: sort.value,
        descending: descending.value,
      })
      .then((res) => {
        if (!gen.current) return false;
        const next = new Map(pages.value);
        next.set(page, markRaw(res.items));
        for (const p of pagesToEvict([...next.keys()], page, MAX_CACHED_PAGES)) next.delete(p);
        pages.value = next;
        total.value = res.total;
        positiveFindings.value = res.positiveOnly ?? [];
        version.value++;
        if (selectedIndex.value < 0 && selectedId.value !== null) {
          const i = res.items.findIndex((s) => s.id === selectedId.value);
          if (i >= 0) selectedIndex.value = page * PAGE_SIZE + i;
        }
        return true;
      })
      .catch((e: unknown) => {
        if (gen.current) useToastStore().error(e, 'Loading studies');
        return false;
      })
      .finally(() => {
        if (inflight.get(page) === promise) inflight.delete(page);
        loadingPages.value--;
      });
    inflight.set(page, promise);
    return promise;
  }

  /** Make sure rows [start, end) are (being) loaded. */
  function ensureRange(start: number, end: number): void {
    const limit = total.value ?? end;
    for (const p of pagesForRange(start, Math.min(end, limit), PAGE_SIZE)) {
      if (!pages.value.has(p)) void fetchPage(p);
    }
  }

  function reset(): Promise<boolean> {
    query.begin();
    inflight.clear();
    pages.value = new Map();
    version.value++;
    total.value = null;
    selectedIndex.value = -1;
    return fetchPage(0);
  }

  function setSearch(text: string): Promise<boolean> {
    if (text === search.value) return Promise.resolve(true);
    search.value = text;
    return reset();
  }

  function setPositiveOnly(on: boolean): Promise<boolean> {
    if (on === positiveOnly.value) return Promise.resolve(true);
    positiveOnly.value = on;
    return reset();
  }

  /** Order by a column; the same column again flips the direction. */
  function setSort(by: StudySort, desc?: boolean): Promise<boolean> {
    const nextDesc = desc ?? (by === sort.value ? !descending.value : by === 'date' || by === 'labels');
    if (by === sort.value && nextDesc === descending.value) return Promise.resolve(true);
    sort.value = by;
    descending.value = nextDesc;
    return reset();
  }

  function setDataset(id: number | null): Promise<boolean> {
    if (id === datasetId.value) return Promise.resolve(true);
    datasetId.value = id;
    return reset();
  }

  /** Reload with the same query (after an import); the selected study is kept. */
  function refresh(): Promise<boolean> {
    return reset();
  }

  function select(index: number): StudyItem | undefined {
    const item = itemAt(index);
    if (!item) return undefined;
    selectedIndex.value = index;
    selectedId.value = item.id;
    return item;
  }

  /** Select by id (deep link); the index is found once its page is loaded. */
  function selectId(id: number): void {
    if (selectedId.value === id) return;
    selectedId.value = id;
    selectedIndex.value = -1;
    for (const [page, items] of pages.value) {
      const i = items.findIndex((s) => s.id === id);
      if (i >= 0) {
        selectedIndex.value = page * PAGE_SIZE + i;
        return;
      }
    }
  }

  /** Keyboard up/down: move the selection, loading the neighbouring page when needed. */
  async function move(delta: number): Promise<StudyItem | undefined> {
    const n = total.value ?? 0;
    if (n === 0) return undefined;
    const from = selectedIndex.value;
    const target = from < 0 ? (delta > 0 ? 0 : n - 1) : Math.min(n - 1, Math.max(0, from + delta));
    if (target === from) return undefined;
    if (!itemAt(target)) {
      const gen = query.ticket();
      await fetchPage(Math.floor(target / PAGE_SIZE));
      if (!gen.current) return undefined;
    }
    return select(target);
  }

  /** The first loaded row whose study has a report (the first screen opens it rather than a bare image); else 0. */
  function firstWithReport(): number {
    const page = pages.value.get(0) ?? [];
    const i = page.findIndex((s) => s.reportSnippet !== null);
    return i >= 0 ? i : 0;
  }

  /** Nothing selected (a search without matches: the viewer shows nothing rather than a study that is not listed). */
  function clearSelection(): void {
    selectedIndex.value = -1;
    selectedId.value = null;
  }

  const selectedItem = computed(() => (selectedIndex.value >= 0 ? itemAt(selectedIndex.value) : undefined));
  const cachedPageCount = computed(() => {
    void version.value;
    return pages.value.size;
  });

  return {
    search,
    datasetId,
    positiveOnly,
    positiveFindings,
    sort,
    descending,
    terms,
    total,
    version,
    loading,
    filtered,
    selectedIndex,
    selectedId,
    selectedItem,
    cachedPageCount,
    itemAt,
    fetchPage,
    ensureRange,
    setSearch,
    setPositiveOnly,
    setSort,
    setDataset,
    refresh,
    select,
    selectId,
    firstWithReport,
    clearSelection,
    move,
  };
});
