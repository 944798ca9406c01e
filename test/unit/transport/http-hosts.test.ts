// `serve --host 0.0.0.0` (issue 12): it printed http://0.0.0.0:... and then refused every request with
// "unexpected Host header". Now it prints the addresses it is reachable at and accepts those, and only those, as Host.
import http from 'node:http';
import type os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Handlers } from '../../../main/rpc/dispatcher';
import { EventBus } from '../../../main/rpc/event-bus';
import { reachableHosts, startHttpServer, type RunningHttpServer } from '../../../main/transport/http';

const nic = (address: string, family: 'IPv4' | 'IPv6', scopeid?: number) => ({ address, family, scopeid, internal: false, netmask: '', mac: '', cidr: null }) as unknown as os.NetworkInterfaceInfo;

describe('reachableHosts', () => {
  const interfaces = {
    lo: [nic('127.0.0.1', 'IPv4'), nic('::1', 'IPv6', 0)],
    eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6', 2), nic('2001:db8::5', 'IPv6', 0)],
  };
  it('a wildcard listens on every interface address (loopback first), never on the wildcard itself', () => {
    expect(reachableHosts('0.0.0.0', interfaces)).toEqual(['127.0.0.1', '192.168.1.20']);
    expect(reachableHosts('::', interfaces)).toEqual(['127.0.0.1', '[::1]', '192.168.1.20', '[2001:db8::5]']);
  });
  it('a named host is itself (IPv6 in brackets)', () => {
    expect(reachableHosts('127.0.0.1', interfaces)).toEqual(['127.0.0.1']);
    expect(reachableHosts('::1', interfaces)).toEqual(['[::1]']);
  });
});

describe('listening on 0.0.0.0', () => {
  let server: RunningHttpServer;
  beforeAll(async () => {
    server = await startHttpServer({ dispatcher: createDispatcher({} as Handlers), bus: new EventBus(), staticDir: null, host: '0.0.0.0' });
  });
  afterAll(() => server.close());

  const status = (hostHeader: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/', headers: { host: hostHeader } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('prints reachable URLs, not http://0.0.0.0', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.urls.length).toBeGreaterThanOrEqual(1);
    for (const url of server.urls) expect(url).not.toContain('0.0.0.0');
    expect(server.loginUrl).toBe(`${server.url}?token=${server.token}`);
  });

  it('accepts each printed address as Host (then asks for the token), and nothing else', async () => {
    for (const url of server.urls) expect(await status(new URL(url).host), url).toBe(401);
    expect(await status(`localhost:${server.port}`)).toBe(401);
    expect(await status(`0.0.0.0:${server.port}`)).toBe(403);
    expect(await status(`evil.example:${server.port}`)).toBe(403);
    expect(await status(`127.0.0.1:${server.port + 1}`)).toBe(403);
  });
});
