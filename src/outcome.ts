/** The stable reason codes we dead-letter with. Documented in the README; never rename one. */
export const deadLetterReasons = [
    'MalformedBody',
    'SchemaViolation',
    'MessageTooLarge',
    'GraphRejected',
    'RetriesExhausted',
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];

/** Application properties stamped on a dead-lettered message, so tooling can filter without parsing text. */
export type DeadLetterProperties = Readonly<Record<string, string | number | boolean>>;

/** How a write ended when the message is done. */
export type WriteResult =
    | 'created' // 201
    | 'updated' // 409 → GET → older → PATCH
    | 'unchanged' // 409 → GET → same or newer refresh already stored (duplicate or stale redelivery)
    | 'superseded'; // a newer aggregate for the same entity id in the same batch won

export interface CompleteOutcome {
    readonly kind: 'complete';
    readonly write: WriteResult;
    readonly entityId: string;
    readonly graphRequestId?: string;
}

export interface DeadLetterOutcome {
    readonly kind: 'deadLetter';
    readonly reason: DeadLetterReason;
    /** ≤ 1024 characters, no secrets, never the whole body. */
    readonly description: string;
    readonly properties: DeadLetterProperties;
    readonly entityId?: string;
}

export interface RetryOutcome {
    readonly kind: 'retry';
    /** e.g. `GraphThrottled`, `GraphUnavailable`, `GraphForbidden`, `TokenUnavailable`, `DeadlineExceeded`. */
    readonly errorCode: string;
    readonly description: string;
    /** A failure of configuration or of the service, not of this message (401, 403, 404 on the collection, 405, 501, identity). */
    readonly systemic: boolean;
    readonly retryAfterMs?: number;
    readonly graphStatus?: number;
    readonly graphRequestId?: string;
    readonly entityId?: string;
}

export type Outcome = CompleteOutcome | DeadLetterOutcome | RetryOutcome;

export const MAX_DESCRIPTION_LENGTH = 1024;

/** Clamp a description to Service Bus' practical limit, marking the cut. */
export function clampDescription(text: string): string {
    return text.length <= MAX_DESCRIPTION_LENGTH ? text : `${text.slice(0, MAX_DESCRIPTION_LENGTH - 1)}…`;
}
