/** A loopback HTTP server scripted per test: records every request and counts requests in flight. */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
    readonly seq: number;
    readonly method: string;
    readonly path: string;
    readonly query: Readonly<Record<string, string>>;
    readonly headers: IncomingHttpHeaders;
    readonly body: unknown;
}

export type Script = (req: RecordedRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface ScriptedServer {
    readonly url: string;
    readonly requests: RecordedRequest[];
    /** The highest number of requests that were open at the same time. */
    readonly maxInFlight: number;
    close(): Promise<void>;
}

export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
    const requests: RecordedRequest[] = [];
    const sockets = new Set<Socket>();
    let inFlight = 0;
    let maxInFlight = 0;
    const server = createServer((raw, res) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        res.on('close', () => inFlight--);
        const chunks: Buffer[] = [];
        raw.on('data', (c: Buffer) => chunks.push(c));
        raw.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const url = new URL(raw.url ?? '/', 'http://127.0.0.1');
            const recorded: RecordedRequest = {
                seq: requests.length + 1,
                method: raw.method ?? '',
                path: url.pathname,
                query: Object.fromEntries(url.searchParams),
                headers: raw.headers,
                body: text ? JSON.parse(text) : undefined,
            };
            requests.push(recorded);
            void Promise.resolve(script(recorded, res, raw)).catch((err: unknown) => {
                res.statusCode = 599;
                res.end(String(err));
            });
        });
    });
    server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        requests,
        get maxInFlight() {
            return maxInFlight;
        },
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}

/** Answer with JSON and a Graph-style `request-id` header. */
export function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const requestId = `req-${status}-${Math.random().toString(16).slice(2, 10)}`;
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Graph's error body `{ error: { code, message, innerError } }`. */
export function replyError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    reply(res, status, { error: { code, message, innerError: { date: '2025-02-13T10:17:06', 'request-id': 'inner-id' } } }, headers);
}

/** A port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
