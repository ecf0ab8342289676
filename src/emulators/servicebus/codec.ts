/**
 * How broker-held messages are built from what a client sent and encoded for delivery. The properties,
 * application-properties and body sections are encoded once per message (re-encoded only when dead-lettering or
 * abandon changes application properties); only the header and annotations are written per delivery.
 */
import { randomUUID } from 'node:crypto';

import { message as rheaMessage, types } from 'rhea';

/** A message as rhea decodes it: header and properties fields flattened next to the section maps and body. */
export type DecodedMessage = Record<string, unknown>;

/** rhea's Writer exists at runtime but is missing from the `types` typings. */
const { Writer } = types as unknown as { Writer: new () => { write(value: unknown): void; toBuffer(): Buffer } };

/** The batch transfer format: one envelope whose data sections each hold a fully encoded message. */
export const batchMessageFormat = 0x80013700;

export type MessageState = 'active' | 'deferred' | 'scheduled';
const stateCodes: Record<MessageState, number> = { active: 0, deferred: 1, scheduled: 2 };

/** Annotations the broker owns; a sender's values for them are dropped. */
const brokerAnnotations = new Set([
    'x-opt-sequence-number',
    'x-opt-enqueued-time',
    'x-opt-locked-until',
    'x-opt-lock-token',
    'x-opt-message-state',
    'x-opt-enqueue-sequence-number',
]);

const propertyFields = [
    'message_id', 'user_id', 'to', 'subject', 'reply_to', 'correlation_id', 'content_type', 'content_encoding',
    'absolute_expiry_time', 'creation_time', 'group_id', 'group_sequence', 'reply_to_group_id',
] as const;

/** A message held by a queue or its dead-letter queue; the mutable fields describe its current state there. */
export interface BrokerMessage {
    sequenceNumber: number;
    messageId: string;
    enqueuedAt: number;
    /** Epoch ms after which the message expires. */
    expiresAt: number;
    /** The sender's header TTL, echoed back so clients compute `expiresAtUtc`. */
    ttlMs: number | undefined;
    durable: boolean;
    priority: number;
    scheduledAt: number | undefined;
    state: MessageState;
    /** Earlier lock acquisitions; written as the header's delivery-count, so incremented only after encoding. */
    deliveryCount: number;
    lockToken: string | undefined;
    lockedUntil: number;
    annotations: Record<string, unknown>;
    properties: Record<string, unknown>;
    applicationProperties: Record<string, unknown> | undefined;
    body: unknown;
    footer: unknown;
    /** Cached encoding of properties + application properties + body; cleared when application properties change. */
    encodedTail: Buffer | undefined;
}

/** The encoding of a message without header fields starts with this empty header section (rhea 3.0.5 always writes it). */
const emptyHeaderSection = Buffer.from([0x00, 0x53, 0x70, 0x45]);

function encodeTail(msg: BrokerMessage): Buffer {
    if (!msg.encodedTail) {
        const encoded = rheaMessage.encode({
            ...msg.properties,
            application_properties: msg.applicationProperties,
            body: msg.body,
            footer: msg.footer,
        });
        if (!encoded.subarray(0, emptyHeaderSection.length).equals(emptyHeaderSection)) {
            throw new Error('unexpected rhea encoding: expected an empty leading header section');
        }
        msg.encodedTail = encoded.subarray(emptyHeaderSection.length);
    }
    return msg.encodedTail;
}

function messageIdText(id: unknown): string | undefined {
    if (id === undefined || id === null) return undefined;
    if (Buffer.isBuffer(id)) return id.length === 16 ? uuidText(id) : id.toString('hex');
    return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : JSON.stringify(id);
}

export interface EnqueueDefaults {
    now: number;
    sequenceNumber: number;
    defaultTimeToLiveMs: number;
}

/** Build a broker message from a decoded client message; assigns a message id when the sender set none (the SDK needs one). */
export function toBrokerMessage(decoded: DecodedMessage, { now, sequenceNumber, defaultTimeToLiveMs }: EnqueueDefaults): BrokerMessage {
    const properties: Record<string, unknown> = {};
    for (const field of propertyFields) {
        const value: unknown = decoded[field];
        if (value !== undefined && value !== null) properties[field] = value;
    }
    let messageId = messageIdText(properties.message_id);
    if (messageId === undefined) {
        messageId = randomUUID().replace(/-/g, '');
        properties.message_id = messageId;
    }
    const annotations: Record<string, unknown> = {};
    for (const [key, value] of Object.entries((decoded.message_annotations ?? {}) as Record<string, unknown>)) {
        if (!brokerAnnotations.has(key)) annotations[key] = value;
    }
    const scheduled = annotations['x-opt-scheduled-enqueue-time'];
    const scheduledAt = scheduled instanceof Date || typeof scheduled === 'number' ? new Date(scheduled).getTime() : undefined;
    const ttlMs = typeof decoded.ttl === 'number' ? decoded.ttl : undefined;
    const enqueuedAt = scheduledAt !== undefined && scheduledAt > now ? scheduledAt : now;
    return {
        sequenceNumber,
        messageId,
        enqueuedAt,
        expiresAt: enqueuedAt + Math.min(ttlMs ?? defaultTimeToLiveMs, defaultTimeToLiveMs),
        ttlMs,
        durable: decoded.durable === true,
        priority: typeof decoded.priority === 'number' ? decoded.priority : 4,
        scheduledAt: scheduledAt !== undefined && scheduledAt > now ? scheduledAt : undefined,
        state: scheduledAt !== undefined && scheduledAt > now ? 'scheduled' : 'active',
        deliveryCount: 0,
        lockToken: undefined,
        lockedUntil: 0,
        annotations,
        properties,
        applicationProperties: decoded.application_properties as Record<string, unknown> | undefined,
        body: decoded.body,
        footer: decoded.footer,
        encodedTail: undefined,
    };
}

/** Split a batch envelope (format 0x80013700) into its decoded inner messages. */
export function decodeBatch(envelope: Buffer): DecodedMessage[] {
    const body = (rheaMessage.decode(envelope).body ?? {}) as { multiple?: boolean; content?: unknown };
    const parts = body.multiple ? (body.content as Buffer[]) : Buffer.isBuffer(body.content) ? [body.content] : [];
    return parts.map((part) => rheaMessage.decode(part));
}

/** Merge updates into the application properties (abandon/defer `propertiesToModify`, dead-letter reason). */
export function updateApplicationProperties(msg: BrokerMessage, updates: Record<string, unknown> | undefined): void {
    if (!updates || Object.keys(updates).length === 0) return;
    msg.applicationProperties = { ...msg.applicationProperties, ...updates };
    msg.encodedTail = undefined;
}

export interface DeliveryView {
    /** Present for peekLock deliveries and lock-holding management answers. */
    lockToken?: string | undefined;
    lockedUntil?: number | undefined;
}

/** Encode a message as the client sees it: fresh header and broker annotations in front of the stored sections. */
export function encodeForClient(msg: BrokerMessage, view: DeliveryView = {}): Buffer {
    const header: unknown = types.described(types.wrap_ulong(0x70), types.wrap_list([
        types.wrap_boolean(msg.durable),
        types.wrap_ubyte(msg.priority),
        msg.ttlMs === undefined ? null : types.wrap_uint(msg.ttlMs),
        types.wrap_boolean(false),
        types.wrap_uint(msg.deliveryCount),
    ]));
    const annotations: Record<string, unknown> = {
        ...msg.annotations,
        'x-opt-sequence-number': types.wrap_long(msg.sequenceNumber),
        'x-opt-enqueued-time': new Date(msg.enqueuedAt),
        'x-opt-message-state': types.wrap_int(stateCodes[msg.state]),
    };
    if (view.lockToken) {
        annotations['x-opt-lock-token'] = types.wrap_uuid(uuidBytes(view.lockToken));
        annotations['x-opt-locked-until'] = new Date(view.lockedUntil ?? msg.lockedUntil);
    }
    const writer = new Writer();
    writer.write(header);
    writer.write(types.described_nc(types.wrap_ulong(0x72), types.wrap_symbolic_map(annotations)));
    return Buffer.concat([writer.toBuffer(), encodeTail(msg)]);
}

/** Size of the message as a client would send it, for the max-message-size check. */
export function encodedSize(msg: BrokerMessage): number {
    return encodeTail(msg).length;
}

/** Decoded body for inspection: data sections are parsed as JSON when possible (as the SDK does), else a Buffer. */
export function inspectBody(msg: BrokerMessage): unknown {
    const body = msg.body as { typecode?: number; content?: unknown } | undefined;
    if (body && body.typecode === 0x75 && Buffer.isBuffer(body.content)) {
        try {
            return JSON.parse(body.content.toString('utf8')) as unknown;
        } catch {
            return body.content;
        }
    }
    if (body && body.typecode === 0x76) return body.content;
    return body;
}

export function uuidBytes(text: string): Buffer {
    return Buffer.from(text.replace(/-/g, ''), 'hex');
}

export function uuidText(bytes: Buffer): string {
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** .NET Guid byte layout: the first three groups are little-endian. Used for lock tokens in delivery tags. */
function swapGuidGroups(bytes: Buffer): Buffer {
    const out = Buffer.from(bytes);
    out.writeUInt32BE(bytes.readUInt32LE(0), 0);
    out.writeUInt16BE(bytes.readUInt16LE(4), 4);
    out.writeUInt16BE(bytes.readUInt16LE(6), 6);
    return out;
}

export function lockTokenToTag(lockToken: string): Buffer {
    return swapGuidGroups(uuidBytes(lockToken));
}

export function lockTokenFromTag(tag: Buffer | string): string {
    return uuidText(swapGuidGroups(typeof tag === 'string' ? Buffer.from(tag) : tag));
}
