import { DefaultAzureCredential, ManagedIdentityCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';

import type { GraphConfig } from '../../src/config';
import { IngestError } from '../../src/errors';
import { createGraphCredential, GraphTokenSource, TokenUnavailableError } from '../../src/graph/token';

const SCOPE = 'https://graph.microsoft.com/.default';
const base: GraphConfig = {
    baseUrl: 'https://graph.microsoft.com',
    apiVersion: 'beta',
    scope: SCOPE,
    credential: 'managedidentity',
    timeoutMs: 1_000,
    maxConcurrency: 1,
    retryBudgetMs: 0,
    insecureLoopback: false,
};

/** A credential whose answers the test releases by hand, recording the scopes it was asked for. */
function scriptedCredential() {
    const calls: (string | string[])[] = [];
    const waiting: { resolve: (t: AccessToken | null) => void; reject: (e: unknown) => void }[] = [];
    const credential: TokenCredential = {
        getToken: (scopes) => {
            calls.push(scopes);
            return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
        },
    };
    return { credential, calls, waiting };
}

describe('createGraphCredential', () => {
    it('uses ManagedIdentityCredential for managedidentity and DefaultAzureCredential only for default', () => {
        expect(createGraphCredential(base)).toBeInstanceOf(ManagedIdentityCredential);
        const userAssigned = { ...base, clientId: '00000000-0000-0000-0000-000000000001' };
        expect(createGraphCredential(userAssigned)).toBeInstanceOf(ManagedIdentityCredential);
        expect(createGraphCredential({ ...base, credential: 'default' })).toBeInstanceOf(DefaultAzureCredential);
    });
});

describe('GraphTokenSource', () => {
    it('asks for exactly the one configured scope and shares a request already under way', async () => {
        const { credential, calls, waiting } = scriptedCredential();
        const source = new GraphTokenSource(credential, SCOPE);

        const both = Promise.all([source.getToken(), source.getToken(AbortSignal.timeout(5_000))]);
        waiting[0]!.resolve({ token: 'tok-1', expiresOnTimestamp: Date.now() + 3_600_000 });

        expect(await both).toEqual(['tok-1', 'tok-1']);
        expect(calls).toEqual([SCOPE]);

        // Settled requests are forgotten: caching is the credential's job.
        const next = source.getToken();
        waiting[1]!.resolve({ token: 'tok-2', expiresOnTimestamp: Date.now() + 3_600_000 });
        expect(await next).toBe('tok-2');
        expect(calls).toHaveLength(2);
    });

    it('maps failures to a redacted TokenUnavailableError', async () => {
        const { credential, waiting } = scriptedCredential();
        const source = new GraphTokenSource(credential, SCOPE);

        const failed = source.getToken();
        waiting[0]!.reject(new Error('Authentication failed: access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln'));
        const err: unknown = await failed.catch((e: unknown) => e);

        expect(err).toBeInstanceOf(TokenUnavailableError);
        expect(err).toBeInstanceOf(IngestError);
        expect((err as TokenUnavailableError).code).toBe('TokenUnavailable');
        expect((err as Error).message).toContain('Authentication failed');
        expect((err as Error).message).not.toContain('eyJzdWIiOiIxMjM0In0');

        const empty = source.getToken();
        waiting[1]!.resolve(null);
        await expect(empty).rejects.toThrow(/returned no token/);
    });

    it('lets one caller give up without failing the others sharing the request', async () => {
        const { credential, waiting } = scriptedCredential();
        const source = new GraphTokenSource(credential, SCOPE);
        const impatient = new AbortController();

        const first = source.getToken(impatient.signal);
        const second = source.getToken();
        impatient.abort();
        waiting[0]!.resolve({ token: 'tok', expiresOnTimestamp: Date.now() + 3_600_000 });

        await expect(first).rejects.toBeInstanceOf(TokenUnavailableError);
        expect(await second).toBe('tok');
    });
});
