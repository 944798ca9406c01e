// The PACS page's state (issue 15): the configured DICOMweb servers (add / edit with write-only secrets, remove,
// test), a QIDO-RS search on one of them (latest answer wins; another server clears the results and the selection),
// the retrieve of the selected studies as a durable `pacs-retrieve` job (progress by job id, also when the job ends
// before its id returns; cancel, resume; its summary from `pacs.retrieveResult`), and the retrieve cache's line.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import type { PacsCache } from '../../../common/contract/pacs';
import type { z } from 'zod';
import { api } from '../api';
import { attempt } from '../lib/attempt';
import { errorMessage } from '../lib/format';
import { createLatest } from '../lib/latest';
import { useDatasetStore } from '../stores/datasets';
import { useFollowedJob } from '../stores/followed-job';
import { hasEnded } from '../stores/run-jobs';
import { useStudyListStore } from '../stores/studies';
import { emptySearchForm, emptyServerForm, searchRequest, serverFormOf, serverSaveRequest, sortStudies, type RetrieveRequest, type RetrieveResult, type ServerView, type Study } from './logic';

type Progress = Types['JobProgress'];
export const RETRIEVE_KIND = 'pacs-retrieve';

export interface RetrieveJob {
  jobId: string;
  /** the server and studies asked for (null until `pacs.retrieveResult` says, for a job found when the page opened) */
  request: RetrieveRequest | null;
  progress: Progress;
}

export interface Ended {
  state: string;
  result: RetrieveResult | null;
  request: RetrieveRequest | null;
  error: string | null;
}

export type TestOutcome = { ok: boolean; message: string; milliseconds: number } | 'testing';

export const usePacsStore = defineStore('pacs', () => {
  const servers = shallowRef<ServerView[]>([]);
  const serversError = ref<string | null>(null);
  const loading = ref(false);
  /** the server form: null closed; `original` null adds a server */
  const editing = shallowRef<{ original: ServerView | null } | null>(null);
  const serverForm = ref(emptyServerForm());
  const saveError = ref<string | null>(null);
  const saving = ref(false);
  const tests = ref<Record<string, TestOutcome>>({});
  const removeError = ref<string | null>(null);

  const searchServer = ref('');
  const searchForm = ref(emptySearchForm());
  const results = shallowRef<Study[] | null>(null);
  const searchError = ref<string | null>(null);
  const searching = ref(false);
  const latestSearch = createLatest();
  const selected = ref<string[]>([]);
  /** null: the server's order */
  const sortDescending = ref<boolean | null>(null);

  const retrieve = useFollowedJob<RetrieveJob>({ kind: RETRIEVE_KIND, what: 'the retrieve', ended: jobEnded });
  const { job, error: retrieveError, starting: retrieveStarting, running } = retrieve;
  const ended = shallowRef<Ended | null>(null);

  const cache = shallowRef<z.output<typeof PacsCache> | null>(null);
  const cacheError = ref<string | null>(null);

  const builtServer = computed(() => serverSaveRequest(serverForm.value, editing.value?.original ?? null));
  const builtSearch = computed(() => searchRequest(searchServer.value, searchForm.value));
  const rows = computed(() => (results.value && sortDescending.value !== null ? sortStudies(results.value, sortDescending.value) : (results.value ?? [])));
  const allSelected = computed(() => rows.value.length > 0 && rows.value.every((r) => selected.value.includes(r.studyUid)));

  async function load(): Promise<void> {
    loading.value = true;
    const [list] = await Promise.all([loadServers(), loadCache()]);
    if (list && !list.some((s) => s.name === searchServer.value)) setSearchServer(list[0]?.name ?? '');
    // the newest retrieve, when it runs or stopped part-way (the page was left, the app restarted): progress, Resume
    const jobs = await api.jobs.list({}).catch(() => [] as Progress[]);
    // back on the page while a retrieve runs: what it did meanwhile (its events went unheard), and polling again
    retrieve.catchUp(jobs);
    const last = jobs.find((j) => j.kind === RETRIEVE_KIND);
    if (last && !job.value && (last.state === 'running' || last.state === 'interrupted' || last.state === 'cancelled')) {
      retrieve.adopt({ jobId: last.jobId, request: null, progress: last });
      void readEnded(last.jobId).then((e) => {
        if (job.value?.jobId !== last.jobId || !e) return;
        job.value = { ...job.value, request: e.request };
        if (hasEnded(job.value.progress.state)) ended.value = e;
      });
    }
    loading.value = false;
  }

  async function loadServers(): Promise<ServerView[] | null> {
    try {
      servers.value = await api.pacs['servers.list']({});
      serversError.value = null;
      return servers.value;
    } catch (e) {
      serversError.value = `Listing the PACS servers: ${errorMessage(e)}`;
      return null;
    }
  }

  function newServer(): void {
    editing.value = { original: null };
    serverForm.value = emptyServerForm();
    saveError.value = null;
  }
  function editServer(s: ServerView): void {
    editing.value = { original: s };
    serverForm.value = serverFormOf(s);
    saveError.value = null;
  }
  function closeForm(): void {
    editing.value = null;
    serverForm.value = emptyServerForm(); // the typed secret does not stay in memory
    saveError.value = null;
  }

  async function saveServer(): Promise<boolean> {
    const { request, error } = builtServer.value;
    if (!request || saving.value) {
      saveError.value = error;
      return false;
    }
    return attempt(saving, saveError, async () => {
      const saved = await api.pacs['servers.save'](request);
      const { [saved.name]: _old, ...rest } = tests.value;
      tests.value = rest;
      closeForm();
      await loadServers();
      // the server searched may have another URL or credentials now: its results are not the server's any more
      if (saved.name === searchServer.value || !searchServer.value) setSearchServer(saved.name, true);
    });
  }

  async function removeServer(name: string): Promise<boolean> {
    removeError.value = null;
    try {
      await api.pacs['servers.remove']({ name });
    } catch (e) {
      removeError.value = `Removing "${name}": ${errorMessage(e)}`;
      return false;
    }
    const { [name]: _old, ...rest } = tests.value;
    tests.value = rest;
    if (editing.value?.original?.name === name) closeForm();
    const list = await loadServers();
    if (name === searchServer.value) setSearchServer(list?.[0]?.name ?? '');
    return true;
  }

  async function testServer(name: string): Promise<void> {
    tests.value = { ...tests.value, [name]: 'testing' };
    let outcome: TestOutcome;
    try {
      outcome = await api.pacs['servers.test']({ name });
    } catch (e) {
      outcome = { ok: false, message: errorMessage(e), milliseconds: 0 };
    }
    if (tests.value[name] === 'testing') tests.value = { ...tests.value, [name]: outcome };
  }

  /** Another server to search (or the same one changed: `force`): the results, selection and error of before go. */
  function setSearchServer(name: string, force = false): void {
    if (name === searchServer.value && !force) return;
    searchServer.value = name;
    latestSearch.cancel();
    searching.value = false;
    results.value = null;
    searchError.value = null;
    selected.value = [];
  }

  async function search(): Promise<boolean> {
    const { request, error } = builtSearch.value;
    if (!request) {
      searchError.value = error;
      return false;
    }
    searching.value = true;
    searchError.value = null;
    const outcome = await latestSearch.run(() => api.pacs.search(request));
    if (!outcome) return false;
    searching.value = false;
    if (outcome.ok) {
      results.value = outcome.value;
      // a study no longer among the results is not retrieved unseen
      selected.value = selected.value.filter((uid) => outcome.value.some((r) => r.studyUid === uid));
      return true;
    }
    results.value = null;
    selected.value = [];
    searchError.value = errorMessage(outcome.error);
    return false;
  }

  function toggle(uid: string): void {
    selected.value = selected.value.includes(uid) ? selected.value.filter((u) => u !== uid) : [...selected.value, uid];
  }
  function toggleAll(): void {
    selected.value = allSelected.value ? [] : rows.value.map((r) => r.studyUid);
  }
  function toggleSort(): void {
    sortDescending.value = sortDescending.value === null ? true : !sortDescending.value;
  }

  function stop(): void {
    retrieve.stop();
    latestSearch.cancel();
    searching.value = false;
  }

  async function startRetrieve(): Promise<boolean> {
    if (running.value || !searchServer.value || !selected.value.length) return false;
    const request: RetrieveRequest = { server: searchServer.value, studies: rows.value.map((r) => r.studyUid).filter((u) => selected.value.includes(u)) };
    return retrieve.start(async () => {
      ended.value = null;
      return { jobId: (await api.pacs.retrieve(request)).jobId, request };
    });
  }

  /** Resumes a cancelled or interrupted retrieve under its id: the studies it imported are skipped. */
  async function resumeRetrieve(): Promise<boolean> {
    if (!(await retrieve.resume())) return false;
    ended.value = null;
    return true;
  }

  /** The summary from pacs.retrieveResult (else from the progress and the request the page sent), then what changed. */
  async function jobEnded({ jobId, request, progress: p }: RetrieveJob): Promise<void> {
    const e = (await readEnded(jobId)) ?? { state: p.state, result: null, request, error: p.state === 'failed' ? p.message : null };
    if (job.value?.jobId !== jobId) return;
    ended.value = e;
    // whatever it imported is in the studies list now, and in the cache
    await Promise.all([loadCache(), useDatasetStore().load(), useStudyListStore().refresh()]).catch(() => undefined);
  }

  async function loadCache(gb?: number): Promise<boolean> {
    try {
      cache.value = await api.pacs.cache(gb === undefined ? {} : { maxCacheGb: gb });
      cacheError.value = null;
      return true;
    } catch (e) {
      cacheError.value = errorMessage(e);
      return false;
    }
  }

  return {
    servers, serversError, loading, editing, serverForm, saveError, saving, tests, removeError, searchServer, searchForm, results, searchError, searching,
    selected, sortDescending, job, ended, retrieveError, retrieveStarting, cache, cacheError, builtServer, builtSearch, rows, allSelected, running,
    load, loadServers, newServer, editServer, closeForm, saveServer, removeServer, testServer, setSearchServer, search, toggle, toggleAll, toggleSort,
    listen: retrieve.listen, stop, startRetrieve, cancelRetrieve: retrieve.cancel, resumeRetrieve, loadCache,
  };
});

/** The retrieve job's state, result and request (pacs.retrieveResult); null when it cannot be read. */
async function readEnded(jobId: string): Promise<Ended | null> {
  try {
    return await api.pacs.retrieveResult({ jobId });
  } catch {
    return null;
  }
}
