import type { ServiceBusMessage } from '@azure/service-bus';

import { ensureError, redact } from '../errors';
import type { Logger } from '../log';
import type { InboundMessage } from '../message';
import type { DeadLetterProperties, DeadLetterReason } from '../outcome';
import type { RetryPlan, Settlement } from '../settlement';

/** What a host's broker connection can do with a received message (the mechanism, no policy). */
export interface BrokerSettlement<M> {
    complete(message: M): Promise<void>;
    deadLetter(message: M, reason: DeadLetterReason, description: string, properties: DeadLetterProperties): Promise<void>;
    abandon(message: M, properties?: DeadLetterProperties): Promise<void>;
}

/** Sends a copy to the queue for later (`ServiceBusSender.scheduleMessages` fits). */
export interface Rescheduler {
    scheduleMessages(message: ServiceBusMessage, scheduledEnqueueTimeUtc: Date): Promise<unknown>;
}

/** The copy's body as bytes, whatever form the host delivered the original in. */
export function bodyBytes(body: unknown): Buffer {
    if (Buffer.isBuffer(body)) return body;
    if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (typeof body === 'string') return Buffer.from(body, 'utf8');
    return Buffer.from(JSON.stringify(body) ?? '', 'utf8');
}

export function copyFor(message: InboundMessage, plan: RetryPlan): ServiceBusMessage {
    return {
        body: bodyBytes(message.body),
        contentType: message.contentType ?? 'application/json',
        messageId: plan.decision.messageId,
        applicationProperties: { ...plan.decision.applicationProperties },
    };
}

/**
 * Delayed retries: schedule a copy at the backoff time, then complete the original. If scheduling fails
 * the original is abandoned instead, so it is never lost; a crash between the two steps can only
 * duplicate, and the copy's deterministic message id plus the idempotent write absorb that.
 */
export function withDelayedRetries<M>(broker: BrokerSettlement<M>, rescheduler: Rescheduler | undefined, logger: Logger): Settlement<M> {
    return {
        complete: (m) => broker.complete(m),
        deadLetter: (m, reason, description, properties) => broker.deadLetter(m, reason, description, properties),
        async retry(m, plan) {
            if (rescheduler) {
                try {
                    await rescheduler.scheduleMessages(copyFor(plan.message, plan), plan.decision.notBefore);
                } catch (err) {
                    logger.log('warn', 'retry.schedule_failed', {
                        messageId: plan.message.messageId,
                        fallback: 'abandon',
                        error: redact(ensureError(err).message),
                    });
                    return broker.abandon(m, { 'ci-last-error-code': plan.outcome.errorCode });
                }
                return broker.complete(m);
            }
            return broker.abandon(m, { 'ci-last-error-code': plan.outcome.errorCode });
        },
    };
}
