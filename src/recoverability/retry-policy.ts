import type { InboundMessage } from '../message';
import { clampDescription, type DeadLetterProperties, type RetryOutcome } from '../outcome';

/** When and how often a message that failed for a transient or systemic cause comes back. */
export interface RetryPolicy {
    /** Attempts in all, the first delivery included, before `RetriesExhausted`. */
    readonly maxAttempts: number;
    /** Total time since the first failure before `RetriesExhausted`. */
    readonly maxTotalMs: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    /** ± share of each delay drawn at random, so a burst of failures does not come back as a burst. */
    readonly jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = {
    maxAttempts: 12,
    maxTotalMs: 24 * 60 * 60 * 1000,
    baseDelayMs: 10_000,
    maxDelayMs: 30 * 60 * 1000,
    jitter: 0.2,
};

/** Application properties that carry the attempt bookkeeping on a rescheduled copy. */
export const retryProperty = {
    attempt: 'ci-attempt',
    firstFailureAt: 'ci-first-failure-at',
    lastFailureAt: 'ci-last-failure-at',
    lastErrorCode: 'ci-last-error-code',
    originalEnqueuedAt: 'ci-original-enqueued-at',
    originalMessageId: 'ci-original-message-id',
    history: 'ci-attempt-history',
} as const;

export type RetryDecision =
    | {
          readonly kind: 'reschedule';
          readonly attempt: number;
          readonly notBefore: Date;
          /** Deterministic per attempt, so a copy scheduled twice (crash before complete) is one message. */
          readonly messageId: string;
          readonly applicationProperties: DeadLetterProperties;
      }
    | { readonly kind: 'exhausted'; readonly description: string; readonly properties: DeadLetterProperties };

const HISTORY_LIMIT = 600;

function readNumber(v: unknown): number | undefined {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
    return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function readTime(v: unknown): number | undefined {
    if (v instanceof Date) return v.getTime();
    if (typeof v !== 'string') return undefined;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
}

/** Exponential backoff with jitter and a cap; Graph's own Retry-After wins when it is longer. */
export function backoffMs(attempt: number, policy: RetryPolicy, retryAfterMs: number | undefined, random: () => number): number {
    const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    const jittered = exponential * (1 - policy.jitter + 2 * policy.jitter * random());
    return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Decide what happens to a message whose write must be retried: a delayed copy, or `RetriesExhausted`
 * once the attempts or the time since the first failure are spent. Pure: the host carries it out.
 */
export function decideRetry(
    message: InboundMessage,
    outcome: RetryOutcome,
    policy: RetryPolicy,
    now: number,
    random: () => number = Math.random,
): RetryDecision {
    const props = message.applicationProperties ?? {};
    // The failed attempt is the previous bookkeeping plus one; broker redeliveries of the same copy count too.
    const attempt = (readNumber(props[retryProperty.attempt]) ?? 0) + 1 + (message.deliveryCount ?? 0);
    const firstFailureAt = readTime(props[retryProperty.firstFailureAt]) ?? now;
    const originalEnqueuedAt = readTime(props[retryProperty.originalEnqueuedAt]) ?? message.enqueuedTimeUtc?.getTime() ?? now;
    const originalMessageId = (props[retryProperty.originalMessageId] as string | undefined) ?? message.messageId ?? 'unknown';
    const entry = `${attempt}@${new Date(now).toISOString()}:${outcome.errorCode}${outcome.graphStatus ? `(${outcome.graphStatus})` : ''}`;
    const previous = typeof props[retryProperty.history] === 'string' ? (props[retryProperty.history] as string) : '';
    let history = previous ? `${previous};${entry}` : entry;
    // Keep the newest entries when the history grows past what a property should hold.
    while (history.length > HISTORY_LIMIT && history.includes(';')) history = history.slice(history.indexOf(';') + 1);

    const bookkeeping = {
        [retryProperty.attempt]: attempt,
        [retryProperty.firstFailureAt]: new Date(firstFailureAt).toISOString(),
        [retryProperty.lastFailureAt]: new Date(now).toISOString(),
        [retryProperty.lastErrorCode]: outcome.errorCode,
        [retryProperty.originalEnqueuedAt]: new Date(originalEnqueuedAt).toISOString(),
        [retryProperty.originalMessageId]: originalMessageId,
        [retryProperty.history]: history,
    };

    if (attempt >= policy.maxAttempts || now - firstFailureAt >= policy.maxTotalMs) {
        const spent = attempt >= policy.maxAttempts ? `${attempt} attempts` : `${Math.round((now - firstFailureAt) / 1000)} s since the first failure`;
        return {
            kind: 'exhausted',
            description: clampDescription(`Retries exhausted after ${spent}. Last error ${outcome.errorCode}: ${outcome.description}. History: ${history}`),
            properties: {
                ...bookkeeping,
                errorCode: outcome.errorCode,
                attempt,
                firstFailureAt: bookkeeping[retryProperty.firstFailureAt],
                lastFailureAt: bookkeeping[retryProperty.lastFailureAt],
                ...(outcome.graphStatus ? { graphStatus: outcome.graphStatus } : {}),
                ...(outcome.graphRequestId ? { graphRequestId: outcome.graphRequestId } : {}),
            },
        };
    }
    return {
        kind: 'reschedule',
        attempt,
        notBefore: new Date(now + backoffMs(attempt, policy, outcome.retryAfterMs, random)),
        messageId: `${originalMessageId.slice(0, 100)}#r${attempt}`,
        applicationProperties: { ...stringifiable(props), ...bookkeeping },
    };
}

/** Application properties that survive a copy (Service Bus takes strings, numbers, booleans and dates). */
function stringifiable(props: Readonly<Record<string, unknown>>): Record<string, string | number | boolean> {
    const out: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(props)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
        else if (v instanceof Date) out[k] = v.toISOString();
    }
    return out;
}
