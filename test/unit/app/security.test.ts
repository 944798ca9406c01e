// The Electron security checklist, checked on the exact objects and handlers main.ts hands to Electron.
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../main/security/csp';
import { APP_ORIGIN, isAppUrl, isTrustedSender } from '../../../main/security/app-origin';
import { hardenSession, hardenWebContents, windowOptions } from '../../../main/app/security';

type Handler = (...args: any[]) => unknown;

function recordingSession() {
  const handlers: Record<string, Handler> = {};
  return {
    handlers,
    session: {
      setPermissionRequestHandler: (h: Handler) => (handlers.permissionRequest = h),
      setPermissionCheckHandler: (h: Handler) => (handlers.permissionCheck = h),
      setDevicePermissionHandler: (h: Handler) => (handlers.devicePermission = h),
      setDisplayMediaRequestHandler: (h: Handler) => (handlers.displayMedia = h),
      webRequest: {
        onBeforeRequest: (h: Handler) => (handlers.beforeRequest = h),
        onHeadersReceived: (h: Handler) => (handlers.headersReceived = h),
      },
    },
  };
}

describe('window options', () => {
  const prefs = windowOptions('/app/preload.js').webPreferences!;
  it('isolates and sandboxes the renderer', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.experimentalFeatures).toBe(false);
    expect(prefs.preload).toBe('/app/preload.js');
  });
});

describe('origin checks', () => {
  it('accepts only the app origin', () => {
    expect(isAppUrl(`${APP_ORIGIN}/index.html`)).toBe(true);
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'app://other/index.html', 'http://127.0.0.1:3000/', 'not a url', 'javascript:alert(1)']) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });
  it('trusts IPC only from the app frame', () => {
    expect(isTrustedSender({ url: `${APP_ORIGIN}/index.html` })).toBe(true);
    expect(isTrustedSender({ url: 'https://evil.example/' })).toBe(false);
    expect(isTrustedSender(null)).toBe(false);
  });
});

describe('session hardening', () => {
  const { session, handlers } = recordingSession();
  const logs: string[] = [];
  hardenSession(session as never, (m) => logs.push(m));

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | undefined;
      handlers.permissionRequest({}, permission, (g: boolean) => (granted = g));
      expect(granted, permission).toBe(false);
      expect(handlers.permissionCheck({}, permission)).toBe(false);
    }
    expect(handlers.devicePermission({})).toBe(false);
    let media: unknown;
    handlers.displayMedia({}, (r: unknown) => (media = r));
    expect(media).toEqual({});
  });

  it('blocks and logs requests that leave the app origin', () => {
    const decide = (url: string) => {
      let cancel: boolean | undefined;
      handlers.beforeRequest({ url }, (r: { cancel: boolean }) => (cancel = r.cancel));
      return cancel;
    };
    expect(decide(`${APP_ORIGIN}/assets/index.js`)).toBe(false);
    expect(decide('https://telemetry.example.com/x')).toBe(true);
    expect(decide('http://127.0.0.1:8080/')).toBe(true);
    expect(logs.some((l) => l.includes('telemetry.example.com'))).toBe(true);
  });

  it('adds the CSP to every response', () => {
    let headers: Record<string, string[]> = {};
    handlers.headersReceived({ responseHeaders: { a: ['b'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:/);
  });
});

describe('web contents hardening', () => {
  const on: Record<string, Handler> = {};
  let openHandler: Handler = () => undefined;
  hardenWebContents({ on: (name: string, h: Handler) => ((on[name] = h), undefined), setWindowOpenHandler: (h: Handler) => (openHandler = h) } as never, () => {});

  const prevented = (event: string, url?: string) => {
    let stopped = false;
    on[event]({ preventDefault: () => (stopped = true) }, url);
    return stopped;
  };

  it('denies navigation away from the app, webviews and new windows', () => {
    expect(prevented('will-navigate', 'https://example.com')).toBe(true);
    expect(prevented('will-navigate', `${APP_ORIGIN}/index.html#/study/1`)).toBe(false);
    expect(prevented('will-redirect', 'https://example.com')).toBe(true);
    expect(prevented('will-attach-webview')).toBe(true);
    expect(openHandler({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    expect(openHandler({ url: `${APP_ORIGIN}/index.html` })).toEqual({ action: 'deny' });
  });
});
