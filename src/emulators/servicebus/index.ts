/**
 * A local Service Bus stand-in speaking the AMQP dialect of the real service, so the unmodified `@azure/service-bus`
 * client (with `UseDevelopmentEmulator=true`) can send, receive and settle against it offline. Queues only.
 */
import type { Logger } from '../../log';
import { Broker } from './broker';
import { defaultQueueProperties, type EmulatorConfig, type QueueProperties } from './config';
import type { QueueCounts } from './entity';

export {
    defaultEmulatorConfig, defaultQueueProperties, loadEmulatorConfig, parseEmulatorConfig, parseIsoDuration,
} from './config';
export type { EmulatorConfig, EmulatorConfigFile, QueueProperties } from './config';
export type { QueueCounts } from './entity';

export interface DeadLetteredMessage {
    messageId: string;
    body: unknown;
    applicationProperties: Record<string, unknown>;
    deadLetterReason?: string;
    deadLetterErrorDescription?: string;
}

export interface ServiceBusEmulator {
    readonly port: number;
    readonly host: string;
    /** `Endpoint=sb://localhost:PORT;…;UseDevelopmentEmulator=true;` — the flag makes the SDK use plain TCP. */
    readonly connectionString: string;
    declareQueue(name: string, properties?: Partial<QueueProperties>): void;
    queueNames(): string[];
    counts(queue: string): QueueCounts;
    /**
     * Messages currently in the DLQ of a queue, decoded (body as Buffer|string|object, applicationProperties, messageId,
     * reason, description) – for tests.
     */
    deadLetters(queue: string): DeadLetteredMessage[];
    /** Purge all queues (keeps declarations). */
    reset(): void;
    /** Abruptly destroy every client socket (fault injection for reconnect tests); the listener keeps running. */
    dropConnections(): void;
    close(): Promise<void>;
}

export interface ServiceBusEmulatorOptions {
    /** Default 0: an ephemeral port. */
    port?: number;
    /** Default 127.0.0.1. */
    host?: string;
    config?: EmulatorConfig;
    queues?: { name: string; properties?: Partial<QueueProperties> }[];
    /** Default 262144 (256 KiB, Service Bus Standard). */
    maxMessageSizeBytes?: number;
    /** Properties for queues declared without them (over the Service Bus defaults). */
    defaults?: Partial<QueueProperties>;
    logger?: Logger;
}

function endpointHost(host: string): string {
    if (host === '127.0.0.1' || host === '0.0.0.0' || host === '::' || host === '::1') return 'localhost';
    return host.includes(':') ? `[${host}]` : host;
}

export async function startServiceBusEmulator(options: ServiceBusEmulatorOptions = {}): Promise<ServiceBusEmulator> {
    const host = options.host ?? '127.0.0.1';
    const broker = new Broker({
        port: options.port ?? 0,
        host,
        maxMessageSizeBytes: options.maxMessageSizeBytes ?? 262_144,
        defaults: { ...defaultQueueProperties, ...options.defaults },
        logger: options.logger,
    });
    for (const queue of options.config?.queues ?? []) broker.declareQueue(queue.name, queue.properties);
    for (const queue of options.queues ?? []) broker.declareQueue(queue.name, queue.properties);
    await broker.listen();
    const connectionString =
        `Endpoint=sb://${endpointHost(host)}:${broker.port};SharedAccessKeyName=RootManageSharedAccessKey;` +
        'SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
    return {
        port: broker.port,
        host,
        connectionString,
        declareQueue: (name, properties) => broker.declareQueue(name, properties),
        queueNames: () => broker.queueNames(),
        counts: (queue) => broker.counts(queue),
        deadLetters: (queue) => broker.deadLetters(queue),
        reset: () => broker.reset(),
        dropConnections: () => broker.dropConnections(),
        close: () => broker.close(),
    };
}
