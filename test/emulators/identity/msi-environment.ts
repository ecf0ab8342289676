import type { IdentityStandIn } from '../../../src/emulators/identity';

const competingSources = ['IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'AZURE_FEDERATED_TOKEN_FILE'];

/**
 * Make msal-node pick the App Service source pointing at the stand-in. It reads these once per process, at the first
 * getToken, so call this before that. Returns a function restoring the previous environment.
 */
export function useAppServiceIdentity(identity: IdentityStandIn, header = identity.header): () => void {
    const names = [...competingSources, 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER'];
    const saved = new Map(names.map((n) => [n, process.env[n]]));
    for (const name of competingSources) delete process.env[name];
    process.env.IDENTITY_ENDPOINT = identity.endpoint;
    process.env.IDENTITY_HEADER = header;
    return () => {
        for (const [name, value] of saved) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}
