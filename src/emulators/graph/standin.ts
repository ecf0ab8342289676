/**
 * Graph stand-in: a loopback HTTP server for `/{v1.0|beta}/tenantRelationships/managedTenants/aggregatedPolicyCompliances`
 * and `/{v}/$batch`, with Graph's error shapes, bearer-token checks against the identity stand-in, and fault injection
 * settable at start-up, through the API or through `/_control/*`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessCheck, type TrustedIssuer } from './auth';
import type { AggregatedPolicyComplianceEntity } from './entity';
import { checkFaults, FaultPlan, type GraphFaults } from './faults';
import {
    errorResponse,
    GraphService,
    ieee754Requested,
    jsonContentType,
    route,
    type GraphResponse,
    type GraphStats,
    type RequestContext,
    type RequestKind,
} from './service';

export interface GraphStandIn {
    /** `http://127.0.0.1:PORT`, without a version segment. */
    readonly baseUrl: string;
    readonly port: number;
    /** Replace the current faults (omitted fields fall back to none); throws RangeError on invalid values. */
    setFaults(faults: GraphFaults): void;
    stats(): GraphStats;
    entities(): ReadonlyMap<string, AggregatedPolicyComplianceEntity>;
    /** Forget all entities and statistics and restore the start-up faults. */
    reset(): void;
    close(): Promise<void>;
}

export interface GraphStandInOptions {
    port?: number;
    host?: string;
    /** Keys and issuer of the identity stand-in, or 'none' to skip authentication; without it every token is rejected. */
    identity?: TrustedIssuer | 'none';
    audience?: string;
    requiredRole?: string;
    faults?: GraphFaults;
}

export const defaultGraphAudience = 'https://graph.microsoft.com';
export const defaultRequiredRole = 'ManagedTenants.ReadWrite.All';
const versions = new Set(['v1.0', 'beta']);
const invalidTokenChallenge = 'Bearer realm="", error="invalid_token"';
const maxBodyBytes = 4 * 1024 * 1024;
// Graph sends this diagnostic header on every response; clients are told to log it.
const agsDiagnostic = JSON.stringify({
    ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'stand-in' },
});

function isLoopback(address: string | undefined): boolean {
    return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

function headerValue(value: string | string[] | undefined): string | undefined {
    return Array.isArray(value) ? value[0] : value;
}

function writeResponse(
    res: http.ServerResponse,
    ctx: RequestContext | undefined,
    response: GraphResponse,
    ieee754Compatible: boolean,
): void {
    const headers: Record<string, string | number> = { ...response.headers };
    if (ctx !== undefined) {
        headers['request-id'] = ctx.requestId;
        headers['client-request-id'] = ctx.clientRequestId;
        headers['x-ms-ags-diagnostic'] = agsDiagnostic;
    }
    if (response.body === undefined) {
        res.writeHead(response.status, headers);
        res.end();
        return;
    }
    const text = JSON.stringify(response.body);
    headers['content-type'] = jsonContentType(ieee754Compatible);
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(response.status, headers);
    res.end(text);
}

/** Read and parse a JSON body; resolves undefined for an empty body, rejects with a SyntaxError/RangeError otherwise. */
function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= maxBodyBytes) chunks.push(chunk);
        });
        req.on('error', reject);
        req.on('end', () => {
            if (size > maxBodyBytes) return reject(new RangeError('Request body too large'));
            if (size === 0) return resolve(undefined);
            try {
                resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
                reject(err instanceof Error ? err : new SyntaxError('Invalid JSON'));
            }
        });
    });
}

export async function startGraphStandIn(options: GraphStandInOptions = {}): Promise<GraphStandIn> {
    const host = options.host ?? '127.0.0.1';
    const startupFaults = checkFaults(options.faults ?? {});
    const faults = new FaultPlan(startupFaults);
    const service = new GraphService(faults);
    const access = await AccessCheck.create({
        identity: options.identity,
        audience: options.audience ?? defaultGraphAudience,
        requiredRole: options.requiredRole ?? defaultRequiredRole,
    });
    const timers = new Set<NodeJS.Timeout>();
    let baseUrl = '';

    function control(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
        const reply = (status: number, body?: unknown): void => writeResponse(res, undefined, { status, headers: {}, body }, false);
        if (!isLoopback(req.socket.remoteAddress)) {
            return reply(403, { error: { code: 'Forbidden', message: 'The control endpoint is loopback only.' } });
        }
        if (path === '/_control/stats' && req.method === 'GET') return reply(200, service.snapshot());
        if (path === '/_control/faults' && req.method === 'GET') return reply(200, faults.current());
        if (path === '/_control/reset' && req.method === 'POST') {
            resetAll();
            return reply(204);
        }
        if (path === '/_control/faults' && req.method === 'POST') {
            readJsonBody(req)
                .then((body) => {
                    faults.set(body ?? {});
                    reply(200, faults.current());
                })
                .catch((err: unknown) => {
                    reply(400, { error: { code: 'BadRequest', message: err instanceof Error ? err.message : 'Invalid faults' } });
                });
            return;
        }
        reply(404, { error: { code: 'NotFound', message: `Unknown control endpoint ${req.method} ${path}` } });
    }

    function resetAll(): void {
        service.reset();
        faults.set(startupFaults);
    }

    function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const fullPath = q < 0 ? url : url.slice(0, q);
        if (fullPath.startsWith('/_control/')) return control(req, res, fullPath);
        const method = req.method ?? 'GET';
        const slash = fullPath.indexOf('/', 1);
        const version = fullPath.slice(1, slash < 0 ? fullPath.length : slash);
        const path = slash < 0 ? '/' : fullPath.slice(slash);
        const requestId = randomUUID();
        const clientRequestId = headerValue(req.headers['client-request-id']) ?? requestId;
        const ctx: RequestContext = { requestId, clientRequestId, baseUrl, version };
        const contentType = req.headers['content-type'];
        const ieee754Compatible = ieee754Requested(contentType) || ieee754Requested(req.headers.accept);
        const target = versions.has(version) ? route(method, path) : { kind: 'other' as RequestKind };
        const answer = (response: GraphResponse): void => {
            service.record(target.kind, method, response.status, true);
            writeResponse(res, ctx, response, ieee754Compatible);
        };

        if (faults.shouldDropConnection()) {
            service.record(target.kind, method, 'dropped', true);
            req.socket.destroy();
            return;
        }

        const respond = (body: unknown): GraphResponse => {
            if (!versions.has(version)) return errorResponse(400, 'BadRequest', `Invalid version: ${version.slice(0, 40)}`, ctx);
            if (target.kind === 'batch') return service.executeBatch(body, ctx);
            const query = q < 0 ? '' : url.slice(q + 1);
            return service.execute({ method, path, query, contentType, body, ieee754Compatible }, target, ctx);
        };
        const dispatch = (body: unknown): void => {
            let response: GraphResponse;
            try {
                response = respond(body);
            } catch {
                // A defect in the stand-in must answer like Graph would, not take the server down.
                response = errorResponse(500, 'generalException', 'An unspecified error has occurred.', ctx);
            }
            answer(response);
        };

        const authorised = (verdict: Awaited<ReturnType<AccessCheck['verify']>>): void => {
            if (verdict.status !== 'allowed') {
                const headers: Record<string, string> = verdict.status === 401 ? { 'WWW-Authenticate': invalidTokenChallenge } : {};
                return answer(errorResponse(verdict.status, verdict.code, verdict.message, ctx, headers));
            }
            if (method !== 'POST' && method !== 'PATCH' && method !== 'PUT') return dispatch(undefined);
            readJsonBody(req).then(dispatch, (err: unknown) => {
                if (err instanceof RangeError) {
                    return answer(errorResponse(413, 'RequestEntityTooLarge', 'The request body is too large.', ctx));
                }
                answer(errorResponse(400, 'BadRequest', 'Invalid JSON. A token was not recognized in the JSON content.', ctx));
            });
        };

        const proceed = (): void => {
            const authorization = req.headers.authorization;
            const quick = access.quickVerdict(authorization);
            if (quick !== undefined) return authorised(quick);
            access.verify(authorization).then(authorised, () =>
                answer(errorResponse(500, 'generalException', 'Token verification failed unexpectedly.', ctx)),
            );
        };

        const latencyMs = faults.latencyMs;
        if (latencyMs <= 0) return proceed();
        const timer = setTimeout(() => {
            timers.delete(timer);
            proceed();
        }, latencyMs);
        timers.add(timer);
    }

    const server = http.createServer(handle);
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    return {
        baseUrl,
        port,
        setFaults(next) {
            faults.set(next);
        },
        stats: () => service.snapshot(),
        entities: () => service.store,
        reset: resetAll,
        async close() {
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
