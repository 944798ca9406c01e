// What a browser gets when it opens the app without the session token (a bookmark, a second browser, a tab left from
// an earlier run): one page that says what to do, instead of a JSON error (or an app that cannot call its server).
// Programs (RPC, fetch without Accept: text/html) still get the JSON error.
import type { IncomingMessage, ServerResponse } from 'node:http';

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
</style>
</head>
<body>
<main data-testid="login-help">
  <h1>Open Sightline with the link from its terminal</h1>
  <p>This address needs the session link that <code>sightline serve</code> (or <code>npm start</code> in browser mode)
  printed when it started: the line <code>Open http://…/?token=…</code>. Copy that whole link into this tab.</p>
  <p>Each start makes a new link, so a bookmark or a tab from an earlier run no longer opens the app. Once opened
  with the link, this browser can reload the page until the server stops.</p>
</main>
</body>
</html>
`;

export function sendLoginPage(res: ServerResponse, head: boolean): void {
  const body = Buffer.from(LOGIN_PAGE, 'utf8');
  res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}
