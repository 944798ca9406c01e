// TLS is always verified: a server whose certificate a hospital CA signed is refused with a clear message until the
// server's `caBundle` names that CA, then trusted (the bundle adds to the system's CAs, it does not replace them).
// The certificate and CA are test-only fixtures (tls/README.md).
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacsError, searchStudies, type Server } from '../../../main/pacs/dicomweb';

const TLS = path.join(__dirname, 'tls');
let server: https.Server;
let url: string;

beforeAll(async () => {
  server = https.createServer({ key: fs.readFileSync(path.join(TLS, 'server.key')), cert: fs.readFileSync(path.join(TLS, 'server.pem')) }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end(JSON.stringify([{ '0020000D': { vr: 'UI', Value: ['1.2.3'] }, '00201208': { vr: 'IS', Value: [2] } }]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
});
afterAll(() => new Promise((r) => server.close(r)));

const conn = (caBundle: string | null): { server: Server; secret: null } => ({ server: { name: 'tls', url, auth: 'none', user: null, caBundle, timeoutSeconds: 5 }, secret: null });

describe('TLS verification', () => {
  it('refuses a certificate no trusted CA signed, saying what to do', async () => {
    const error = await searchStudies(conn(null), { limit: 1 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(PacsError);
    expect((error as Error).message).toMatch(new RegExp(`^PACS server "tls" \\(${url.replace(/[.]/g, '\\.')}\\): its TLS certificate is not trusted \\(\\w+\\); add the hospital's CA bundle`));
  });

  it("trusts it with the hospital's CA bundle", async () => {
    const rows = await searchStudies(conn(path.join(TLS, 'ca.pem')), { limit: 1 });
    expect(rows).toEqual([{ studyUid: '1.2.3', patientId: '', patientName: '', accession: '', date: '', modalities: [], description: '', series: null, instances: 2 }]);
  });

  it('a CA bundle that cannot be read, or holds no certificate, is named', async () => {
    await expect(searchStudies(conn(path.join(TLS, 'missing.pem')), { limit: 1 })).rejects.toThrow(/cannot read its CA bundle .*missing\.pem/);
    await expect(searchStudies(conn(path.join(TLS, 'README.md')), { limit: 1 })).rejects.toThrow(/README\.md holds no PEM certificate/);
  });
});
