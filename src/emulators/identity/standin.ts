/**
 * Managed-identity stand-in: the App Service / Functions MI REST protocol (api-version 2019-08-01) on a loopback
 * HTTP server, issuing real signed JWTs so the Graph stand-in can verify them like Entra-issued tokens.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose' with { 'resolution-mode': 'import' };

export type IdentityFault = 'none' | 'unavailable' | 'slow' | 'error500';

export interface IdentityRequestRecord {
    query: Record<string, string>;
    headers: Record<string, string | string[] | undefined>;
    /** HTTP status answered; 0 when the connection was dropped on purpose. */
    status: number;
}

export interface IdentityStandIn {
    /** `http://127.0.0.1:PORT/msi/token`, the value for `IDENTITY_ENDPOINT`. */
    readonly endpoint: string;
    /** The `X-IDENTITY-HEADER` secret, the value for `IDENTITY_HEADER`. */
    readonly header: string;
    readonly issuer: string;
    readonly port: number;
    readonly requests: IdentityRequestRecord[];
    setFault(mode: IdentityFault, options?: { delayMs?: number }): void;
    /** The JWKS (public keys) and issuer the Graph stand-in needs to verify tokens. */
    verificationKey(): { issuer: string; jwks: JSONWebKeySet };
    close(): Promise<void>;
}

export interface IdentityStandInOptions {
    port?: number;
    host?: string;
    header?: string;
    roles?: string[];
    tokenLifetimeSeconds?: number;
}

export const managedIdentityApiVersion = '2019-08-01';
const tokenPath = '/msi/token';
const signingAlgorithm = 'ES256';
const defaultRoles = ['ManagedTenants.ReadWrite.All'];
const defaultSlowDelayMs = 2_000;
/** The App Service protocol accepts at most one of these to select a user-assigned identity. */
const identitySelectors = ['client_id', 'principal_id', 'object_id', 'mi_res_id'] as const;

/** A stable GUID-shaped value derived from text, so a given user-assigned identity always gets the same object id. */
function guidFrom(text: string): string {
    const h = createHash('sha256').update(text).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
}

export async function startIdentityStandIn(options: IdentityStandInOptions = {}): Promise<IdentityStandIn> {
    const jose = await import('jose');
    const host = options.host ?? '127.0.0.1';
    const secret = options.header ?? randomUUID();
    const roles = [...(options.roles ?? defaultRoles)];
    const lifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    const tenantId = randomUUID();
    const systemClientId = randomUUID();
    const kid = randomUUID();
    const { privateKey, publicKey } = await jose.generateKeyPair(signingAlgorithm, { extractable: true });
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: signingAlgorithm, use: 'sig' };

    const requests: IdentityRequestRecord[] = [];
    const timers = new Set<NodeJS.Timeout>();
    let fault: IdentityFault = 'none';
    let slowDelayMs = defaultSlowDelayMs;
    let issuer = '';

    async function issueToken(resource: string, clientId: string, principal: string): Promise<string> {
        const now = Math.floor(Date.now() / 1000);
        return new jose.SignJWT({ roles, appid: clientId, azp: clientId, oid: principal, tid: tenantId, idtyp: 'app', uti: randomUUID() })
            .setProtectedHeader({ alg: signingAlgorithm, kid, typ: 'JWT' })
            .setIssuer(issuer)
            .setAudience(resource)
            .setSubject(principal)
            .setIssuedAt(now)
            .setNotBefore(now - 300)
            .setExpirationTime(now + lifetimeSeconds)
            .sign(privateKey);
    }

    async function answer(req: http.IncomingMessage, res: http.ServerResponse, record: IdentityRequestRecord): Promise<void> {
        const reply = (status: number, body: unknown): void => {
            record.status = status;
            sendJson(res, status, body);
        };
        const url = new URL(req.url ?? '/', 'http://stand-in');
        if (url.pathname !== tokenPath) return reply(404, { error: 'not_found', error_description: `Unknown path ${url.pathname}` });
        if (req.method !== 'GET') return reply(405, { error: 'invalid_request', error_description: 'Only GET is supported' });
        if (req.headers['x-identity-header'] !== secret) {
            return reply(401, { error: 'unauthorized', error_description: 'Missing or invalid X-IDENTITY-HEADER' });
        }
        const q = record.query;
        if (q['api-version'] !== managedIdentityApiVersion) {
            return reply(400, { error: 'invalid_request', error_description: `api-version must be ${managedIdentityApiVersion}` });
        }
        const resource = q.resource;
        if (!resource) return reply(400, { error: 'invalid_request', error_description: 'The resource parameter is required' });
        const selectors = identitySelectors.filter((name) => q[name] !== undefined);
        if (selectors.length > 1) {
            return reply(400, { error: 'invalid_request', error_description: `Only one of ${identitySelectors.join(', ')} may be given` });
        }
        if (fault === 'error500') return reply(500, { error: 'server_error', error_description: 'Injected managed identity failure' });
        const selector = selectors[0];
        // A user-assigned identity picked by object or resource id still needs a stable client id in its tokens.
        const selected = selector === undefined ? undefined : q[selector];
        const clientId = selected === undefined ? systemClientId : selector === 'client_id' ? selected : guidFrom(`client:${selected}`);
        const principal = guidFrom(`principal:${clientId}`);
        const token = await issueToken(resource, clientId, principal);
        const expiresOn = Math.floor(Date.now() / 1000) + lifetimeSeconds;
        reply(200, { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: clientId });
    }

    const server = http.createServer((req, res) => {
        const record: IdentityRequestRecord = {
            query: Object.fromEntries(new URL(req.url ?? '/', 'http://stand-in').searchParams),
            headers: { ...req.headers },
            status: 0,
        };
        requests.push(record);
        if (fault === 'unavailable') {
            req.socket.destroy();
            return;
        }
        const run = (): void => {
            answer(req, res, record).catch(() => {
                record.status = 500;
                if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: 'Token issuance failed' });
            });
        };
        if (fault === 'slow') {
            const timer = setTimeout(() => {
                timers.delete(timer);
                run();
            }, slowDelayMs);
            timers.add(timer);
        } else {
            run();
        }
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    issuer = `${origin}/${tenantId}/`;

    return {
        endpoint: `${origin}${tokenPath}`,
        header: secret,
        issuer,
        port,
        requests,
        setFault(mode, faultOptions) {
            fault = mode;
            slowDelayMs = faultOptions?.delayMs ?? defaultSlowDelayMs;
        },
        verificationKey() {
            return { issuer, jwks: { keys: [{ ...publicJwk }] } };
        },
        async close() {
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
