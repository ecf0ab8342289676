import type { ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';

import type { ComplianceAggregate } from '../contract/aggregate';

/**
 * The message id every publisher uses for an aggregate: `{tenantId}_{compliancePolicyId}_{lastRefreshedDateTime}`
 * from the validated (normalised: lower-case GUIDs, UTC timestamp) aggregate. Re-sending the same refresh gives
 * the same id, so a queue with duplicate detection drops a replayed file.
 */
export function messageIdFor(aggregate: ComplianceAggregate): string {
    return `${aggregate.tenantId}_${aggregate.compliancePolicyId}_${aggregate.lastRefreshedDateTime}`;
}

/** The message for one aggregate; `body` is sent as given (JSON text as bytes, or an object the SDK serialises). */
export function aggregateMessage(body: string | object, aggregate: ComplianceAggregate, scheduledAt?: Date): ServiceBusMessage {
    return {
        body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
        contentType: 'application/json',
        messageId: messageIdFor(aggregate),
        ...(scheduledAt ? { scheduledEnqueueTimeUtc: scheduledAt } : {}),
    };
}

/** A message that does not fit even an empty batch (the namespace's maximum message size). */
export interface OversizedMessage {
    readonly messageId: string;
    readonly description: string;
}

/**
 * Fills size-aware batches (`createMessageBatch` / `tryAddMessage`) and sends each when full. One batch is sent
 * while the next fills, so reading and validating overlap with the network. `sent` counts only messages whose
 * batch the broker accepted, so a failure can report exact partial progress.
 */
export class BatchPublisher {
    sent = 0;
    batches = 0;
    readonly oversized: OversizedMessage[] = [];
    private batch: ServiceBusMessageBatch | undefined;
    private inFlight: Promise<void> | undefined;

    constructor(
        private readonly sender: ServiceBusSender,
        private readonly onSent?: (sent: number) => void,
    ) {}

    /** Add a message to the current batch, sending the batch first when full. False when the message fits no batch at all. */
    async add(message: ServiceBusMessage): Promise<boolean> {
        this.batch ??= await this.sender.createMessageBatch();
        if (this.batch.tryAddMessage(message)) return true;
        if (this.batch.count > 0) {
            await this.dispatch();
            this.batch = await this.sender.createMessageBatch();
            if (this.batch.tryAddMessage(message)) return true;
        }
        this.oversized.push({
            messageId: String(message.messageId),
            description: `the message does not fit in an empty batch (maximum ${this.batch.maxSizeInBytes} bytes)`,
        });
        return false;
    }

    /** Send what is left and wait for every batch. */
    async flush(): Promise<void> {
        await this.dispatch();
        await this.inFlight;
        this.inFlight = undefined;
    }

    private async dispatch(): Promise<void> {
        const batch = this.batch;
        this.batch = undefined;
        // At most one batch in flight: wait for the previous one before sending the next.
        await this.inFlight;
        if (!batch || batch.count === 0) return;
        this.inFlight = this.sender.sendMessages(batch).then(() => {
            this.sent += batch.count;
            this.batches++;
            this.onSent?.(this.sent);
        });
        // Surface a failure at the next await, never as an unhandled rejection in between.
        this.inFlight.catch(() => undefined);
    }
}
