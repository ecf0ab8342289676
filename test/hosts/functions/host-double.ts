/**
 * What the Functions host does around an SDK-bound Service Bus invocation, played offline:
 * a loopback Settlement gRPC server built from the extension's own settlement.proto (recording every call),
 * and the `modelBindingData` content the extension's decoder reads (see shared notes §3.4).
 */
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as rhea from 'rhea';

const extensionRoot = path.dirname(require.resolve('@azure/functions-extensions-servicebus/package.json'));
const protoPath = path.join(extensionRoot, 'dist/proto/settlement.proto');

export type SettlementMethod = 'complete' | 'abandon' | 'deadletter' | 'defer' | 'renewMessageLock';

export interface SettlementCall {
    readonly method: SettlementMethod;
    readonly locktoken: string;
    /** `propertiesToModify` decoded from its AMQP map bytes; undefined when none were sent. */
    readonly properties?: Record<string, unknown>;
    readonly deadletterReason?: string;
    readonly deadletterErrorDescription?: string;
}

export interface SettlementServer {
    readonly port: number;
    readonly calls: SettlementCall[];
    /** Answer calls for this lock token with a gRPC error, as the host does when a lock is lost. */
    failFor(locktoken: string): void;
    close(): Promise<void>;
}

interface RawRequest {
    locktoken: string;
    propertiesToModify?: Buffer;
    deadletterReason?: { value: string } | null;
    deadletterErrorDescription?: { value: string } | null;
}

function decodeAmqpMap(bytes: Buffer | undefined): Record<string, unknown> | undefined {
    if (!bytes?.length) return undefined;
    const Reader = (rhea.types as unknown as { Reader: new (b: Buffer) => { read(): rhea.Typed } }).Reader;
    return rhea.types.unwrap(new Reader(bytes).read()) as Record<string, unknown>;
}

export async function startSettlementServer(): Promise<SettlementServer> {
    const definition = protoLoader.loadSync(protoPath, { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
    const service = (grpc.loadPackageDefinition(definition) as unknown as { Settlement: grpc.ServiceClientConstructor }).Settlement.service;
    const calls: SettlementCall[] = [];
    const failing = new Set<string>();
    const handle =
        (method: SettlementMethod) =>
        (call: grpc.ServerUnaryCall<RawRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            const r = call.request;
            const properties = decodeAmqpMap(r.propertiesToModify);
            calls.push({
                method,
                locktoken: r.locktoken,
                ...(properties ? { properties } : {}),
                ...(r.deadletterReason ? { deadletterReason: r.deadletterReason.value } : {}),
                ...(r.deadletterErrorDescription ? { deadletterErrorDescription: r.deadletterErrorDescription.value } : {}),
            });
            if (failing.has(r.locktoken)) callback({ code: grpc.status.NOT_FOUND, details: 'MessageLockLost' });
            else callback(null, {});
        };
    const server = new grpc.Server();
    server.addService(service, {
        complete: handle('complete'),
        abandon: handle('abandon'),
        deadletter: handle('deadletter'),
        defer: handle('defer'),
        renewMessageLock: handle('renewMessageLock'),
    });
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return {
        port,
        calls,
        failFor: (locktoken) => failing.add(locktoken),
        close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    };
}

/** Point the extension's (lazily created, then cached) Settlement client at the server, as the worker's argv does. */
export function pointExtensionAt(port: number): () => void {
    const added = ['--host', '127.0.0.1', '--port', String(port), '--functions-grpc-max-message-length', String(4 * 1024 * 1024)];
    process.argv.push(...added);
    return () => {
        process.argv.splice(process.argv.length - added.length, added.length);
    };
}

/** .NET Guid byte order: the first three groups little-endian, as the extension's lock-token decoder expects. */
function guidBytes(guid: string): Buffer {
    const b = Buffer.from(guid.replace(/-/g, ''), 'hex');
    return Buffer.concat([b.subarray(0, 4).reverse(), b.subarray(4, 6).reverse(), b.subarray(6, 8).reverse(), b.subarray(8)]);
}

export interface SentMessage {
    readonly lockToken: string;
    readonly messageId: string;
    /** JSON text or any other text; sent as an AMQP data section. */
    readonly body: string;
    readonly contentType?: string;
    readonly applicationProperties?: Record<string, string | number | boolean>;
}

/** One entry of `collectionModelBindingData`, in the layout 0.2.0-preview decodes. */
export function modelBindingData(m: SentMessage) {
    const amqp = rhea.message.encode({
        message_id: m.messageId,
        ...(m.contentType ? { content_type: m.contentType } : {}),
        ...(m.applicationProperties ? { application_properties: m.applicationProperties } : {}),
        body: rhea.message.data_section(Buffer.from(m.body, 'utf8')),
    });
    return {
        version: '1.0',
        source: 'AzureServiceBusReceivedMessage',
        contentType: 'application/octet-stream',
        content: Buffer.concat([guidBytes(m.lockToken), Buffer.from('x-opt-lock-token'), amqp]),
    };
}

export interface DeliveryFacts {
    readonly deliveryCount: number;
    readonly sequenceNumber: number;
    readonly enqueuedTimeUtc: string;
}

/** The RPC `triggerMetadata` the host sends for a batch (PascalCase keys, JSON-typed values). */
export function batchTriggerMetadata(messages: readonly SentMessage[], facts: readonly DeliveryFacts[]) {
    const json = (values: unknown[]) => ({ json: JSON.stringify(values) });
    return {
        DeliveryCountArray: json(facts.map((f) => f.deliveryCount)),
        SequenceNumberArray: json(facts.map((f) => f.sequenceNumber)),
        EnqueuedTimeUtcArray: json(facts.map((f) => f.enqueuedTimeUtc)),
        MessageIdArray: json(messages.map((m) => m.messageId)),
        LockTokenArray: json(messages.map((m) => m.lockToken)),
    };
}

export interface HostLogLine {
    readonly level: string;
    readonly message: string;
}

interface Registration {
    readonly metadata: { name: string; bindings: Record<string, Record<string, unknown>> };
}

interface InvocationModelLike {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(context: unknown, inputs: unknown[], handler: (...args: never[]) => unknown): Promise<unknown>;
}

/**
 * Invoke `handler` the way the Node worker does for the registered function: the library's own
 * `ProgrammingModel` converts `collectionModelBindingData` (through the extension's factory) and `triggerMetadata`.
 */
export async function invokeAsHost(
    registration: Registration,
    handler: (...args: never[]) => unknown,
    batch: { messages: readonly SentMessage[]; facts: readonly DeliveryFacts[]; invocationId?: string },
): Promise<{ logs: HostLogLine[]; error?: unknown }> {
    type Core = { __functionsCore: { programmingModel: { getInvocationModel(c: unknown): InvocationModelLike } } };
    const model = (globalThis as unknown as Core).__functionsCore.programmingModel;
    const trigger = Object.entries(registration.metadata.bindings).find(([, b]) => b.type === 'serviceBusTrigger');
    if (!trigger) throw new Error('no serviceBusTrigger binding registered');
    const logs: HostLogLine[] = [];
    const invocation = model.getInvocationModel({
        invocationId: batch.invocationId ?? 'inv-1',
        metadata: registration.metadata,
        request: {
            inputData: [
                { name: trigger[0], data: { collectionModelBindingData: { modelBindingData: batch.messages.map(modelBindingData) } } },
            ],
            triggerMetadata: batchTriggerMetadata(batch.messages, batch.facts),
        },
        log: (level: string, _category: string, message: string) => logs.push({ level, message }),
        state: 'invocation',
    });
    const { context, inputs } = await invocation.getArguments();
    try {
        await invocation.invokeFunction(context, inputs, handler);
        return { logs };
    } catch (error) {
        return { logs, error };
    }
}
