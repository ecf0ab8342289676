/** AMQP error conditions the Service Bus SDK maps to its error codes (see core-amqp's ConditionErrorNameMapper). */
export const conditions = {
    entityNotFound: 'amqp:not-found',
    lockLost: 'com.microsoft:message-lock-lost',
    messageNotFound: 'com.microsoft:message-not-found',
    sizeExceeded: 'amqp:link:message-size-exceeded',
    notImplemented: 'amqp:not-implemented',
    notAllowed: 'amqp:not-allowed',
    deadLetter: 'com.microsoft:dead-letter',
} as const;

/** A failure answered to the client as an AMQP error (link detach, rejected disposition or management status). */
export class ServiceBusFault extends Error {
    constructor(
        readonly condition: string,
        readonly description: string,
        /** Management status code for this fault. */
        readonly statusCode: number,
    ) {
        super(description);
        this.name = 'ServiceBusFault';
    }
}

/** core-amqp recognises MessagingEntityNotFound only by this description text, not by the condition alone. */
export function entityNotFound(path: string): ServiceBusFault {
    return new ServiceBusFault(conditions.entityNotFound, `The messaging entity '${path}' could not be found.`, 404);
}

export function lockLost(): ServiceBusFault {
    return new ServiceBusFault(
        conditions.lockLost,
        'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
        410,
    );
}

export function messageNotFound(sequenceNumber: number): ServiceBusFault {
    return new ServiceBusFault(conditions.messageNotFound, `Failed to retrieve the message with sequence number ${sequenceNumber}.`, 404);
}
