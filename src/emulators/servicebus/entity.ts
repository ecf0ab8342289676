import { randomUUID } from 'node:crypto';

import {
    encodeForClient, toBrokerMessage, updateApplicationProperties, type BrokerMessage, type DecodedMessage,
} from './codec';
import type { QueueProperties } from './config';
import { lockLost, messageNotFound } from './faults';

export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

/** A receiver attached to an entity; the broker implements it on a rhea sender link. */
export interface Consumer {
    readonly mode: ReceiveMode;
    /** How many more messages the consumer can take right now (credit not yet used). */
    capacity(): number;
    deliver(payload: Buffer, message: BrokerMessage, lockToken: string | undefined): void;
}

export interface QueueCounts {
    active: number;
    locked: number;
    scheduled: number;
    deferred: number;
    deadLettered: number;
}

export interface DeadLetterDetails {
    reason?: string | undefined;
    description?: string | undefined;
    properties?: Record<string, unknown> | undefined;
}

/** Messages ready for delivery, ordered by sequence number; appends are O(1), returns use a binary-search insert. */
class AvailableMessages {
    private items: (BrokerMessage | undefined)[] = [];
    private head = 0;

    get size(): number {
        return this.items.length - this.head;
    }

    insert(msg: BrokerMessage): void {
        const last = this.items[this.items.length - 1];
        if (this.size === 0 || !last || last.sequenceNumber < msg.sequenceNumber) {
            this.items.push(msg);
            return;
        }
        this.items.splice(this.indexOf(msg.sequenceNumber), 0, msg);
    }

    shift(): BrokerMessage | undefined {
        if (this.size === 0) return undefined;
        const msg = this.items[this.head];
        this.items[this.head++] = undefined;
        // Compact now and then so the array does not grow without bound while draining.
        if (this.head > 1024 && this.head * 2 > this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return msg;
    }

    /** Messages with sequence number >= `from`, at most `count`. */
    from(sequenceNumber: number, count: number): BrokerMessage[] {
        const start = this.indexOf(sequenceNumber);
        return this.items.slice(start, start + count) as BrokerMessage[];
    }

    /** Remove and return every message matching `predicate`. */
    removeWhere(predicate: (msg: BrokerMessage) => boolean): BrokerMessage[] {
        const kept: BrokerMessage[] = [];
        const removed: BrokerMessage[] = [];
        for (const msg of this.values()) (predicate(msg) ? removed : kept).push(msg);
        if (removed.length > 0) {
            this.items = kept;
            this.head = 0;
        }
        return removed;
    }

    *values(): IterableIterator<BrokerMessage> {
        for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
    }

    clear(): void {
        this.items = [];
        this.head = 0;
    }

    /** First index (>= head) whose sequence number is >= `sequenceNumber`. */
    private indexOf(sequenceNumber: number): number {
        let low = this.head;
        let high = this.items.length;
        while (low < high) {
            const mid = (low + high) >>> 1;
            if (this.items[mid]!.sequenceNumber < sequenceNumber) low = mid + 1;
            else high = mid;
        }
        return low;
    }
}

export interface QueueOptions {
    name: string;
    properties: QueueProperties;
    clock?: () => number;
    /** Absent for a dead-letter queue, which never dead-letters further. */
    deadLetterQueue?: Queue;
}

/**
 * One queue (or dead-letter queue) and the states a message moves through: available → locked → completed, back to
 * available (abandon, lock expiry), deferred, scheduled, or dead-lettered.
 */
export class Queue {
    readonly name: string;
    readonly properties: QueueProperties;
    readonly deadLetterQueue: Queue | undefined;
    private readonly clock: () => number;
    private readonly available = new AvailableMessages();
    /** Insertion order is lock-expiry order: every lock (and renewal) lasts lockDuration, and renewal re-inserts. */
    private readonly locked = new Map<string, BrokerMessage>();
    private readonly deferred = new Map<number, BrokerMessage>();
    private readonly scheduled = new Map<number, BrokerMessage>();
    /** MessageId → first seen (epoch ms); insertion order is time order, so pruning stops at the first recent id. */
    private readonly recentMessageIds = new Map<string, number>();
    private readonly consumers: Consumer[] = [];
    private nextConsumer = 0;
    private nextSequenceNumber = 1;
    private earliestExpiry = Infinity;
    private nextScheduledAt = Infinity;
    private pumping = false;

    constructor(options: QueueOptions) {
        this.name = options.name;
        this.properties = options.properties;
        this.clock = options.clock ?? Date.now;
        this.deadLetterQueue = options.deadLetterQueue;
    }

    get isDeadLetterQueue(): boolean {
        return this.deadLetterQueue === undefined;
    }

    addConsumer(consumer: Consumer): void {
        this.consumers.push(consumer);
        this.pump();
    }

    removeConsumer(consumer: Consumer): void {
        const index = this.consumers.indexOf(consumer);
        if (index >= 0) this.consumers.splice(index, 1);
    }

    /** Turn decoded client messages into queue messages with fresh sequence numbers (not yet stored). */
    prepare(decoded: DecodedMessage[]): BrokerMessage[] {
        const now = this.clock();
        return decoded.map((msg) => toBrokerMessage(msg, {
            now,
            sequenceNumber: this.nextSequenceNumber++,
            defaultTimeToLiveMs: this.properties.defaultMessageTimeToLiveMs,
        }));
    }

    /** Store prepared messages; duplicates within the detection window are dropped silently, as Service Bus does. */
    enqueue(messages: BrokerMessage[]): void {
        for (const msg of messages) {
            if (this.isDuplicate(msg.messageId)) continue;
            if (msg.state === 'scheduled') {
                this.scheduled.set(msg.sequenceNumber, msg);
                this.nextScheduledAt = Math.min(this.nextScheduledAt, msg.scheduledAt ?? 0);
            } else {
                this.makeAvailable(msg);
            }
        }
        this.pump();
    }

    cancelScheduled(sequenceNumbers: number[]): void {
        for (const seq of sequenceNumbers) this.scheduled.delete(seq);
    }

    /** Hand available messages to consumers with capacity, round-robin. */
    pump(): void {
        if (this.pumping) return;
        this.pumping = true;
        try {
            let idle = 0;
            while (this.available.size > 0 && idle < this.consumers.length) {
                const consumer = this.consumers[this.nextConsumer++ % this.consumers.length]!;
                if (consumer.capacity() <= 0) {
                    idle++;
                    continue;
                }
                const msg = this.takeNext();
                if (!msg) break;
                idle = 0;
                if (consumer.mode === 'peekLock') {
                    const lockToken = this.lock(msg);
                    consumer.deliver(this.encodeLocked(msg, lockToken), msg, lockToken);
                } else {
                    consumer.deliver(encodeForClient(msg), msg, undefined);
                    msg.deliveryCount++;
                }
            }
        } finally {
            this.pumping = false;
        }
    }

    complete(lockToken: string): void {
        this.unlock(lockToken);
    }

    abandon(lockToken: string, propertiesToModify?: Record<string, unknown>): void {
        const msg = this.unlock(lockToken);
        updateApplicationProperties(msg, propertiesToModify);
        this.returnAfterLock(msg);
        this.pump();
    }

    defer(lockToken: string, propertiesToModify?: Record<string, unknown>): void {
        const msg = this.unlock(lockToken);
        updateApplicationProperties(msg, propertiesToModify);
        msg.state = 'deferred';
        this.deferred.set(msg.sequenceNumber, msg);
    }

    deadLetter(lockToken: string, details: DeadLetterDetails): void {
        this.moveToDeadLetterQueue(this.unlock(lockToken), details);
    }

    /** Extend a lock by the queue's lock duration; returns the new expiry. */
    renewLock(lockToken: string): number {
        const msg = this.lockedMessage(lockToken);
        this.locked.delete(lockToken);
        msg.lockedUntil = this.clock() + this.properties.lockDurationMs;
        this.locked.set(lockToken, msg);
        return msg.lockedUntil;
    }

    /** Undo a delivery that never reached the consumer (its link closed first): no delivery attempt is counted. */
    release(lockToken: string): void {
        const msg = this.locked.get(lockToken);
        if (!msg) return;
        this.locked.delete(lockToken);
        msg.lockToken = undefined;
        msg.deliveryCount = Math.max(0, msg.deliveryCount - 1);
        this.returnToState(msg);
        this.pump();
    }

    /** Put back a receive-and-delete message that never reached the consumer. */
    restore(msg: BrokerMessage): void {
        msg.deliveryCount = Math.max(0, msg.deliveryCount - 1);
        this.makeAvailable(msg);
        this.pump();
    }

    /** Fetch deferred messages by sequence number; peekLock locks them, receiveAndDelete removes them. */
    receiveDeferred(sequenceNumbers: number[], mode: ReceiveMode): { payload: Buffer; lockToken?: string }[] {
        const now = this.clock();
        for (const seq of sequenceNumbers) {
            const msg = this.deferred.get(seq);
            if (msg && msg.expiresAt <= now) {
                this.deferred.delete(seq);
                this.expire(msg);
            }
            if (!this.deferred.has(seq)) throw messageNotFound(seq);
        }
        return sequenceNumbers.map((seq) => {
            const msg = this.deferred.get(seq)!;
            this.deferred.delete(seq);
            if (mode === 'receiveAndDelete') {
                const payload = encodeForClient(msg);
                return { payload };
            }
            const lockToken = this.lock(msg);
            return { payload: this.encodeLocked(msg, lockToken), lockToken };
        });
    }

    /** Messages in any state with sequence number >= `from`, in sequence order (the peek operation). */
    peek(from: number, count: number): Buffer[] {
        const others = [...this.locked.values(), ...this.deferred.values(), ...this.scheduled.values()]
            .filter((msg) => msg.sequenceNumber >= from);
        return [...this.available.from(from, count), ...others]
            .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
            .slice(0, count)
            .map((msg) => encodeForClient(msg));
    }

    /** Periodic housekeeping: expired locks, due scheduled messages, expired messages, old duplicate-detection ids. */
    sweep(): void {
        const now = this.clock();
        for (const [lockToken, msg] of this.locked) {
            if (msg.lockedUntil > now) break;
            this.locked.delete(lockToken);
            msg.lockToken = undefined;
            this.returnAfterLock(msg);
        }
        if (now >= this.nextScheduledAt) this.activateScheduled(now);
        if (now >= this.earliestExpiry) {
            this.earliestExpiry = Infinity;
            for (const msg of this.available.removeWhere((m) => m.expiresAt <= now)) this.expire(msg);
            for (const msg of this.available.values()) this.earliestExpiry = Math.min(this.earliestExpiry, msg.expiresAt);
        }
        const window = this.properties.duplicateDetectionHistoryTimeWindowMs;
        for (const [id, seenAt] of this.recentMessageIds) {
            if (seenAt + window > now) break;
            this.recentMessageIds.delete(id);
        }
        this.pump();
    }

    counts(): QueueCounts {
        return {
            active: this.available.size,
            locked: this.locked.size,
            scheduled: this.scheduled.size,
            deferred: this.deferred.size,
            deadLettered: this.deadLetterQueue ? this.deadLetterQueue.size() : 0,
        };
    }

    /** Every message held, in any state, in sequence order. */
    messages(): BrokerMessage[] {
        return [...this.available.values(), ...this.locked.values(), ...this.deferred.values(), ...this.scheduled.values()]
            .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    }

    /** Drop all messages and detection history; declarations and attached consumers stay. */
    purge(): void {
        this.available.clear();
        this.locked.clear();
        this.deferred.clear();
        this.scheduled.clear();
        this.recentMessageIds.clear();
        this.earliestExpiry = Infinity;
        this.nextScheduledAt = Infinity;
        this.deadLetterQueue?.purge();
    }

    private size(): number {
        return this.available.size + this.locked.size + this.deferred.size + this.scheduled.size;
    }

    private activateScheduled(now: number): void {
        this.nextScheduledAt = Infinity;
        for (const [seq, msg] of this.scheduled) {
            const due = msg.scheduledAt ?? 0;
            if (due > now) {
                this.nextScheduledAt = Math.min(this.nextScheduledAt, due);
                continue;
            }
            this.scheduled.delete(seq);
            msg.state = 'active';
            msg.scheduledAt = undefined;
            this.makeAvailable(msg);
        }
    }

    private isDuplicate(messageId: string): boolean {
        if (!this.properties.requiresDuplicateDetection) return false;
        const now = this.clock();
        const seenAt = this.recentMessageIds.get(messageId);
        if (seenAt !== undefined && seenAt + this.properties.duplicateDetectionHistoryTimeWindowMs > now) return true;
        this.recentMessageIds.delete(messageId);
        this.recentMessageIds.set(messageId, now);
        return false;
    }

    private makeAvailable(msg: BrokerMessage): void {
        this.available.insert(msg);
        if (!this.isDeadLetterQueue) this.earliestExpiry = Math.min(this.earliestExpiry, msg.expiresAt);
    }

    /** Next deliverable message; expired ones met on the way are expired (dead-lettered or dropped). */
    private takeNext(): BrokerMessage | undefined {
        const now = this.clock();
        for (let msg = this.available.shift(); msg; msg = this.available.shift()) {
            if (this.isDeadLetterQueue || msg.expiresAt > now) return msg;
            this.expire(msg);
        }
        return undefined;
    }

    private lock(msg: BrokerMessage): string {
        const lockToken = randomUUID();
        msg.lockToken = lockToken;
        msg.lockedUntil = this.clock() + this.properties.lockDurationMs;
        this.locked.set(lockToken, msg);
        return lockToken;
    }

    /** Encode with the lock details, then count the delivery attempt (the header carries earlier attempts only). */
    private encodeLocked(msg: BrokerMessage, lockToken: string): Buffer {
        const payload = encodeForClient(msg, { lockToken, lockedUntil: msg.lockedUntil });
        msg.deliveryCount++;
        return payload;
    }

    private lockedMessage(lockToken: string): BrokerMessage {
        const msg = this.locked.get(lockToken);
        if (!msg || msg.lockedUntil <= this.clock()) throw lockLost();
        return msg;
    }

    private unlock(lockToken: string): BrokerMessage {
        const msg = this.lockedMessage(lockToken);
        this.locked.delete(lockToken);
        msg.lockToken = undefined;
        return msg;
    }

    /** After abandon or lock expiry: dead-letter once MaxDeliveryCount attempts are used up, else make it receivable again. */
    private returnAfterLock(msg: BrokerMessage): void {
        if (!this.isDeadLetterQueue && msg.deliveryCount >= this.properties.maxDeliveryCount) {
            this.moveToDeadLetterQueue(msg, {
                reason: 'MaxDeliveryCountExceeded',
                description: `Message could not be consumed after ${this.properties.maxDeliveryCount} delivery attempts.`,
            });
            return;
        }
        this.returnToState(msg);
    }

    private returnToState(msg: BrokerMessage): void {
        if (msg.state === 'deferred') this.deferred.set(msg.sequenceNumber, msg);
        else this.makeAvailable(msg);
    }

    private expire(msg: BrokerMessage): void {
        if (this.properties.deadLetteringOnMessageExpiration) {
            this.moveToDeadLetterQueue(msg, { reason: 'TTLExpiredException', description: 'The message expired and was dead lettered.' });
        }
    }

    private moveToDeadLetterQueue(msg: BrokerMessage, details: DeadLetterDetails): void {
        const target = this.deadLetterQueue;
        if (!target) {
            // Dead-lettering from the dead-letter queue keeps the message there, with the new details.
            updateApplicationProperties(msg, deadLetterProperties(details));
            this.returnToState(msg);
            this.pump();
            return;
        }
        msg.state = 'active';
        msg.lockToken = undefined;
        updateApplicationProperties(msg, deadLetterProperties(details));
        target.makeAvailable(msg);
        target.pump();
    }
}

function deadLetterProperties({ reason, description, properties }: DeadLetterDetails): Record<string, unknown> {
    const updates: Record<string, unknown> = { ...properties };
    if (reason !== undefined) updates.DeadLetterReason = reason;
    if (description !== undefined) updates.DeadLetterErrorDescription = description;
    return updates;
}
