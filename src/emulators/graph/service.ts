/**
 * What the Graph stand-in does with one request once it is past the transport (authentication, latency, dropped
 * connections): routing, fault modes, write throttling, the entity collection and `$batch`. A batch item runs through
 * the same `execute` as a top-level request, so items see the same validation, modes and throttling.
 */
import {
    countProperties,
    entityForCreate,
    entityForUpdate,
    entityProperties,
    entityTypeName,
    readProperties,
    type AggregatedPolicyComplianceEntity,
    type BodyProblem,
} from './entity';
import { readBatch } from './batch';
import { encodeSkipToken, listState, parseSelect } from './query';
import type { FaultPlan } from './faults';

export type RequestKind = 'create' | 'list' | 'get' | 'patch' | 'delete' | 'batch' | 'other';

export interface GraphStats {
    /** HTTP requests received (control endpoint excluded); a `$batch` counts once. */
    requests: number;
    /** Answers by status, for HTTP requests and for each `$batch` item; dropped connections count as 'dropped'. */
    byStatus: Record<string, number>;
    /** Like byStatus, by kind: create, list, get, patch, delete, batch, other. */
    byKind: Record<string, number>;
    /** HTTP requests (and `$batch` items) by method. */
    byMethod: Record<string, number>;
    /** 429 answers, top-level and inside `$batch`. */
    throttled: number;
    entities: number;
    /** Writes that changed the store: creates, updates and deletes. */
    writes: number;
}

/** Per-request identity echoed in headers and in every error's innerError. */
export interface RequestContext {
    requestId: string;
    clientRequestId: string;
    /** `http://127.0.0.1:PORT`, for @odata.context, Location and nextLink. */
    baseUrl: string;
    version: string;
}

export interface GraphRequest {
    method: string;
    /** Path below the version segment, e.g. `/tenantRelationships/managedTenants/aggregatedPolicyCompliances`. */
    path: string;
    /** Raw query string without '?'. */
    query: string;
    contentType: string | undefined;
    /** Parsed JSON body, undefined when there is none. */
    body: unknown;
    /** The client asked for Int64 as strings (`IEEE754Compatible=true` in Content-Type or Accept). */
    ieee754Compatible: boolean;
}

export interface GraphResponse {
    status: number;
    headers: Record<string, string>;
    body?: unknown;
}

export interface Route {
    kind: RequestKind;
    /** The entity key for get, patch and delete. */
    id?: string;
}

const collectionPath = '/tenantrelationships/managedtenants/aggregatedpolicycompliances';
const collectionSegment = 'tenantRelationships/managedTenants/aggregatedPolicyCompliances';

function decodeKey(raw: string): string | undefined {
    try {
        return decodeURIComponent(raw);
    } catch {
        return undefined;
    }
}

/** Classify a path below the version segment; both `/{id}` and OData's `('{id}')` key syntax are accepted. */
export function route(method: string, path: string): Route {
    if (path === '/$batch' || path === '/%24batch') return { kind: method === 'POST' ? 'batch' : 'other' };
    const lower = path.toLowerCase();
    if (!lower.startsWith(collectionPath)) return { kind: 'other' };
    const rest = path.slice(collectionPath.length);
    if (rest === '' || rest === '/') {
        if (method === 'POST') return { kind: 'create' };
        return { kind: method === 'GET' ? 'list' : 'other' };
    }
    let key: string | undefined;
    if (rest.startsWith('/') && rest.indexOf('/', 1) < 0) key = decodeKey(rest.slice(1));
    else if (rest.startsWith("('") && rest.endsWith("')")) key = decodeKey(rest.slice(2, -2))?.replace(/''/g, "'");
    if (key === undefined || key === '') return { kind: 'other' };
    if (method === 'GET') return { kind: 'get', id: key };
    if (method === 'PATCH') return { kind: 'patch', id: key };
    if (method === 'DELETE') return { kind: 'delete', id: key };
    return { kind: 'other', id: key };
}

/** Graph's error body; innerError.date carries no zone suffix, like the real service. */
export function errorResponse(
    status: number,
    code: string,
    message: string,
    ctx: RequestContext,
    headers: Record<string, string> = {},
): GraphResponse {
    const date = new Date().toISOString().slice(0, 19);
    const innerError: Record<string, string> = { date, 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId };
    if (status === 429) Object.assign(innerError, { code: '429', message: 'Please retry after', status: '429' });
    return { status, headers, body: { error: { code, message, innerError } } };
}

const badRequest = (problem: BodyProblem, ctx: RequestContext): GraphResponse => errorResponse(400, problem.code, problem.message, ctx);

export class GraphService {
    readonly store = new Map<string, AggregatedPolicyComplianceEntity>();
    private stats = GraphService.emptyStats();

    constructor(private readonly faults: FaultPlan) {}

    private static emptyStats(): GraphStats {
        return { requests: 0, byStatus: {}, byKind: {}, byMethod: {}, throttled: 0, entities: 0, writes: 0 };
    }

    snapshot(): GraphStats {
        const s = this.stats;
        return { ...s, byStatus: { ...s.byStatus }, byKind: { ...s.byKind }, byMethod: { ...s.byMethod }, entities: this.store.size };
    }

    reset(): void {
        this.store.clear();
        this.stats = GraphService.emptyStats();
    }

    /** Count one answer; `topLevel` marks an HTTP request (as opposed to a `$batch` item). */
    record(kind: RequestKind, method: string, status: number | 'dropped', topLevel: boolean): void {
        const s = this.stats;
        if (topLevel) s.requests++;
        s.byKind[kind] = (s.byKind[kind] ?? 0) + 1;
        s.byMethod[method] = (s.byMethod[method] ?? 0) + 1;
        s.byStatus[status] = (s.byStatus[status] ?? 0) + 1;
        if (status === 429) s.throttled++;
    }

    /** Run one request (top-level or a batch item) already routed; `$batch` goes to `executeBatch`. */
    execute(request: GraphRequest, target: Route, ctx: RequestContext): GraphResponse {
        const { kind } = target;
        // A `$batch` nested inside a batch is not a resource either.
        if (kind === 'other' || kind === 'batch') return this.unknownTarget(request, target, ctx);
        const mode = this.faults.mode;
        if (mode === 'forbidden') {
            return errorResponse(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.', ctx);
        }
        if (mode === 'notImplemented') return errorResponse(501, 'NotImplemented', 'The requested feature is not implemented.', ctx);
        if (mode === 'rejectCreates' && kind === 'create') {
            return errorResponse(405, 'Request_UnsupportedQuery', 'Specified HTTP method is not allowed for the request target.', ctx);
        }
        if (kind === 'create' || kind === 'patch') {
            const retryAfter = this.faults.takeWrite();
            if (retryAfter !== undefined) {
                return errorResponse(429, 'TooManyRequests', 'Please retry again later.', ctx, { 'Retry-After': retryAfter });
            }
        }
        const injected = this.faults.injectedError();
        if (injected?.status === 500) return errorResponse(500, 'generalException', 'An unspecified error has occurred.', ctx);
        if (injected?.status === 503) {
            const headers: Record<string, string> = injected.retryAfter === undefined ? {} : { 'Retry-After': injected.retryAfter };
            return errorResponse(503, 'serviceNotAvailable', 'The service is temporarily unavailable; retry after a delay.', ctx, headers);
        }
        const response = this.perform(request, target, ctx);
        // A gateway timeout can arrive after the write was committed: the outcome stands, the client never sees it.
        if (injected?.status === 504) return errorResponse(504, 'GatewayTimeout', 'The gateway did not receive a timely response.', ctx);
        return response;
    }

    private unknownTarget(request: GraphRequest, target: Route, ctx: RequestContext): GraphResponse {
        if (target.id !== undefined || route('GET', request.path).kind !== 'other') {
            return errorResponse(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.', ctx);
        }
        const segment = request.path.split('/').find((s) => s !== '') ?? '';
        return errorResponse(400, 'BadRequest', `Resource not found for the segment '${segment.slice(0, 80)}'.`, ctx);
    }

    private perform(request: GraphRequest, target: Route, ctx: RequestContext): GraphResponse {
        switch (target.kind) {
            case 'create':
                return this.create(request, ctx);
            case 'list':
                return this.list(request, ctx);
            case 'get':
                return this.read(request, target.id ?? '', ctx);
            case 'patch':
                return this.update(request, target.id ?? '', ctx);
            default:
                // Only 'delete' is left: execute() answered 'other' and 'batch' already.
                return this.remove(target.id ?? '', ctx);
        }
    }

    private writableBody(request: GraphRequest, ctx: RequestContext): GraphResponse | undefined {
        if (request.contentType === undefined || !request.contentType.toLowerCase().includes('application/json')) {
            return errorResponse(415, 'UnsupportedMediaType', "Write requests must have the Content-Type header 'application/json'.", ctx);
        }
        if (request.body === undefined) return errorResponse(400, 'BadRequest', 'Empty Payload. JSON content expected.', ctx);
        return undefined;
    }

    private create(request: GraphRequest, ctx: RequestContext): GraphResponse {
        const unusable = this.writableBody(request, ctx);
        if (unusable) return unusable;
        const values = readProperties(request.body, request.ieee754Compatible);
        if (!values.ok) return badRequest(values.problem, ctx);
        const entity = entityForCreate(values.value);
        if (!entity.ok) return badRequest(entity.problem, ctx);
        const { id } = entity.value;
        if (this.store.has(id)) return errorResponse(409, 'Conflict', 'An entity with this id already exists.', ctx);
        this.store.set(id, entity.value);
        this.stats.writes++;
        const location = `${ctx.baseUrl}/${ctx.version}/${collectionSegment}('${encodeURIComponent(id.replace(/'/g, "''"))}')`;
        return { status: 201, headers: { Location: location }, body: this.present(entity.value, undefined, request, ctx, true) };
    }

    private read(request: GraphRequest, id: string, ctx: RequestContext): GraphResponse {
        const select = this.selectOption(request.query);
        if (typeof select === 'object' && 'problem' in select) return badRequest(select.problem, ctx);
        const entity = this.store.get(id);
        if (entity === undefined) return this.notFound(id, ctx);
        return { status: 200, headers: {}, body: this.present(entity, select, request, ctx, true) };
    }

    private update(request: GraphRequest, id: string, ctx: RequestContext): GraphResponse {
        const unusable = this.writableBody(request, ctx);
        if (unusable) return unusable;
        const values = readProperties(request.body, request.ieee754Compatible);
        if (!values.ok) return badRequest(values.problem, ctx);
        const stored = this.store.get(id);
        if (stored === undefined) return this.notFound(id, ctx);
        const updated = entityForUpdate(stored, values.value);
        if (!updated.ok) return badRequest(updated.problem, ctx);
        this.store.set(id, updated.value);
        this.stats.writes++;
        return { status: 204, headers: {} };
    }

    private remove(id: string, ctx: RequestContext): GraphResponse {
        if (!this.store.delete(id)) return this.notFound(id, ctx);
        this.stats.writes++;
        return { status: 204, headers: {} };
    }

    private notFound(id: string, ctx: RequestContext): GraphResponse {
        return errorResponse(404, 'itemNotFound', `The ${entityTypeName} with id '${id.slice(0, 160)}' was not found.`, ctx);
    }

    /** `$select` for a single entity; anything else starting with '$' is rejected like an unsupported query option. */
    private selectOption(query: string): string[] | undefined | { problem: BodyProblem } {
        if (query === '') return undefined;
        let select: string[] | undefined;
        for (const [name, value] of new URLSearchParams(query)) {
            if (name === '$select') {
                const parsed = parseSelect(value);
                if (!Array.isArray(parsed)) return parsed;
                select = parsed;
            } else if (name.startsWith('$')) {
                return { problem: { code: 'BadRequest', message: `Query option '${name}' is not allowed on this request.` } };
            }
        }
        return select;
    }

    private list(request: GraphRequest, ctx: RequestContext): GraphResponse {
        const state = listState(request.query);
        if ('problem' in state) return badRequest(state.problem, ctx);
        const page: unknown[] = [];
        let matched = 0;
        let more = false;
        for (const entity of this.store.values()) {
            if (state.tenantId !== undefined && entity.tenantId !== state.tenantId) continue;
            if (matched >= state.offset && page.length < state.top) page.push(this.present(entity, state.select, request, ctx, false));
            else if (matched >= state.offset + state.top) more = true;
            matched++;
            if (more && !state.count) break;
        }
        const selectSuffix = state.select ? `(${state.select.join(',')})` : '';
        const context = `${ctx.baseUrl}/${ctx.version}/$metadata#${collectionSegment}${selectSuffix}`;
        const body: Record<string, unknown> = { '@odata.context': context };
        if (state.count) body['@odata.count'] = matched;
        if (more) {
            const next = encodeSkipToken({ ...state, offset: state.offset + state.top });
            body['@odata.nextLink'] = `${ctx.baseUrl}/${ctx.version}/${collectionSegment}?$skiptoken=${next}`;
        }
        body.value = page;
        return { status: 200, headers: {}, body };
    }

    /** The entity as Graph would serialise it: optional @odata.context, $select, Int64 as strings when asked. */
    private present(
        entity: AggregatedPolicyComplianceEntity,
        select: string[] | undefined,
        request: GraphRequest,
        ctx: RequestContext,
        withContext: boolean,
    ): Record<string, unknown> {
        const out: Record<string, unknown> = {};
        if (withContext) {
            const selectSuffix = select ? `(${select.join(',')})` : '';
            out['@odata.context'] = `${ctx.baseUrl}/${ctx.version}/$metadata#${collectionSegment}${selectSuffix}/$entity`;
        }
        if (select === undefined && !request.ieee754Compatible) return Object.assign(out, entity);
        for (const property of select ?? entityProperties) out[property] = entity[property as keyof AggregatedPolicyComplianceEntity];
        if (request.ieee754Compatible) {
            for (const property of countProperties) if (property in out) out[property] = String(entity[property]);
        }
        return out;
    }

    /** `POST /$batch`: validate the envelope, run items in dependency order, answer them in reverse order. */
    executeBatch(body: unknown, ctx: RequestContext): GraphResponse {
        const envelope = readBatch(body);
        if ('problem' in envelope) return badRequest(envelope.problem, ctx);
        const injected = this.faults.injectedError();
        if (injected !== undefined) {
            const retryAfter = injected.status === 503 ? injected.retryAfter : undefined;
            const headers: Record<string, string> = retryAfter ? { 'Retry-After': retryAfter } : {};
            const code = injected.status === 500 ? 'generalException' : 'serviceNotAvailable';
            return errorResponse(injected.status, code, 'Batch processing failed.', ctx, headers);
        }
        const statusById = new Map<string, number>();
        const responses: unknown[] = [];
        for (const item of envelope.order) {
            const failedDependency = item.dependsOn.some((dep) => {
                const status = statusById.get(dep.toLowerCase()) ?? 0;
                return status < 200 || status > 299;
            });
            const request: GraphRequest = {
                method: item.method,
                path: item.path,
                query: item.query,
                contentType: item.contentType,
                body: item.body,
                ieee754Compatible: ieee754Requested(item.contentType) || ieee754Requested(item.accept),
            };
            const target = route(item.method, item.path);
            const response = failedDependency
                ? errorResponse(424, 'FailedDependency', 'The request depends on a request that failed.', ctx)
                : this.execute(request, target, ctx);
            this.record(target.kind, item.method, response.status, false);
            statusById.set(item.id.toLowerCase(), response.status);
            if (response.body === undefined) {
                responses.push({ id: item.id, status: response.status, headers: response.headers });
            } else {
                const headers = { ...response.headers, 'Content-Type': jsonContentType(request.ieee754Compatible) };
                responses.push({ id: item.id, status: response.status, headers, body: response.body });
            }
        }
        // Graph may answer items in any order; reversing keeps clients honest about correlating by id.
        return { status: 200, headers: {}, body: { responses: responses.reverse() } };
    }
}

export function ieee754Requested(mediaType: string | undefined): boolean {
    return mediaType !== undefined && /ieee754compatible\s*=\s*true/i.test(mediaType);
}

export function jsonContentType(ieee754Compatible: boolean): string {
    return `application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=${ieee754Compatible};charset=utf-8`;
}
