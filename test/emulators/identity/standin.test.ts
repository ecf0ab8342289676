import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';

describe('identity stand-in over HTTP', () => {
    let identity: IdentityStandIn;

    beforeAll(async () => {
        identity = await startIdentityStandIn({ roles: ['ManagedTenants.ReadWrite.All', 'Extra.Role'], tokenLifetimeSeconds: 1800 });
    });
    afterAll(async () => {
        await identity.close();
    });
    beforeEach(() => {
        identity.setFault('none');
        identity.requests.length = 0;
    });

    const tokenUrl = (query: Record<string, string>) => `${identity.endpoint}?${new URLSearchParams(query).toString()}`;
    const graphQuery = { 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com' };

    it('issues a signed JWT for the resource, in the App Service response shape', async () => {
        const before = Math.floor(Date.now() / 1000);
        const res = await fetch(tokenUrl(graphQuery), {
            // The SDK sends a form content-type even on GET; the stand-in must not mind.
            headers: { 'X-IDENTITY-HEADER': identity.header, 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, string>;
        expect(body).toMatchObject({ resource: 'https://graph.microsoft.com', token_type: 'Bearer' });
        expect(body.expires_on).toMatch(/^\d+$/);
        expect(Number(body.expires_on)).toBeGreaterThanOrEqual(before + 1800);

        const jose = await import('jose');
        const { issuer, jwks } = identity.verificationKey();
        const { payload, protectedHeader } = await jose.jwtVerify(body.access_token!, jose.createLocalJWKSet(jwks), {
            issuer,
            audience: 'https://graph.microsoft.com',
        });
        expect(protectedHeader.alg).toBe('ES256');
        expect(payload.roles).toEqual(['ManagedTenants.ReadWrite.All', 'Extra.Role']);
        expect(payload.appid).toBe(body.client_id);
        expect(payload.tid).toEqual(expect.any(String));
        expect(payload.oid).toEqual(expect.any(String));
        expect(issuer).toBe(identity.issuer);
        expect(identity.requests).toEqual([expect.objectContaining({ query: graphQuery, status: 200 })]);
    });

    it('puts a user-assigned client_id into the token and the response', async () => {
        const clientId = '11111111-2222-3333-4444-555555555555';
        const res = await fetch(tokenUrl({ ...graphQuery, client_id: clientId }), { headers: { 'X-IDENTITY-HEADER': identity.header } });
        const body = (await res.json()) as Record<string, string>;
        expect(body.client_id).toBe(clientId);
        const jose = await import('jose');
        expect(jose.decodeJwt(body.access_token!).appid).toBe(clientId);
    });

    it('rejects a missing or wrong X-IDENTITY-HEADER with 401', async () => {
        for (const headers of [{}, { 'X-IDENTITY-HEADER': 'wrong' }] as Record<string, string>[]) {
            const res = await fetch(tokenUrl(graphQuery), { headers });
            expect(res.status).toBe(401);
            expect(await res.json()).toEqual({ error: 'unauthorized', error_description: expect.any(String) });
        }
        expect(identity.requests.map((r) => r.status)).toEqual([401, 401]);
    });

    it('rejects a bad api-version, a missing resource and two identity selectors with 400', async () => {
        const headers = { 'X-IDENTITY-HEADER': identity.header };
        const queries = [
            { ...graphQuery, 'api-version': '2017-09-01' },
            { 'api-version': '2019-08-01' },
            { ...graphQuery, client_id: 'a', object_id: 'b' },
        ];
        for (const query of queries) {
            const res = await fetch(tokenUrl(query), { headers });
            expect(res.status).toBe(400);
            expect(await res.json()).toMatchObject({ error: 'invalid_request' });
        }
    });

    it('answers 500 in error500 mode', async () => {
        identity.setFault('error500');
        const res = await fetch(tokenUrl(graphQuery), { headers: { 'X-IDENTITY-HEADER': identity.header } });
        expect(res.status).toBe(500);
        expect(await res.json()).toMatchObject({ error: 'server_error' });
    });

    it('drops the connection in unavailable mode', async () => {
        identity.setFault('unavailable');
        await expect(fetch(tokenUrl(graphQuery), { headers: { 'X-IDENTITY-HEADER': identity.header } })).rejects.toThrow();
        expect(identity.requests).toEqual([expect.objectContaining({ status: 0 })]);
    });

    it('delays the answer in slow mode', async () => {
        identity.setFault('slow', { delayMs: 150 });
        const started = Date.now();
        const res = await fetch(tokenUrl(graphQuery), { headers: { 'X-IDENTITY-HEADER': identity.header } });
        expect(res.status).toBe(200);
        // Lower bound only: the delay is a fault we injected, not a performance claim.
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });

    it('keeps close() prompt while a slow answer is pending', async () => {
        const slow = await startIdentityStandIn();
        slow.setFault('slow', { delayMs: 60_000 });
        const url = tokenUrl(graphQuery).replace(identity.endpoint, slow.endpoint);
        const pending = fetch(url, { headers: { 'X-IDENTITY-HEADER': slow.header } });
        await expect.poll(() => slow.requests.length).toBe(1);
        await slow.close();
        await expect(pending).rejects.toThrow();
    });
});
