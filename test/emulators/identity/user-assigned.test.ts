import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';
import { useAppServiceIdentity } from './msi-environment';

describe('ManagedIdentityCredential (user-assigned) against the identity stand-in', () => {
    let identity: IdentityStandIn;
    let restoreEnv: () => void;

    beforeAll(async () => {
        identity = await startIdentityStandIn();
        restoreEnv = useAppServiceIdentity(identity);
    });
    afterAll(async () => {
        restoreEnv();
        await identity.close();
    });

    it('sends client_id and gets a token carrying it', async () => {
        const clientId = '0a1b2c3d-0000-4000-8000-00000000000a';
        const token = await new ManagedIdentityCredential({ clientId }).getToken('https://graph.microsoft.com/.default');

        expect(identity.requests.map((r) => r.query)).toEqual([
            { 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com', client_id: clientId },
        ]);
        const jose = await import('jose');
        expect(jose.decodeJwt(token.token)).toMatchObject({ appid: clientId, aud: 'https://graph.microsoft.com' });
    });
});
