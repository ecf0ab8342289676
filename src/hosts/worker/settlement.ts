import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

import { SettlementError } from '../../errors';
import type { BrokerSettlement } from '../../recoverability/delayed-retry';

/**
 * Keeps dispositions with different outcomes out of one AMQP frame. rhea 3.0.5 (under @azure/service-bus 7.9.5)
 * merges the dispositions of consecutive deliveries settled in the same tick into one range, and skips the outcome
 * comparison for the first pair of a range: a dead-letter settled right after a complete would be completed, and
 * lost. Completes all carry the same outcome and may share a frame; any other disposition goes alone, after
 * every disposition before it has been answered.
 */
export class DispositionOrder {
    private readonly completes = new Set<Promise<unknown>>();
    private exclusive: Promise<void> = Promise.resolve();

    async complete<T>(op: () => Promise<T>): Promise<T> {
        await this.exclusive;
        const pending = op();
        this.completes.add(pending);
        try {
            return await pending;
        } finally {
            this.completes.delete(pending);
        }
    }

    async alone<T>(op: () => Promise<T>): Promise<T> {
        const previous = this.exclusive;
        let release!: () => void;
        this.exclusive = new Promise<void>((resolve) => (release = resolve));
        try {
            await previous;
            await Promise.allSettled([...this.completes]);
            return await op();
        } finally {
            release();
        }
    }
}

/** A settlement the broker never answers (connection lost mid-disposition) must not stall the receive loop. */
export const settleTimeoutMs = 15_000;

function withTimeout<T>(op: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Service Bus within ${ms} ms; the lock will lapse and the message return`)), ms);
    });
    return Promise.race([op, timeout]).finally(() => clearTimeout(timer));
}

/** Settlement mechanics over a GA `@azure/service-bus` peekLock receiver. */
export function receiverSettlement(receiver: ServiceBusReceiver, timeoutMs = settleTimeoutMs): BrokerSettlement<ServiceBusReceivedMessage> {
    const order = new DispositionOrder();
    const guard = async (action: string, op: () => Promise<void>) => {
        try {
            await withTimeout(op(), timeoutMs);
        } catch (err) {
            throw new SettlementError(action, err);
        }
    };
    return {
        complete: (m) => order.complete(() => guard('complete', () => receiver.completeMessage(m))),
        deadLetter: (m, reason, description, properties) =>
            order.alone(() =>
                guard('deadLetter', () =>
                    receiver.deadLetterMessage(m, { ...properties, deadLetterReason: reason, deadLetterErrorDescription: description }),
                ),
            ),
        abandon: (m, properties) => order.alone(() => guard('abandon', () => receiver.abandonMessage(m, properties))),
    };
}
