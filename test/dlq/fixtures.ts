import { ServiceBusClient } from '@azure/service-bus';

import { publishAggregates } from '../../src/publish';
import { aggregate, expectedMessageId } from '../publish/fixtures';

export interface Seed {
    readonly i: number;
    readonly reason: string;
    /** The pipeline's `deadLetteredAt` stamp; default now. */
    readonly at?: string;
}

/** Send one aggregate per seed and dead-letter each with its reason, as the pipeline would. */
export async function seedDeadLetters(connectionString: string, queue: string, seeds: readonly Seed[]): Promise<void> {
    const client = new ServiceBusClient(connectionString);
    try {
        await publishAggregates(client.createSender(queue), seeds.map((s) => JSON.stringify(aggregate(s.i))));
        const receiver = client.createReceiver(queue);
        let pending = [...seeds];
        while (pending.length) {
            for (const message of await receiver.receiveMessages(pending.length, { maxWaitTimeInMs: 1_000 })) {
                const seed = pending.find((s) => expectedMessageId(s.i) === message.messageId)!;
                await receiver.deadLetterMessage(message, {
                    deadLetterReason: seed.reason,
                    deadLetterErrorDescription: `aggregate ${seed.i} failed: ${'a long explanation '.repeat(5)}`,
                    deadLetteredAt: seed.at ?? new Date().toISOString(),
                    errorCode: seed.reason,
                });
                pending = pending.filter((s) => s !== seed);
            }
        }
    } finally {
        await client.close();
    }
}
