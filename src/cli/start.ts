import { readFileSync } from 'node:fs';

import { ServiceBusClient } from '@azure/service-bus';

import { hasServiceBusSettings, type Environment } from '../config';
import { startLocalStandIns, useLocalIdentity } from '../emulators/local';
import type { WorkerTotals } from '../hosts/worker/worker';
import type { Logger } from '../log';
import { samplesFile } from './paths';
import { runWorkerCommand } from './worker';

export interface StartResult {
    readonly embedded: boolean;
    readonly totals: WorkerTotals;
}

/** Send each sample line as-is (invalid ones included), so the run shows dead-lettering too. */
async function publishSamples(connectionString: string, queueName: string, lines: readonly string[]): Promise<void> {
    const client = new ServiceBusClient(connectionString);
    try {
        const sender = client.createSender(queueName);
        await sender.sendMessages(lines.map((line) => ({ body: Buffer.from(line, 'utf8'), contentType: 'application/json' })));
    } finally {
        await client.close();
    }
}

/**
 * `npm start`: with Service Bus configured, the worker against it. Without, the whole pipeline on the
 * embedded stand-ins: publish the samples, ingest them, print the result, keep ingesting until Ctrl-C.
 */
export async function runStartCommand(env: Environment, logger: Logger, signal: AbortSignal, out: NodeJS.WritableStream = process.stdout): Promise<StartResult> {
    if (hasServiceBusSettings(env)) {
        out.write('Service Bus is configured: running the worker against it (no local stand-ins).\n');
        return { embedded: false, totals: await runWorkerCommand(env, {}, logger, signal) };
    }
    const started = Date.now();
    const standIns = await startLocalStandIns({ fallbackToEphemeral: true, logger });
    try {
        useLocalIdentity(standIns);
        const settings = { ...env, ...standIns.settings };
        const queue = standIns.settings.COMPLIANCE_QUEUE_NAME!;
        out.write(
            [
                'No Service Bus configured: running on embedded local stand-ins.',
                `  Service Bus emulator  ${standIns.serviceBus.connectionString}`,
                `  Graph stand-in        ${standIns.graph.baseUrl}`,
                `  Managed identity      ${standIns.identity.endpoint}`,
                '',
            ].join('\n'),
        );
        const lines = readFileSync(samplesFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
        await publishSamples(standIns.serviceBus.connectionString, queue, lines);
        out.write(`Published ${lines.length} sample aggregates to '${queue}'.\n`);

        let reported = false;
        const report = (t: WorkerTotals) => {
            const settled = t.completed + Object.values(t.deadLettered).reduce((a, b) => a + b, 0);
            if (reported || settled < lines.length) return;
            reported = true;
            const dead = standIns.serviceBus.deadLetters(queue);
            out.write(
                [
                    '',
                    `Samples ingested in ${((Date.now() - started) / 1000).toFixed(1)} s:`,
                    `  ${standIns.graph.stats().entities} entities written to the Graph stand-in (${t.completed} messages completed)`,
                    `  ${dead.length} dead-lettered:`,
                    ...dead.map((d) => `    ${d.deadLetterReason ?? '?'}: ${d.deadLetterErrorDescription ?? ''}`),
                    '',
                    'Still ingesting; send more with:',
                    `  ServiceBusConnection='${standIns.serviceBus.connectionString}' npx compliance-ingest send samples/aggregates.ndjson --skip-invalid`,
                    'Ctrl-C stops.',
                    '',
                ].join('\n'),
            );
        };
        const totals = await runWorkerCommand(settings, {}, logger, signal, report);
        return { embedded: true, totals };
    } finally {
        await standIns.close();
    }
}
