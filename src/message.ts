/** What the pipeline needs from one received Service Bus message, whichever host received it. */
export interface InboundMessage {
    /** As the host delivered it: a Buffer, a string, or an already-parsed value. */
    readonly body: unknown;
    readonly messageId?: string;
    readonly deliveryCount?: number;
    readonly sequenceNumber?: bigint | number;
    readonly enqueuedTimeUtc?: Date;
    readonly contentType?: string;
    readonly applicationProperties?: Readonly<Record<string, unknown>>;
}
