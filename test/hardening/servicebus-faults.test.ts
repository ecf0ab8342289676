import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServiceBusEmulator, type ServiceBusEmulator } from '../../src/emulators/servicebus';
import { queue, startStack, type Stack } from '../e2e/stack';
import { drainUntilEmpty, sendAll } from './scenarios';
import { expectSettled, faultSuiteEnv, mixedTraffic, reportFigures } from './traffic';

let stack: Stack;
let replacement: ServiceBusEmulator | undefined;
beforeAll(async () => {
    stack = await startStack({ env: faultSuiteEnv });
});
afterAll(async () => {
    // Client first, while a broker still listens: closing it against a closed port waits on reconnect attempts.
    await stack.close();
    await replacement?.close();
});

describe('Service Bus faults end to end', () => {
    it('loses and doubles nothing when the broker drops every connection again and again mid-run', async () => {
        const traffic = mixedTraffic(400, { firstKey: 200_000, invalidEvery: 50 });
        await sendAll(stack, traffic.bodies);
        stack.graph.setFaults({ latencyMs: 20 });
        let drops = 0;
        const dropper = setInterval(() => {
            if (drops < 8) {
                drops++;
                stack.serviceBus.dropConnections();
            }
        }, 400);
        let worker;
        try {
            worker = await drainUntilEmpty(stack, { timeoutMs: 50_000 });
        } finally {
            clearInterval(dropper);
            stack.graph.setFaults({});
        }
        reportFigures('servicebus connection drops (fast)', { messages: traffic.bodies.length, drops, worker });
        expect(drops).toBeGreaterThanOrEqual(3);
        expectSettled(traffic, stack.graph, stack.serviceBus);
    }, 60_000);

    it('reconnects to a restarted broker on the same port and writes everything re-sent to it', async () => {
        // The emulator keeps messages in memory, so a restart loses what it held, as a broker without persistence
        // would. What must hold: the worker survives, reconnects by itself, and the producer's re-sent set is written.
        stack.serviceBus.reset();
        stack.graph.reset();
        const traffic = mixedTraffic(200, { firstKey: 210_000, invalidEvery: 50 });
        await sendAll(stack, traffic.bodies);
        stack.graph.setFaults({ latencyMs: 30 });
        const stop = new AbortController();
        const running = stack.drain({ signal: stop.signal, drainIdleMs: 60_000, batchSize: 20 });
        await new Promise((resolve) => setTimeout(resolve, 500));

        const port = stack.serviceBus.port;
        await stack.serviceBus.close();
        replacement = await startServiceBusEmulator({ port, queues: [{ name: queue, properties: { lockDurationMs: 5_000 } }] });
        stack.graph.setFaults({});
        // The producer re-sends everything from a fresh client, as a restarted producer job would.
        const producer = new ServiceBusClient(replacement.connectionString);
        const sender = producer.createSender(queue);
        try {
            for (let i = 0; i < traffic.bodies.length; i += 100) {
                await sender.sendMessages(traffic.bodies.slice(i, i + 100).map((b) => ({ body: Buffer.from(b), contentType: 'application/json' })));
            }
        } finally {
            await producer.close();
        }
        const end = Date.now() + 40_000;
        while (stack.graph.entities().size < traffic.newest.size || replacement.deadLetters(queue).length < traffic.invalid.size) {
            if (Date.now() > end) break;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const counts = () => replacement!.counts(queue);
        while (counts().active + counts().locked + counts().scheduled > 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 200));
        expectSettled(traffic, stack.graph, replacement);

        // A graceful stop must not wait on settlements of deliveries from the dead connection.
        const abortedAt = Date.now();
        stop.abort();
        const worker = await Promise.race([running, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
        const stopSeconds = (Date.now() - abortedAt) / 1000;
        reportFigures('servicebus restart (fast)', { messages: traffic.bodies.length, resent: traffic.bodies.length, stopSeconds, worker });
        expect(worker, 'the worker did not stop within 15 s of the abort after a broker restart').toBeDefined();
    }, 60_000);
});
