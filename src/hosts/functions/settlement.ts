/**
 * Settlement over the Functions SDK binding (`@azure/functions-extensions-servicebus`), and the ONE place
 * that knows about that preview package's quirks. The package version is pinned exactly in package.json because
 * the dead-letter workaround below reaches into a private field.
 *
 * Workarounds for 0.2.0-preview (the only version on our registry; see docs/functions-host.md):
 * - Dead-letter reason/description: the package sends them as bare strings, but the proto fields are
 *   `google.protobuf.StringValue`, so every dead-letter with a reason fails with `object expected` (fixed in 0.4.0).
 *   We call the package's private gRPC client with `{ value }` wrappers instead.
 * - `propertiesToModify` must be the bytes of an AMQP map in 0.2.x (an object from 0.3.x): `encodeAmqpMap` below.
 * - `deliveryCount`, `sequenceNumber` and `enqueuedTimeUtc` are lost by its decoder (fixed in 0.3.1): see messages.ts.
 * - `messages` is a single object or an array depending on cardinality (always an array from 0.3.1): see messages.ts.
 *
 * Dropping them once `@azure/functions-extensions-servicebus` >= 0.4.0 is installable:
 * 1. Here: `deadLetter` becomes `actions.deadletter(m, properties, reason, description)` and `abandon` becomes
 *    `actions.abandon(m, properties)`, with `properties` as a plain object; delete `encodeAmqpMap` and `privateClientOf`.
 * 2. messages.ts: take deliveryCount/sequenceNumber/enqueuedTimeUtc from the message itself and delete the
 *    triggerMetadata lookup; `messages` is always an array; the body arrives as a raw Buffer (the pipeline's
 *    decoder already accepts that).
 * 3. package.json: bump the exact version; drop `@types/minimist` once the package no longer imports minimist; keep
 *    the `@azure/functions-extensions-base` override while `@azure/functions` and the package want different bases.
 * The canary test in test/hosts/functions/settlement.test.ts fails once the package's own dead-letter works.
 */
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import * as rhea from 'rhea';

import { SettlementError } from '../../errors';
import type { DeadLetterProperties } from '../../outcome';
import type { BrokerSettlement } from '../../recoverability/delayed-retry';

export type ServiceBusMessageActions = ServiceBusMessageContext['actions'];

/** The request `Settlement.Deadletter` really expects (settlement.proto in the package's dist). */
interface DeadletterRequest {
    readonly locktoken: string;
    readonly propertiesToModify: Uint8Array;
    readonly deadletterReason: { readonly value: string };
    readonly deadletterErrorDescription: { readonly value: string };
}

interface SettlementGrpcClient {
    deadletter(request: DeadletterRequest, callback: (error: Error | null) => void): void;
}

/** rhea's AMQP encoder; its typings leave it off the `types` object. */
interface AmqpWriter {
    write(value: rhea.Typed): void;
    toBuffer(): Buffer;
}

/** The bytes of an AMQP map, which is what the host decodes `propertiesToModify` from. */
function encodeAmqpMap(properties: Readonly<Record<string, string | number | boolean>>): Buffer {
    const writer = new (rhea.types as unknown as { Writer: new () => AmqpWriter }).Writer();
    writer.write(rhea.types.wrap_map(properties));
    return writer.toBuffer();
}

function privateClientOf(actions: ServiceBusMessageActions): SettlementGrpcClient {
    const client = (actions as unknown as { client?: Partial<SettlementGrpcClient> }).client;
    if (typeof client?.deadletter !== 'function') {
        throw new Error('the private Settlement client of @azure/functions-extensions-servicebus is gone; see the note atop this file');
    }
    return client as SettlementGrpcClient;
}

function lockTokenOf(message: ServiceBusReceivedMessage): string {
    if (!message.lockToken) throw new Error('the message has no lock token');
    return message.lockToken;
}

async function settle(action: string, op: () => Promise<void>): Promise<void> {
    try {
        await op();
    } catch (err) {
        throw new SettlementError(action, err);
    }
}

/** The settlement mechanism of the Functions host's Settlement gRPC service (`ctx.actions`). Failures become `SettlementError`. */
export function functionsBroker(actions: ServiceBusMessageActions): BrokerSettlement<ServiceBusReceivedMessage> {
    return {
        complete: (m) => settle('complete', () => actions.complete(m)),
        deadLetter: (m, reason, description, properties: DeadLetterProperties) =>
            settle('deadLetter', () => {
                const request: DeadletterRequest = {
                    locktoken: lockTokenOf(m),
                    propertiesToModify: encodeAmqpMap(properties),
                    deadletterReason: { value: reason },
                    deadletterErrorDescription: { value: description },
                };
                const client = privateClientOf(actions);
                return new Promise<void>((resolve, reject) => client.deadletter(request, (error) => (error ? reject(error) : resolve())));
            }),
        abandon: (m, properties) => settle('abandon', () => actions.abandon(m, properties ? encodeAmqpMap(properties) : undefined)),
    };
}

