// A reader who signs in with a code on `sightline serve --readers` arrives at `/?reader=1#/read`
// (main/transport/http.ts): the page's API token is their reading session, which opens the reading view's
// procedures and nothing else. Such a page is the reading view alone (the workstation's shell would call procedures
// the session may not), and signing out goes through the server, which clears the session cookie and answers with
// the sign-in page again.
import { TOKEN_KEY } from '../api';

export const READER_SIGN_OUT_PATH = '/reader-sign-out';
/** sessionStorage key of the reading session (renderer/src/reader/store.ts) */
export const READER_SESSION_KEY = 'sightline.reader.session';

export function isRemoteReader(): boolean {
  return typeof window !== 'undefined' && new URL(window.location.href).searchParams.get('reader') === '1';
}

/** Forget the session in this tab and go back to the sign-in page (the code stays valid until it is revoked). */
export function leaveRemoteReading(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(READER_SESSION_KEY);
  window.location.assign(READER_SIGN_OUT_PATH);
}
