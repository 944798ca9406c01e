// What a browser gets when it opens the app without the session token (a bookmark, a second browser, a tab left from
// an earlier run): one page that says what to do, instead of a JSON error (or an app that cannot call its server).
// Programs (RPC, fetch without Accept: text/html) still get the JSON error.
// With remote readers on (serve --readers) the page also has a form where a reader signs in with their code; that
// page alone allows a form to post to this server (the app's CSP says form-action 'none').
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_SECURITY_POLICY } from '../security/csp';

/** A page request: GET/HEAD of a document, as a browser's navigation asks for it. */
export function wantsPage(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && /\btext\/html\b/.test(req.headers.accept ?? '');
}

export const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sightline: open the link from the terminal</title>
<style>
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #1b1d20; color: #eceef2;
         font: 16px/1.5 system-ui, sans-serif; }
  main { max-width: 36rem; padding: 2rem; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  code { background: #2d3037; padding: 0.1rem 0.35rem; border-radius: 3px; }
  p { color: #d5d8de; }
  form { margin-top: 2rem; padding-top: 1rem; border-top: 1px solid #3a3e46; }
  input { font: inherit; padding: 0.3rem 0.5rem; width: 16rem; }
  .error { color: #ff8080; }
</style>
</head>
<body>
<main data-testid="login-help">
  <h1>Open Sightline with the link from its terminal</h1>
  <p>This address needs the session link that <code>sightline serve</code> (or <code>npm start</code> in browser mode)
  printed when it started: the line <code>Open http://…/?token=…</code>. Copy that whole link into this tab.</p>
  <p>Each start makes a new link, so a bookmark or a tab from an earlier run no longer opens the app. Once opened
  with the link, this browser can reload the page until the server stops.</p>
<!--reader-form-->
</main>
</body>
</html>
`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The reader's sign-in form (posted to /reader-sign-in), with the last attempt's problem. */
export function readerForm(error?: string): string {
  return `<form method="post" action="/reader-sign-in" data-testid="reader-code-form">
  <h1>Reader? Sign in with your code</h1>
  <p>The coordinator of the reader study gave you a code such as <code>12-ABCD-EFGH-JKLM</code>.</p>
  <label>Code <input name="code" autocomplete="off" autofocus data-testid="reader-code" required></label>
  <button type="submit" data-testid="reader-code-submit">Start reading</button>
  ${error ? `<p class="error" data-testid="reader-code-error">${escapeHtml(error)}</p>` : ''}
</form>`;
}

/** The page; `reader` non-null: with the reader's sign-in form (remote readers on). */
export function sendLoginPage(res: ServerResponse, head: boolean, reader: { error?: string } | null = null, status = 401): void {
  const body = Buffer.from(reader ? LOGIN_PAGE.replace('<!--reader-form-->', readerForm(reader.error)) : LOGIN_PAGE, 'utf8');
  if (reader) res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY.replace("form-action 'none'", "form-action 'self'"));
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}
