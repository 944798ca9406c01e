// A store action the page waits on with a flag (Exporting…, Saving…, Starting…) and whose refusal it shows in words
// beside the button: the flag and the error set around the call in one place, not a try / catch / finally in each.
// (A refusal shown as a toast instead: startRun in stores/run-jobs.ts.)
import type { Ref } from 'vue';
import { errorMessage } from './format';

/** Runs `work` with `busy` true and `error` cleared meanwhile; a throw becomes `error`, in words. Whether `work`
 *  went through. */
export async function attempt(busy: Ref<boolean>, error: Ref<string | null>, work: () => Promise<unknown>): Promise<boolean> {
  busy.value = true;
  error.value = null;
  try {
    await work();
    return true;
  } catch (e) {
    error.value = errorMessage(e);
    return false;
  } finally {
    busy.value = false;
  }
}
