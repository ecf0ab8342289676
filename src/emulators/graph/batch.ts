/** Reading a `$batch` request body the way Graph does: validation, then the items in dependency order. */
import type { BodyProblem } from './entity';

export const maxBatchRequests = 20;

export interface BatchItem {
    id: string;
    method: string;
    path: string;
    query: string;
    contentType: string | undefined;
    accept: string | undefined;
    body: unknown;
    dependsOn: string[];
}

const batchProblem = (message: string): { problem: BodyProblem } => ({ problem: { code: 'BadRequest', message } });

/** Validate a `$batch` body and put its items in dependency order (dependencies first, otherwise as sent). */
export function readBatch(body: unknown): { order: BatchItem[] } | { problem: BodyProblem } {
    const requests = (body as { requests?: unknown } | undefined)?.requests;
    if (!Array.isArray(requests)) return batchProblem("Invalid batch payload: a 'requests' array is required.");
    if (requests.length === 0) return batchProblem('A batch must contain at least one request.');
    if (requests.length > maxBatchRequests) return batchProblem(`A batch can contain at most ${maxBatchRequests} requests.`);
    const items = new Map<string, BatchItem>();
    for (const raw of requests as unknown[]) {
        const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (typeof r.id !== 'string' || r.id === '') return batchProblem("Every batch request needs a string 'id'.");
        if (typeof r.method !== 'string' || typeof r.url !== 'string') {
            return batchProblem(`Batch request '${r.id}' needs 'method' and 'url'.`);
        }
        if (items.has(r.id.toLowerCase())) return batchProblem(`Batch request ids must be unique; '${r.id}' is repeated.`);
        const headers = typeof r.headers === 'object' && r.headers !== null ? (r.headers as Record<string, unknown>) : {};
        const header = (name: string): string | undefined => {
            const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
            const value = key === undefined ? undefined : headers[key];
            return typeof value === 'string' ? value : undefined;
        };
        const contentType = header('content-type');
        if (r.body !== undefined && contentType === undefined) {
            return batchProblem(`Batch request '${r.id}' has a body but no Content-Type header.`);
        }
        const dependsOn = r.dependsOn ?? [];
        if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string')) {
            return batchProblem(`Batch request '${r.id}' has an invalid 'dependsOn'.`);
        }
        const url = r.url.startsWith('/') ? r.url : `/${r.url}`;
        const q = url.indexOf('?');
        items.set(r.id.toLowerCase(), {
            id: r.id,
            method: r.method.toUpperCase(),
            path: q < 0 ? url : url.slice(0, q),
            query: q < 0 ? '' : url.slice(q + 1),
            contentType,
            accept: header('accept'),
            body: r.body,
            dependsOn: dependsOn,
        });
    }
    const order: BatchItem[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (item: BatchItem): string | undefined => {
        const key = item.id.toLowerCase();
        if (state.get(key) === 'done') return undefined;
        if (state.get(key) === 'visiting') return `Batch request '${item.id}' is part of a dependency cycle.`;
        state.set(key, 'visiting');
        for (const dep of item.dependsOn) {
            const target = items.get(dep.toLowerCase());
            if (target === undefined) return `Batch request '${item.id}' depends on unknown request '${dep}'.`;
            const problem = visit(target);
            if (problem !== undefined) return problem;
        }
        state.set(key, 'done');
        order.push(item);
        return undefined;
    };
    for (const item of items.values()) {
        const problem = visit(item);
        if (problem !== undefined) return batchProblem(problem);
    }
    return { order };
}
