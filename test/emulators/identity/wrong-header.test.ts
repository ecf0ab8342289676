import { CredentialUnavailableError, ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';
import { useAppServiceIdentity } from './msi-environment';

describe('ManagedIdentityCredential with a wrong IDENTITY_HEADER', () => {
    let identity: IdentityStandIn;
    let restoreEnv: () => void;

    beforeAll(async () => {
        identity = await startIdentityStandIn();
        restoreEnv = useAppServiceIdentity(identity, 'not-the-secret');
    });
    afterAll(async () => {
        restoreEnv();
        await identity.close();
    });

    it('gets 401 once and surfaces CredentialUnavailableError', async () => {
        const attempt = new ManagedIdentityCredential().getToken('https://graph.microsoft.com/.default');
        await expect(attempt).rejects.toBeInstanceOf(CredentialUnavailableError);
        expect(identity.requests.map((r) => r.status)).toEqual([401]);
        expect(identity.requests[0]!.headers['x-identity-header']).toBe('not-the-secret');
    });
});
