import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startIdentityStandIn, type IdentityStandIn } from '../../../src/emulators/identity';
import { useAppServiceIdentity } from './msi-environment';

// msal-node keeps the managed identity source and token cache in process-wide statics: this file owns one stand-in.
describe('ManagedIdentityCredential (system-assigned) against the identity stand-in', () => {
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

    it('sends the App Service protocol request and gets a verifiable Graph token', async () => {
        const token = await new ManagedIdentityCredential().getToken('https://graph.microsoft.com/.default');

        expect(identity.requests).toHaveLength(1);
        const [request] = identity.requests;
        expect(request!.query).toEqual({ 'api-version': '2019-08-01', resource: 'https://graph.microsoft.com' });
        expect(request!.headers['x-identity-header']).toBe(identity.header);
        expect(request!.status).toBe(200);
        expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);

        const jose = await import('jose');
        const { issuer, jwks } = identity.verificationKey();
        const keys = jose.createLocalJWKSet(jwks);
        const { payload } = await jose.jwtVerify(token.token, keys, { issuer, audience: 'https://graph.microsoft.com' });
        expect(payload.roles).toEqual(['ManagedTenants.ReadWrite.All']);
    });

    it('caches the token across calls and credential instances', async () => {
        const scope = 'https://graph.microsoft.com/.default';
        const first = await new ManagedIdentityCredential().getToken(scope);
        const credential = new ManagedIdentityCredential();
        const again = [await credential.getToken(scope), await credential.getToken(scope)];

        expect(again.map((t) => t.token)).toEqual([first.token, first.token]);
        expect(identity.requests).toHaveLength(1);
    });
});
