import * as rhea from 'rhea';
import { ServiceBusClient, type ServiceBusSender } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
    // The registration module validates settings when it loads; the handler under test gets its own below.
    Object.assign(process.env, {
        GRAPH_BASE_URL: 'http://127.0.0.1:1',
        COMPLIANCE_QUEUE_NAME: 'compliance-aggregates',
        ServiceBusConnection: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=Root;SharedAccessKey=UNUSED;UseDevelopmentEmulator=true;',
    });
});

import '../../functions/ingest';

import { createWriter } from '../../src/compose';
import { loadIngestConfig } from '../../src/config';
import { MAX_DESCRIPTION_LENGTH } from '../../src/outcome';
import { createIngestHandler, invocationLogs } from '../../src/hosts/functions/handler';
import { queue, startStack, type Stack } from '../e2e/stack';
import { pointExtensionAt, startSettlementServer, type SettlementServer } from '../hosts/functions/host-double';
import { registrations } from '../setup/functions-core-stub';
import { expectedEntityIds, hostileCorpus, verdictOn, type CorpusBody, type CorpusCase } from './corpus';

const corpus = hostileCorpus();
const invalid = (host: 'worker' | 'functions') => corpus.filter((c) => verdictOn(c, host) !== 'written');

let stack: Stack;
beforeAll(async () => {
    stack = await startStack();
});
afterAll(async () => {
    await stack.close();
});

/** An AMQP annotated message: it lets a test choose the body section and send application properties of any AMQP type. */
type AnnotatedMessage = Extract<Parameters<ServiceBusSender['sendMessages']>[0], { bodyType?: unknown }>;

function amqpMessage(c: CorpusCase, messageId: string): AnnotatedMessage {
    const body = c.body.section === 'data' ? c.body.bytes : c.body.section === 'value' ? c.body.value : c.body.lists;
    return {
        body,
        bodyType: c.body.section,
        properties: { messageId, contentType: 'application/json' },
        ...(c.applicationProperties ? { applicationProperties: { ...c.applicationProperties } } : {}),
    };
}

describe('the hostile corpus', () => {
    it('has at least 80 cases with distinct names, valid and invalid ones', () => {
        expect(corpus.length).toBeGreaterThanOrEqual(80);
        expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
        expect(invalid('worker').length).toBeGreaterThan(60);
        expect(expectedEntityIds(corpus, 'worker').size).toBe(corpus.length - invalid('worker').length);
    });

    it('through the emulator and the real worker: invalid inputs dead-lettered with their reason, valid ones written, no Graph call for the rest', async () => {
        const client = new ServiceBusClient(stack.serviceBus.connectionString);
        const sender = client.createSender(queue);
        try {
            // One send per message: a batch may not exceed the broker's message size, and some cases are 200 KiB.
            await Promise.all(corpus.map((c, i) => sender.sendMessages(amqpMessage(c, `corpus-${i}`))));
        } finally {
            await sender.close();
            await client.close();
        }
        const totals = await stack.drain({ batchSize: 50 });

        const dead = new Map(stack.serviceBus.deadLetters(queue).map((d) => [d.messageId, d]));
        const mismatches: string[] = [];
        corpus.forEach((c, i) => {
            const d = dead.get(`corpus-${i}`);
            const got = d ? d.deadLetterReason : 'written';
            if (got !== c.verdict) mismatches.push(`${c.name}: expected ${c.verdict}, got ${got} (${d?.deadLetterErrorDescription ?? ''})`);
        });
        expect(mismatches).toEqual([]);
        expect(dead.size).toBe(invalid('worker').length);
        for (const d of dead.values()) {
            expect(d.deadLetterErrorDescription!.length).toBeLessThanOrEqual(MAX_DESCRIPTION_LENGTH);
            expect(d.applicationProperties.errorCode).toBe(d.deadLetterReason);
        }

        const expected = expectedEntityIds(corpus, 'worker');
        expect(new Set(stack.graph.entities().keys())).toEqual(expected);
        // One create per valid entity and nothing else: the invalid inputs never reached Graph.
        const stats = stack.graph.stats();
        expect(stats.byKind.create).toBe(expected.size);
        expect(stats.byKind.get ?? 0).toBe(0);
        expect(stats.byKind.patch ?? 0).toBe(0);
        expect(stack.serviceBus.counts(queue)).toMatchObject({ active: 0, locked: 0, scheduled: 0 });
        expect(totals).toMatchObject({ received: corpus.length, retried: 0, settlementFailures: 0 });
        console.log(
            `[hardening] corpus via worker: ${corpus.length} cases, ${expected.size} written, ${dead.size} dead-lettered ` +
                `${JSON.stringify(totals.deadLettered)}, ${stats.requests} Graph requests`,
        );
    });

    describe('through the Functions adapter, invoked as the host does', () => {
        let server: SettlementServer;
        let restoreArgv: () => void;
        beforeAll(async () => {
            stack.graph.reset();
            server = await startSettlementServer();
            restoreArgv = pointExtensionAt(server.port);
        });
        afterAll(async () => {
            restoreArgv();
            await server.close();
        });

        const lockOf = (i: number) => `7d1f0c52-3a4b-4c5d-8e6f-${i.toString(16).padStart(12, '0')}`;

        /** The host's `modelBindingData` for one message (lock token in .NET byte order, then the AMQP message). */
        function bindingData(c: CorpusCase, i: number) {
            const guid = Buffer.from(lockOf(i).replace(/-/g, ''), 'hex');
            const lock = Buffer.concat([guid.subarray(0, 4).reverse(), guid.subarray(4, 6).reverse(), guid.subarray(6, 8).reverse(), guid.subarray(8)]);
            const amqp = rhea.message.encode({
                message_id: `corpus-${i}`,
                content_type: 'application/json',
                ...(c.applicationProperties ? { application_properties: { ...c.applicationProperties } } : {}),
                body: amqpBody(c.body),
            });
            return { version: '1.0', source: 'AzureServiceBusReceivedMessage', contentType: 'application/octet-stream', content: Buffer.concat([lock, Buffer.from('x-opt-lock-token'), amqp]) };
        }

        async function invoke(indexes: number[]) {
            const registration = registrations.find((r) => r.metadata.name === 'ingest')!;
            const config = loadIngestConfig(stack.env);
            const handler = createIngestHandler({ config, writer: createWriter(config.graph, invocationLogs), hostname: 'hardening' });
            type Core = { __functionsCore: { programmingModel: { getInvocationModel(c: unknown): Invocation } } };
            type Invocation = {
                getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
                invokeFunction(context: unknown, inputs: unknown[], h: unknown): Promise<unknown>;
            };
            // invokeAsHost's messages are text; hostile bodies are bytes and AMQP values, so build the binding data here.
            const trigger = Object.entries(registration.metadata.bindings).find(([, b]) => b.type === 'serviceBusTrigger')![0];
            const model = (globalThis as unknown as Core).__functionsCore.programmingModel;
            const json = (values: unknown[]) => ({ json: JSON.stringify(values) });
            const invocation = model.getInvocationModel({
                invocationId: `corpus-${indexes[0]}`,
                metadata: registration.metadata,
                request: {
                    inputData: [{ name: trigger, data: { collectionModelBindingData: { modelBindingData: indexes.map((i) => bindingData(corpus[i]!, i)) } } }],
                    triggerMetadata: {
                        DeliveryCountArray: json(indexes.map(() => 1)),
                        SequenceNumberArray: json(indexes),
                        EnqueuedTimeUtcArray: json(indexes.map(() => new Date().toISOString())),
                        MessageIdArray: json(indexes.map((i) => `corpus-${i}`)),
                        LockTokenArray: json(indexes.map(lockOf)),
                    },
                },
                log: () => undefined,
                state: 'invocation',
            });
            const { context, inputs } = await invocation.getArguments();
            await invocation.invokeFunction(context, inputs, handler);
        }

        it('dead-letters every invalid input with its reason and makes no Graph call for them', async () => {
            const indexes = corpus.map((_, i) => i).filter((i) => verdictOn(corpus[i]!, 'functions') !== 'written');
            await invoke(indexes);
            expect(stack.graph.stats().requests).toBe(0);

            const mismatches: string[] = [];
            for (const i of indexes) {
                const calls = server.calls.filter((call) => call.locktoken === lockOf(i));
                const reason = calls.length === 1 && calls[0]!.method === 'deadletter' ? calls[0]!.deadletterReason : JSON.stringify(calls);
                if (reason !== verdictOn(corpus[i]!, 'functions')) mismatches.push(`${corpus[i]!.name}: got ${reason}`);
            }
            expect(mismatches).toEqual([]);
            expect(server.calls.every((c) => (c.deadletterErrorDescription ?? '').length <= MAX_DESCRIPTION_LENGTH)).toBe(true);
        });

        it('writes every valid input', async () => {
            server.calls.length = 0;
            const indexes = corpus.map((_, i) => i).filter((i) => verdictOn(corpus[i]!, 'functions') === 'written');
            await invoke(indexes);
            expect(server.calls.map((c) => c.method)).toEqual(indexes.map(() => 'complete'));
            const expected = expectedEntityIds(corpus, 'functions');
            expect(new Set(stack.graph.entities().keys())).toEqual(expected);
            console.log(
                `[hardening] corpus via Functions adapter: ${corpus.length} cases, ${expected.size} written, ` +
                    `${corpus.length - indexes.length} dead-lettered, ${corpus.filter((c) => c.functions).length} host-specific verdicts`,
            );
        });
    });
});

function amqpBody(body: CorpusBody): unknown {
    if (body.section === 'data') return rhea.message.data_section(body.bytes);
    if (body.section === 'sequence') return rhea.message.sequence_section(body.lists);
    return body.value;
}
