import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigurationError } from '../../../src/errors';
import {
    defaultEmulatorConfig, defaultQueueProperties, loadEmulatorConfig, parseEmulatorConfig, parseIsoDuration,
} from '../../../src/emulators/servicebus';

const officialShape = {
    UserConfig: {
        Namespaces: [
            {
                Name: 'sbemulatorns',
                Queues: [
                    {
                        Name: 'q',
                        Properties: {
                            MaxDeliveryCount: 5,
                            LockDuration: 'PT0.5S',
                            DefaultMessageTimeToLive: 'PT1H',
                            DeadLetteringOnMessageExpiration: true,
                            RequiresDuplicateDetection: true,
                            DuplicateDetectionHistoryTimeWindow: 'PT20S',
                            RequiresSession: false,
                            ForwardTo: '',
                            ForwardDeadLetteredMessagesTo: '',
                        },
                    },
                    { Name: 'plain' },
                ],
                Topics: [],
            },
        ],
        Logging: { Type: 'File' },
    },
};

describe('Service Bus emulator config (official Config.json shape)', () => {
    it('parses ISO-8601 durations, including fractional seconds', () => {
        expect(parseIsoDuration('PT1M')).toBe(60_000);
        expect(parseIsoDuration('PT0.5S')).toBe(500);
        expect(parseIsoDuration('P14D')).toBe(14 * 86_400_000);
        expect(parseIsoDuration('P1DT2H3M4S')).toBe(((24 + 2) * 60 + 3) * 60_000 + 4_000);
        for (const bad of ['', 'P', 'PT', '1M', 'PT1X', 'P1DT']) expect(parseIsoDuration(bad)).toBeUndefined();
    });

    it('reads queue properties and fills absent ones with the Service Bus defaults', () => {
        expect(parseEmulatorConfig(officialShape)).toEqual({
            namespace: 'sbemulatorns',
            queues: [
                {
                    name: 'q',
                    properties: {
                        maxDeliveryCount: 5,
                        lockDurationMs: 500,
                        defaultMessageTimeToLiveMs: 3_600_000,
                        deadLetteringOnMessageExpiration: true,
                        requiresDuplicateDetection: true,
                        duplicateDetectionHistoryTimeWindowMs: 20_000,
                    },
                },
                { name: 'plain', properties: defaultQueueProperties },
            ],
        });
        expect(defaultQueueProperties).toEqual({
            maxDeliveryCount: 10,
            lockDurationMs: 60_000,
            defaultMessageTimeToLiveMs: 14 * 86_400_000,
            deadLetteringOnMessageExpiration: false,
            requiresDuplicateDetection: false,
            duplicateDetectionHistoryTimeWindowMs: 600_000,
        });
    });

    it('names every bad field at once', () => {
        const bad = {
            UserConfig: {
                Namespaces: [{
                    Name: '',
                    Topics: [{ Name: 't' }],
                    Queues: [
                        { Name: 'a', Properties: { MaxDeliveryCount: 0, LockDuration: '1 minute', RequiresSession: true, Colour: 'red' } },
                        { Name: 'A' },
                        { Properties: { DeadLetteringOnMessageExpiration: 'yes' } },
                    ],
                }],
            },
        };
        let error: unknown;
        try {
            parseEmulatorConfig(bad);
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigurationError);
        const issues = (error as ConfigurationError).issues.join('\n');
        for (const expected of [
            'Namespaces[0].Name',
            'Namespaces[0].Topics',
            'Queues[0].Properties.MaxDeliveryCount',
            'Queues[0].Properties.LockDuration',
            'Queues[0].Properties.RequiresSession',
            'Queues[0].Properties.Colour',
            "Queues[1].Name 'A' is declared twice",
            'Queues[2].Name',
            'Queues[2].Properties.DeadLetteringOnMessageExpiration',
        ]) {
            expect(issues).toContain(expected);
        }
        expect((error as ConfigurationError).issues).toHaveLength(9);
        expect(() => parseEmulatorConfig({ UserConfig: { Namespaces: [] } })).toThrow(ConfigurationError);
        expect(() => parseEmulatorConfig('nope')).toThrow(/exactly one namespace/);
    });

    it('ships default-config.json equal to the exported defaultEmulatorConfig, declaring compliance-aggregates', () => {
        const file: unknown = JSON.parse(readFileSync('src/emulators/servicebus/default-config.json', 'utf8'));
        expect(file).toEqual(defaultEmulatorConfig);
        const [queue] = parseEmulatorConfig(defaultEmulatorConfig).queues;
        expect(queue).toEqual({
            name: 'compliance-aggregates',
            properties: {
                maxDeliveryCount: 10,
                lockDurationMs: 60_000,
                defaultMessageTimeToLiveMs: 14 * 86_400_000,
                deadLetteringOnMessageExpiration: true,
                requiresDuplicateDetection: true,
                duplicateDetectionHistoryTimeWindowMs: 600_000,
            },
        });
    });

    it('loads a config file and reports unreadable ones as configuration errors', () => {
        const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
        try {
            const path = join(dir, 'Config.json');
            writeFileSync(path, JSON.stringify(officialShape));
            expect(loadEmulatorConfig(path).queues.map((q) => q.name)).toEqual(['q', 'plain']);
            writeFileSync(path, '{ not json');
            expect(() => loadEmulatorConfig(path)).toThrow(ConfigurationError);
            expect(() => loadEmulatorConfig(join(dir, 'missing.json'))).toThrow(/cannot read emulator config/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
