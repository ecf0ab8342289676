import { startGraphStandIn, type GraphStandIn, type GraphStandInOptions } from '../../../src/emulators/graph';
import { startIdentityStandIn, type IdentityStandIn, type IdentityStandInOptions } from '../../../src/emulators/identity';

export const collectionPath = '/tenantRelationships/managedTenants/aggregatedPolicyCompliances';

/** An identity stand-in, a Graph stand-in trusting it, and a token from it; `close()` stops both. */
export interface GraphFixture {
    graph: GraphStandIn;
    identity: IdentityStandIn;
    token: string;
    /** Token for another resource or role set, straight from the identity stand-in's endpoint. */
    tokenFor(resource: string, from?: IdentityStandIn): Promise<string>;
    /** fetch against the Graph stand-in with the bearer token; `path` includes the version, e.g. `/v1.0/...`. */
    call(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
    close(): Promise<void>;
}

export async function startGraphFixture(
    options: Omit<GraphStandInOptions, 'identity'> = {},
    identityOptions: IdentityStandInOptions = {},
): Promise<GraphFixture> {
    const identity = await startIdentityStandIn(identityOptions);
    const graph = await startGraphStandIn({ ...options, identity: identity.verificationKey() });
    const tokenFor = async (resource: string, from: IdentityStandIn = identity): Promise<string> => {
        const query = new URLSearchParams({ 'api-version': '2019-08-01', resource });
        const res = await fetch(`${from.endpoint}?${query.toString()}`, { headers: { 'X-IDENTITY-HEADER': from.header } });
        return ((await res.json()) as { access_token: string }).access_token;
    };
    const token = await tokenFor('https://graph.microsoft.com');
    return {
        graph,
        identity,
        token,
        tokenFor,
        call(path, init = {}) {
            const headers = new Headers(init.headers);
            if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
            let body = init.body;
            if (init.json !== undefined) {
                body = JSON.stringify(init.json);
                if (!headers.has('content-type')) headers.set('content-type', 'application/json');
            }
            return fetch(`${graph.baseUrl}${path}`, { ...init, headers, body });
        },
        async close() {
            await Promise.all([graph.close(), identity.close()]);
        },
    };
}

let sequence = 0;

/** A valid create body; ids follow `{tenantId}_{compliancePolicyId}`. */
export function aggregate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    sequence++;
    const suffix = String(sequence).padStart(12, '0');
    const tenantId = (overrides.tenantId as string | undefined) ?? `34298981-4fc8-4974-9486-${suffix}`;
    const compliancePolicyId = (overrides.compliancePolicyId as string | undefined) ?? `19a8d6a6-d87e-4059-85b3-${suffix}`;
    return {
        '@odata.type': '#microsoft.graph.managedTenants.aggregatedPolicyCompliance',
        id: `${tenantId}_${compliancePolicyId}`,
        tenantId,
        tenantDisplayName: 'Fourth Coffee',
        compliancePolicyId,
        compliancePolicyName: 'Baseline - Setup Compliance Policy for Windows devices',
        compliancePolicyType: 'Unknown',
        compliancePolicyPlatform: 'Windows10',
        numberOfCompliantDevices: 12,
        numberOfNonCompliantDevices: 3,
        numberOfErrorDevices: 0,
        policyModifiedDateTime: '2021-06-22T17:01:46Z',
        lastRefreshedDateTime: '2021-07-11T01:02:33.4452876Z',
        ...overrides,
    };
}

export interface GraphErrorBody {
    error: { code: string; message: string; innerError: Record<string, string> };
}
