import { CredentialUnavailableError, ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';
import { useAppServiceIdentity } from './msi-environment';

// Failures are not cached, so the fault cases run first and the slow-but-successful case last.
describe('ManagedIdentityCredential against identity stand-in faults', () => {
    let identity: IdentityStandIn;
    let restoreEnv: () => void;
    // Short SDK retries keep the file fast; the retry count is still observable on the stand-in.
    const credential = () => new ManagedIdentityCredential({ retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 } });
    const scope = 'https://graph.microsoft.com/.default';

    beforeAll(async () => {
        identity = await startIdentityStandIn();
        restoreEnv = useAppServiceIdentity(identity);
    });
    afterAll(async () => {
        restoreEnv();
        await identity.close();
    });
    beforeEach(() => {
        identity.requests.length = 0;
    });

    it('error500: the SDK retries, then fails with CredentialUnavailableError', async () => {
        identity.setFault('error500');
        await expect(credential().getToken(scope)).rejects.toBeInstanceOf(CredentialUnavailableError);
        expect(identity.requests.map((r) => r.status)).toEqual([500, 500, 500]);
    });

    it('unavailable: dropped connections surface as CredentialUnavailableError', async () => {
        identity.setFault('unavailable');
        await expect(credential().getToken(scope)).rejects.toBeInstanceOf(CredentialUnavailableError);
        expect(identity.requests.length).toBeGreaterThanOrEqual(1);
        expect(identity.requests.every((r) => r.status === 0)).toBe(true);
    });

    it('slow: the token still arrives after the delay', async () => {
        identity.setFault('slow', { delayMs: 100 });
        const token = await credential().getToken(scope);
        expect(token.token.split('.')).toHaveLength(3);
        expect(identity.requests.map((r) => r.status)).toEqual([200]);
    });
});
