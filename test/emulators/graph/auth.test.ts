import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startGraphStandIn } from '../../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';
import { collectionPath, startGraphFixture, type GraphErrorBody, type GraphFixture } from './graph-fixture';

describe('Graph stand-in: bearer tokens', () => {
    let fx: GraphFixture;
    let stranger: IdentityStandIn;
    let readerOnly: IdentityStandIn;

    beforeAll(async () => {
        fx = await startGraphFixture();
        stranger = await startIdentityStandIn();
        readerOnly = await startIdentityStandIn({ roles: ['ManagedTenants.Read.All'] });
    });
    afterAll(async () => {
        await Promise.all([fx.close(), stranger.close(), readerOnly.close()]);
    });

    const list = (authorization?: string) =>
        fetch(`${fx.graph.baseUrl}/v1.0${collectionPath}`, authorization === undefined ? {} : { headers: { authorization } });
    const errorOf = async (res: Response) => ((await res.json()) as GraphErrorBody).error;

    it('accepts a token from the trusted identity stand-in', async () => {
        expect((await list(`Bearer ${fx.token}`)).status).toBe(200);
        // Cached verification must give the same answer.
        expect((await list(`Bearer ${fx.token}`)).status).toBe(200);
    });

    it('answers 401 InvalidAuthenticationToken without a token or with a bad one', async () => {
        const otherAudience = await fx.tokenFor('https://vault.azure.net');
        const untrusted = await fx.tokenFor('https://graph.microsoft.com', stranger);
        const [header, payload] = fx.token.split('.');
        const tampered = `${header}.${payload}.${'A'.repeat(86)}`;
        const bearer = [otherAudience, untrusted, tampered, 'not-a-jwt', ''].map((t) => `Bearer ${t}`);
        for (const authorization of [undefined, 'Basic abc', ...bearer]) {
            const res = await list(authorization);
            expect(res.status, authorization).toBe(401);
            expect(res.headers.get('www-authenticate')).toContain('Bearer');
            expect((await errorOf(res)).code).toBe('InvalidAuthenticationToken');
        }
        expect((await errorOf(await list(`Bearer ${otherAudience}`))).message).toContain('audience');
    });

    it('answers 401 for an expired token', async () => {
        const shortLived = await startIdentityStandIn({ tokenLifetimeSeconds: -10 });
        const graph = await startGraphStandIn({ identity: shortLived.verificationKey() });
        try {
            const token = await fx.tokenFor('https://graph.microsoft.com', shortLived);
            const res = await fetch(`${graph.baseUrl}/beta${collectionPath}`, { headers: { authorization: `Bearer ${token}` } });
            expect(res.status).toBe(401);
            expect((await errorOf(res)).message).toContain('expired');
        } finally {
            await Promise.all([graph.close(), shortLived.close()]);
        }
    });

    it('answers 403 Authorization_RequestDenied without the required role, also from cache', async () => {
        const graph = await startGraphStandIn({ identity: readerOnly.verificationKey() });
        try {
            const token = await fx.tokenFor('https://graph.microsoft.com', readerOnly);
            for (let i = 0; i < 2; i++) {
                const res = await fetch(`${graph.baseUrl}/v1.0${collectionPath}`, { headers: { authorization: `Bearer ${token}` } });
                expect(res.status).toBe(403);
                expect((await errorOf(res)).code).toBe('Authorization_RequestDenied');
            }
        } finally {
            await graph.close();
        }
    });

    it('honours a configured audience and role', async () => {
        const graph = await startGraphStandIn({
            identity: readerOnly.verificationKey(),
            audience: 'https://graph.microsoft.us',
            requiredRole: 'ManagedTenants.Read.All',
        });
        try {
            const token = await fx.tokenFor('https://graph.microsoft.us', readerOnly);
            const res = await fetch(`${graph.baseUrl}/v1.0${collectionPath}`, { headers: { authorization: `Bearer ${token}` } });
            expect(res.status).toBe(200);
        } finally {
            await graph.close();
        }
    });

    it("lets everything through with identity 'none', and rejects every token without a trusted issuer", async () => {
        const open = await startGraphStandIn({ identity: 'none' });
        const closed = await startGraphStandIn();
        try {
            expect((await fetch(`${open.baseUrl}/v1.0${collectionPath}`)).status).toBe(200);
            const res = await fetch(`${closed.baseUrl}/v1.0${collectionPath}`, { headers: { authorization: `Bearer ${fx.token}` } });
            expect(res.status).toBe(401);
        } finally {
            await Promise.all([open.close(), closed.close()]);
        }
    });
});
