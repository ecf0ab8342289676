/**
 * The AMQP side of the emulator: a rhea container listening on TCP that routes links to `$cbs`, `$management`
 * nodes and queues, turns client transfers into enqueues, credit into deliveries and dispositions into settlements.
 */
import type { AddressInfo, Server, Socket } from 'node:net';

import { create_container } from 'rhea';
import type { Connection, Container, Delivery, EventContext, Message, Receiver, Sender, link as Link } from 'rhea';

import type { Logger } from '../../log';
import { answerCbsRequest, cbsAddress } from './cbs';
import {
    batchMessageFormat, decodeBatch, encodedSize, inspectBody, lockTokenFromTag, lockTokenToTag, type BrokerMessage, type DecodedMessage,
} from './codec';
import type { QueueProperties } from './config';
import { Queue, type Consumer, type QueueCounts, type ReceiveMode } from './entity';
import { conditions, entityNotFound, ServiceBusFault } from './faults';
import { handleManagementRequest } from './management';
import { answerEveryDrain, isDraining, isTransferred, linkCredit, outcome, setAttachFields, settleFromBroker } from './rhea-internals';

const managementSuffix = '/$management';
const deadLetterSuffix = '/$deadletterqueue';
/** How often locks, schedules, TTLs and duplicate-detection history are checked. */
const sweepIntervalMs = 50;

type Route =
    | { kind: 'cbs' }
    | { kind: 'management'; queue: Queue }
    | { kind: 'entity'; queue: Queue; isDeadLetterQueue: boolean }
    | { kind: 'unknown'; path: string };

/** A client receiver link: deliveries go out on our rhea sender; untransferred ones are given back if the link goes. */
class LinkConsumer implements Consumer {
    private unsent: { delivery: Delivery; message: BrokerMessage; lockToken: string | undefined }[] = [];

    constructor(
        readonly sender: Sender,
        readonly queue: Queue,
        readonly mode: ReceiveMode,
    ) {}

    capacity(): number {
        if (!this.sender.is_open()) return 0;
        this.forgetTransferred();
        // rhea spends credit only when it writes a transfer (next tick); deliveries still queued must not be counted twice.
        return linkCredit(this.sender) - this.unsent.length;
    }

    deliver(payload: Buffer, message: BrokerMessage, lockToken: string | undefined): void {
        const delivery = this.sender.send(payload, lockToken ? lockTokenToTag(lockToken) : undefined, 0);
        this.unsent.push({ delivery, message, lockToken });
    }

    /** The link is gone: messages never transferred go back; transferred locked ones keep their lock until it expires. */
    detach(): void {
        this.queue.removeConsumer(this);
        this.forgetTransferred();
        const unsent = this.unsent;
        this.unsent = [];
        for (const { message, lockToken } of unsent) {
            if (lockToken) this.queue.release(lockToken);
            else this.queue.restore(message);
        }
    }

    private forgetTransferred(): void {
        let transferred = 0;
        while (transferred < this.unsent.length && isTransferred(this.unsent[transferred]!.delivery)) transferred++;
        if (transferred > 0) this.unsent.splice(0, transferred);
    }
}

interface ConnectionState {
    consumers: Map<Sender, LinkConsumer>;
    /** `$cbs` and `$management` replies go to the client receiver whose link name or target address equals `reply_to`. */
    replyLinks: Map<string, Sender>;
}

export interface BrokerOptions {
    port: number;
    host: string;
    maxMessageSizeBytes: number;
    defaults: QueueProperties;
    logger: Logger | undefined;
}

export class Broker {
    private readonly container: Container = create_container({ id: 'servicebus-emulator' });
    private readonly queues = new Map<string, Queue>();
    private readonly connections = new Map<Connection, ConnectionState>();
    private readonly routes = new WeakMap<Link, Route>();
    private readonly sockets = new Set<Socket>();
    private server: Server | undefined;
    private sweepTimer: NodeJS.Timeout | undefined;
    port = 0;

    constructor(private readonly options: BrokerOptions) {
        this.registerHandlers();
    }

    async listen(): Promise<void> {
        const server = this.container.listen({
            port: this.options.port,
            host: this.options.host,
            // A large session buffer: peekLock deliveries stay in rhea's buffer until settled, so long-held locks
            // would otherwise block the session (head-of-line) at the default 2048.
            session_buffer_size: 100_000,
            receiver_options: { autoaccept: false, credit_window: 500, max_message_size: this.options.maxMessageSizeBytes },
            sender_options: { treat_modified_as_released: false },
        } as Parameters<Container['listen']>[0]);
        this.server = server;
        server.on('connection', (socket: Socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
            server.once('listening', resolve);
            server.once('error', reject);
        });
        this.port = (server.address() as AddressInfo).port;
        this.sweepTimer = setInterval(() => this.sweep(), sweepIntervalMs);
        this.sweepTimer.unref();
        this.log('info', 'servicebus.emulator.listening', { host: this.options.host, port: this.port });
    }

    declareQueue(name: string, properties: Partial<QueueProperties> = {}): void {
        const existing = this.queues.get(name.toLowerCase());
        if (existing) {
            Object.assign(existing.properties, properties);
            Object.assign(existing.deadLetterQueue!.properties, existing.properties);
            return;
        }
        const resolved = { ...this.options.defaults, ...properties };
        const deadLetterQueue = new Queue({ name: `${name}/$DeadLetterQueue`, properties: { ...resolved } });
        this.queues.set(name.toLowerCase(), new Queue({ name, properties: resolved, deadLetterQueue }));
    }

    queueNames(): string[] {
        return [...this.queues.values()].map((queue) => queue.name);
    }

    counts(name: string): QueueCounts {
        return this.queue(name).counts();
    }

    deadLetters(name: string): {
        messageId: string;
        body: unknown;
        applicationProperties: Record<string, unknown>;
        deadLetterReason?: string;
        deadLetterErrorDescription?: string;
    }[] {
        return this.queue(name).deadLetterQueue!.messages().map((msg) => {
            const applicationProperties = msg.applicationProperties ?? {};
            const reason = applicationProperties.DeadLetterReason;
            const description = applicationProperties.DeadLetterErrorDescription;
            return {
                messageId: msg.messageId,
                body: inspectBody(msg),
                applicationProperties,
                ...(typeof reason === 'string' ? { deadLetterReason: reason } : {}),
                ...(typeof description === 'string' ? { deadLetterErrorDescription: description } : {}),
            };
        });
    }

    reset(): void {
        for (const queue of this.queues.values()) queue.purge();
    }

    dropConnections(): void {
        // Destroying with an error makes rhea see the socket fail ('error'), so it reports the disconnect.
        for (const socket of this.sockets) socket.destroy(new Error('connection dropped by the emulator'));
    }

    async close(): Promise<void> {
        clearInterval(this.sweepTimer);
        this.dropConnections();
        const server = this.server;
        this.server = undefined;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private queue(name: string): Queue {
        const queue = this.queues.get(name.toLowerCase());
        if (!queue) throw entityNotFound(name);
        return queue;
    }

    private sweep(): void {
        for (const queue of this.queues.values()) {
            queue.sweep();
            queue.deadLetterQueue!.sweep();
        }
    }

    private resolve(address: string | undefined): Route {
        const path = (address ?? '').replace(/^sb:\/\/[^/]+\//i, '').replace(/^\//, '');
        const lower = path.toLowerCase();
        if (lower === cbsAddress) return { kind: 'cbs' };
        const isManagement = lower.endsWith(managementSuffix);
        const entityPath = isManagement ? lower.slice(0, -managementSuffix.length) : lower;
        const isDeadLetterQueue = entityPath.endsWith(deadLetterSuffix);
        const queue = this.queues.get(isDeadLetterQueue ? entityPath.slice(0, -deadLetterSuffix.length) : entityPath);
        if (!queue) return { kind: 'unknown', path: isManagement ? path.slice(0, -managementSuffix.length) : path };
        const target = isDeadLetterQueue ? queue.deadLetterQueue! : queue;
        return isManagement ? { kind: 'management', queue: target } : { kind: 'entity', queue: target, isDeadLetterQueue };
    }

    private route(link: Link, address: string | undefined): Route {
        let route = this.routes.get(link);
        if (!route) {
            route = this.resolve(address);
            this.routes.set(link, route);
        }
        return route;
    }

    private state(connection: Connection): ConnectionState {
        let state = this.connections.get(connection);
        if (!state) {
            state = { consumers: new Map(), replyLinks: new Map() };
            this.connections.set(connection, state);
        }
        return state;
    }

    private registerHandlers(): void {
        const c = this.container;
        c.on('receiver_open', (ctx: EventContext) => this.onProducerAttach(ctx.receiver!));
        c.on('sender_open', (ctx: EventContext) => this.onConsumerAttach(ctx.sender!));
        c.on('message', (ctx: EventContext) => this.onTransfer(ctx));
        c.on('sender_flow', (ctx: EventContext) => this.onFlow(ctx.sender!));
        c.on('accepted', (ctx: EventContext) => this.onDisposition(ctx, (q, token) => q.complete(token), outcome.accepted()));
        c.on('modified', (ctx: EventContext) => this.onModified(ctx));
        c.on('rejected', (ctx: EventContext) => this.onRejected(ctx));
        c.on('sender_close', (ctx: EventContext) => this.onConsumerDetach(ctx.connection, ctx.sender!));
        c.on('session_close', (ctx: EventContext) => {
            for (const sender of [...(this.connections.get(ctx.connection)?.consumers.keys() ?? [])]) {
                if (sender.session === ctx.session) this.onConsumerDetach(ctx.connection, sender);
            }
        });
        c.on('connection_close', (ctx: EventContext) => this.onConnectionGone(ctx.connection));
        c.on('disconnected', (ctx: EventContext) => this.onConnectionGone(ctx.connection));
        // Client-initiated link/session/connection errors are normal (e.g. SDK timeouts); without listeners rhea would throw.
        for (const event of ['sender_error', 'receiver_error', 'session_error', 'connection_error', 'error', 'protocol_error']) {
            c.on(event, (arg: EventContext | Error) =>
                this.log('debug', 'servicebus.emulator.peer_error', { event, error: String(describe(arg)) }));
        }
    }

    private onProducerAttach(receiver: Receiver): void {
        const address = receiver.target?.address;
        receiver.set_source({ address: receiver.source?.address });
        receiver.set_target({ address });
        const route = this.route(receiver, address);
        if (route.kind === 'unknown') {
            this.refuse(receiver, entityNotFound(route.path));
        } else if (route.kind === 'entity' && route.isDeadLetterQueue) {
            this.refuse(receiver, new ServiceBusFault(conditions.notAllowed, 'Messages cannot be sent to a dead-letter queue.', 400));
        }
    }

    private onConsumerAttach(sender: Sender): void {
        const address = sender.source?.address;
        sender.set_source({ address });
        sender.set_target({ address: sender.target?.address });
        const route = this.route(sender, address);
        const state = this.state(sender.connection);
        if (route.kind === 'cbs' || route.kind === 'management') {
            state.replyLinks.set(sender.name, sender);
            if (sender.target?.address) state.replyLinks.set(sender.target.address, sender);
            return;
        }
        if (route.kind === 'unknown') {
            this.refuse(sender, entityNotFound(route.path));
            return;
        }
        // Echo the client's settle modes: peekLock asks for rcv-settle-mode second, receiveAndDelete for settled sends.
        const mode: ReceiveMode = sender.rcv_settle_mode !== 1 && sender.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
        const settleModes = mode === 'peekLock' ? { snd_settle_mode: 0, rcv_settle_mode: 1 } : { snd_settle_mode: 1, rcv_settle_mode: 0 };
        setAttachFields(sender, settleModes);
        answerEveryDrain(sender);
        const consumer = new LinkConsumer(sender, route.queue, mode);
        state.consumers.set(sender, consumer);
        route.queue.addConsumer(consumer);
    }

    private refuse(link: Link, fault: ServiceBusFault): void {
        this.log('debug', 'servicebus.emulator.link_refused', { condition: fault.condition, description: fault.description });
        link.close({ condition: fault.condition, description: fault.description });
    }

    private onFlow(sender: Sender): void {
        const consumer = this.connections.get(sender.connection)?.consumers.get(sender);
        if (!consumer) return;
        consumer.queue.pump();
        if (isDraining(sender)) sender.set_drained(true);
    }

    private onTransfer(ctx: EventContext): void {
        const receiver = ctx.receiver!;
        const delivery = ctx.delivery!;
        const route = this.route(receiver, receiver.target?.address);
        if (route.kind === 'cbs') {
            this.reply(ctx.connection, ctx.message!, answerCbsRequest(ctx.message!));
            delivery.accept();
        } else if (route.kind === 'management') {
            const request = ctx.message!;
            const props = (request.application_properties ?? {}) as Record<string, unknown>;
            const result = handleManagementRequest(route.queue, props.operation, request.body, this.options.maxMessageSizeBytes);
            const applicationProperties: Record<string, unknown> = {
                statusCode: result.statusCode,
                statusDescription: result.statusDescription,
            };
            if (result.errorCondition) applicationProperties.errorCondition = result.errorCondition;
            this.reply(ctx.connection, request, {
                correlation_id: request.message_id,
                application_properties: applicationProperties,
                body: result.body,
            });
            delivery.accept();
        } else if (route.kind === 'entity') {
            this.enqueue(route.queue, ctx, delivery);
        }
    }

    private enqueue(queue: Queue, ctx: EventContext, delivery: Delivery): void {
        const decoded = (ctx as EventContext & { format?: number }).format === batchMessageFormat
            ? decodeBatch(ctx.message as unknown as Buffer)
            : [ctx.message as unknown as DecodedMessage];
        const prepared = queue.prepare(decoded);
        const limit = this.options.maxMessageSizeBytes;
        if (prepared.some((msg) => encodedSize(msg) > limit)) {
            delivery.reject({ condition: conditions.sizeExceeded, description: `The message exceeds the maximum size of ${limit} bytes.` });
            return;
        }
        queue.enqueue(prepared);
        delivery.accept();
    }

    private reply(connection: Connection, request: Message, response: Message | Record<string, unknown>): void {
        const replyTo = typeof request.reply_to === 'string' ? request.reply_to : undefined;
        const link = replyTo ? this.connections.get(connection)?.replyLinks.get(replyTo) : undefined;
        if (!link) {
            this.log('warn', 'servicebus.emulator.no_reply_link', { replyTo });
            return;
        }
        link.send(response as Message);
    }

    private onDisposition(ctx: EventContext, settle: (queue: Queue, lockToken: string) => void, success: unknown): void {
        const sender = ctx.sender!;
        const delivery = ctx.delivery!;
        const consumer = this.connections.get(sender.connection)?.consumers.get(sender);
        if (!consumer || consumer.mode !== 'peekLock') return;
        try {
            settle(consumer.queue, lockTokenFromTag(delivery.tag));
            settleFromBroker(delivery, success);
        } catch (err) {
            if (!(err instanceof ServiceBusFault)) throw err;
            settleFromBroker(delivery, outcome.rejected({ condition: err.condition, description: err.description }));
        }
    }

    /** abandon → modified; defer → modified with undeliverable-here. `propertiesToModify` arrive as message annotations. */
    private onModified(ctx: EventContext): void {
        const state = (ctx.delivery!.remote_state ?? {}) as { undeliverable_here?: boolean; message_annotations?: Record<string, unknown> };
        const properties = state.message_annotations;
        const defer = state.undeliverable_here === true;
        this.onDisposition(
            ctx,
            (queue, token) => (defer ? queue.defer(token, properties) : queue.abandon(token, properties)),
            outcome.modified({ undeliverable_here: defer }),
        );
    }

    /** deadLetter → rejected with condition com.microsoft:dead-letter; reason, description and extra properties in `info`. */
    private onRejected(ctx: EventContext): void {
        const error = (ctx.delivery!.remote_state as { error?: { info?: Record<string, unknown> } } | undefined)?.error;
        const { DeadLetterReason: reason, DeadLetterErrorDescription: description, ...properties } = error?.info ?? {};
        this.onDisposition(
            ctx,
            (queue, token) => queue.deadLetter(token, {
                reason: typeof reason === 'string' ? reason : undefined,
                description: typeof description === 'string' ? description : undefined,
                properties,
            }),
            // Echoing the client's rejected-with-error would make the SDK report the dead-lettering as a failure.
            outcome.rejected(),
        );
    }

    private onConsumerDetach(connection: Connection, sender: Sender): void {
        const state = this.connections.get(connection);
        if (!state) return;
        state.consumers.get(sender)?.detach();
        state.consumers.delete(sender);
        for (const [key, link] of state.replyLinks) if (link === sender) state.replyLinks.delete(key);
    }

    private onConnectionGone(connection: Connection): void {
        const state = this.connections.get(connection);
        if (!state) return;
        this.connections.delete(connection);
        for (const consumer of state.consumers.values()) consumer.detach();
    }

    private log(level: 'debug' | 'info' | 'warn', event: string, fields: Record<string, unknown>): void {
        this.options.logger?.log(level, event, fields);
    }
}

function describe(arg: EventContext | Error): unknown {
    if (arg instanceof Error) return arg.message;
    return arg.sender?.error ?? arg.receiver?.error ?? arg.session?.error ?? arg.connection?.error;
}
