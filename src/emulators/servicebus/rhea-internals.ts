/**
 * The only place that touches rhea's private fields. rhea is a client-first library: acting as a
 * Service Bus broker needs control over credit, drain replies, settlement and attach fields that its
 * typings do not expose. Every access below is specific to rhea 3.0.5, which package.json pins exactly
 * (a test asserts the installed version).
 */
import { message as rheaMessage } from 'rhea';
import type { Delivery, Sender, link as Link } from 'rhea';

export const rheaVersionReliedOn = '3.0.5';

interface AttachFields {
    snd_settle_mode?: number;
    rcv_settle_mode?: number;
    max_message_size?: number;
}

/** Private shape of rhea's Sender (lib/link.js) and its session's Outgoing buffer (lib/session.js). */
interface SenderInternals {
    credit: number;
    delivery_count: number;
    _draining: boolean;
    _drained: boolean;
    _get_drain: () => boolean;
    local: { attach: AttachFields };
    session: { outgoing: { next_pending_delivery: number } };
}

interface DeliveryInternals {
    id: number;
    link: { session: { outgoing: { next_pending_delivery: number } } };
    remote_settled: boolean;
}

/** Outcome constructors exist on rhea's `message` object but are missing from its typings. */
interface OutcomeFactories {
    accepted(): { described(): unknown };
    rejected(fields: object): { described(): unknown };
    modified(fields: object): { described(): unknown };
}

const outcomes = rheaMessage as unknown as OutcomeFactories;

export const outcome = {
    accepted: (): unknown => outcomes.accepted().described(),
    rejected: (error?: { condition: string; description: string }): unknown => outcomes.rejected(error ? { error } : {}).described(),
    modified: (fields: object): unknown => outcomes.modified(fields).described(),
};

/** Set attach fields on a link we answer, before rhea writes our attach frame (it does so on the next tick). */
export function setAttachFields(link: Link, fields: AttachFields): void {
    Object.assign((link as unknown as SenderInternals).local.attach, fields);
}

/** Credit the consumer granted that rhea has not yet spent; rhea only decrements it when a transfer is written. */
export function linkCredit(sender: Sender): number {
    return (sender as unknown as SenderInternals).credit;
}

/** True once rhea has written the delivery's transfer frame (deliveries queued behind missing credit are not). */
export function isTransferred(delivery: Delivery): boolean {
    const d = delivery as unknown as DeliveryInternals;
    return d.id < d.link.session.outgoing.next_pending_delivery;
}

export function isDraining(sender: Sender): boolean {
    return (sender as unknown as SenderInternals)._draining;
}

/**
 * rhea answers a drain request only while credit remains; when transfers used it all, no `drain=true` flow goes out and
 * the Service Bus SDK closes the link after its drain timeout. Replace `_get_drain` so that a drain is always answered:
 * the unused credit is consumed (advancing delivery-count) and the drain is reported exactly once.
 */
export function answerEveryDrain(sender: Sender): void {
    const s = sender as unknown as SenderInternals;
    s._get_drain = () => {
        if (!(s._draining && s._drained)) return false;
        s.delivery_count += s.credit;
        s.credit = 0;
        s._draining = false;
        return true;
    };
}

/**
 * Settle a delivery the consumer disposed of unsettled (rcv-settle-mode second). rhea frees outgoing slots only when
 * both sides settled, so mark the remote side settled too; otherwise the session buffer fills and the link stalls.
 */
export function settleFromBroker(delivery: Delivery, state: unknown): void {
    delivery.update(true, state);
    (delivery as unknown as DeliveryInternals).remote_settled = true;
}
