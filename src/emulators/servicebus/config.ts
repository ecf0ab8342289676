import { readFileSync } from 'node:fs';

import { ConfigurationError } from '../../errors';

/** Per-queue behaviour the emulator reproduces (durations in milliseconds). */
export interface QueueProperties {
    maxDeliveryCount: number;
    lockDurationMs: number;
    defaultMessageTimeToLiveMs: number;
    deadLetteringOnMessageExpiration: boolean;
    requiresDuplicateDetection: boolean;
    duplicateDetectionHistoryTimeWindowMs: number;
}

/** The official Service Bus emulator's `Config.json` shape (only the parts this emulator reads). */
export interface EmulatorConfigFile {
    UserConfig: {
        Namespaces: { Name: string; Queues: { Name: string; Properties?: Record<string, unknown> }[] }[];
        /** Read by the official emulator only; ignored here. */
        Logging?: { Type: string };
    };
}

export interface EmulatorConfig {
    namespace: string;
    queues: { name: string; properties: QueueProperties }[];
}

/** What Service Bus and its official emulator use when a queue property is not given. */
export const defaultQueueProperties: Readonly<QueueProperties> = Object.freeze({
    maxDeliveryCount: 10,
    lockDurationMs: 60_000,
    defaultMessageTimeToLiveMs: 14 * 24 * 3_600_000,
    deadLetteringOnMessageExpiration: false,
    requiresDuplicateDetection: false,
    duplicateDetectionHistoryTimeWindowMs: 10 * 60_000,
});

/** The queue this project ingests from, in the official shape (mirrored by default-config.json for users). */
export const defaultEmulatorConfig: EmulatorConfigFile = {
    UserConfig: {
        Namespaces: [
            {
                Name: 'sbemulatorns',
                Queues: [
                    {
                        Name: 'compliance-aggregates',
                        Properties: {
                            DeadLetteringOnMessageExpiration: true,
                            DefaultMessageTimeToLive: 'P14D',
                            DuplicateDetectionHistoryTimeWindow: 'PT10M',
                            LockDuration: 'PT1M',
                            MaxDeliveryCount: 10,
                            RequiresDuplicateDetection: true,
                            RequiresSession: false,
                        },
                    },
                ],
            },
        ],
        Logging: { Type: 'File' },
    },
};

const durationPattern = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** ISO-8601 duration (`PT1M`, `P14D`, `PT0.5S`) to milliseconds; undefined when malformed. Years/months count as 365/30 days. */
export function parseIsoDuration(text: string): number | undefined {
    const match = durationPattern.exec(text);
    if (!match || text === 'P' || text.endsWith('T')) return undefined;
    const [, years, months, weeks, days, hours, minutes, seconds] = match.map((part) => Number(part ?? 0));
    const totalDays = years! * 365 + months! * 30 + weeks! * 7 + days!;
    return Math.round(((totalDays * 24 + hours!) * 60 + minutes!) * 60_000 + seconds! * 1000);
}

type PropertyReader = (value: unknown, issue: (text: string) => void) => Partial<QueueProperties>;

function durationProperty(key: keyof QueueProperties, minMs: number): PropertyReader {
    return (value, issue) => {
        const ms = typeof value === 'string' ? parseIsoDuration(value) : undefined;
        if (ms === undefined || ms < minMs) {
            issue(`must be an ISO-8601 duration of at least ${minMs} ms (e.g. "PT1M"), got ${JSON.stringify(value)}`);
        }
        return ms === undefined ? {} : { [key]: ms };
    };
}

function booleanProperty(key: keyof QueueProperties): PropertyReader {
    return (value, issue) => {
        if (typeof value !== 'boolean') issue(`must be true or false, got ${JSON.stringify(value)}`);
        return typeof value === 'boolean' ? { [key]: value } : {};
    };
}

/** Readers for the official property names; features the emulator lacks are accepted only in their "off" form. */
const propertyReaders: Record<string, PropertyReader> = {
    MaxDeliveryCount: (value, issue) => {
        const ok = typeof value === 'number' && Number.isInteger(value) && value >= 1;
        if (!ok) issue(`must be an integer >= 1, got ${JSON.stringify(value)}`);
        return ok ? { maxDeliveryCount: value } : {};
    },
    LockDuration: durationProperty('lockDurationMs', 100),
    DefaultMessageTimeToLive: durationProperty('defaultMessageTimeToLiveMs', 1),
    DuplicateDetectionHistoryTimeWindow: durationProperty('duplicateDetectionHistoryTimeWindowMs', 1),
    DeadLetteringOnMessageExpiration: booleanProperty('deadLetteringOnMessageExpiration'),
    RequiresDuplicateDetection: booleanProperty('requiresDuplicateDetection'),
    RequiresSession: (value, issue) => {
        if (value !== false) issue('sessions are not supported by this emulator; only false is accepted');
        return {};
    },
    ForwardTo: (value, issue) => {
        if (value !== '' && value !== null) issue('auto-forwarding is not supported by this emulator; only "" is accepted');
        return {};
    },
    ForwardDeadLetteredMessagesTo: (value, issue) => {
        if (value !== '' && value !== null) issue('auto-forwarding is not supported by this emulator; only "" is accepted');
        return {};
    },
};

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validate a parsed Config.json; throws a ConfigurationError listing every bad field. */
export function parseEmulatorConfig(json: unknown): EmulatorConfig {
    const issues: string[] = [];
    const userConfig = isRecord(json) ? json.UserConfig : undefined;
    const namespaces = isRecord(userConfig) ? userConfig.Namespaces : undefined;
    if (!Array.isArray(namespaces) || namespaces.length !== 1) {
        throw new ConfigurationError(['UserConfig.Namespaces must be an array with exactly one namespace']);
    }
    const ns: unknown = namespaces[0];
    if (!isRecord(ns)) throw new ConfigurationError(['UserConfig.Namespaces[0] must be an object']);
    const nsPath = 'UserConfig.Namespaces[0]';
    if (typeof ns.Name !== 'string' || ns.Name === '') issues.push(`${nsPath}.Name must be a non-empty string`);
    if (ns.Topics !== undefined && !(Array.isArray(ns.Topics) && ns.Topics.length === 0)) {
        issues.push(`${nsPath}.Topics: topics are not supported by this emulator; use [] or omit it`);
    }
    const queues: EmulatorConfig['queues'] = [];
    const rawQueues = ns.Queues ?? [];
    if (!Array.isArray(rawQueues)) issues.push(`${nsPath}.Queues must be an array`);
    const seen = new Set<string>();
    (Array.isArray(rawQueues) ? rawQueues : []).forEach((queue: unknown, i) => {
        const path = `${nsPath}.Queues[${i}]`;
        if (!isRecord(queue)) {
            issues.push(`${path} must be an object`);
            return;
        }
        const name = queue.Name;
        if (typeof name !== 'string' || name.trim() === '') issues.push(`${path}.Name must be a non-empty string`);
        else if (seen.has(name.toLowerCase())) issues.push(`${path}.Name '${name}' is declared twice (names are case-insensitive)`);
        else seen.add(name.toLowerCase());
        const properties: QueueProperties = { ...defaultQueueProperties };
        const rawProperties = queue.Properties ?? {};
        if (!isRecord(rawProperties)) issues.push(`${path}.Properties must be an object`);
        for (const [key, value] of Object.entries(isRecord(rawProperties) ? rawProperties : {})) {
            const reader = propertyReaders[key];
            if (!reader) {
                issues.push(`${path}.Properties.${key} is not a known queue property`);
                continue;
            }
            Object.assign(properties, reader(value, (text) => issues.push(`${path}.Properties.${key} ${text}`)));
        }
        if (typeof name === 'string') queues.push({ name, properties });
    });
    if (issues.length > 0) throw new ConfigurationError(issues);
    return { namespace: ns.Name as string, queues };
}

/** Read and validate a Config.json file. */
export function loadEmulatorConfig(path: string): EmulatorConfig {
    let json: unknown;
    try {
        json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
        throw new ConfigurationError([`cannot read emulator config ${path}: ${(err as Error).message}`]);
    }
    return parseEmulatorConfig(json);
}
