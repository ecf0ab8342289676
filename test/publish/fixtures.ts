import { Readable, Writable } from 'node:stream';

import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import type { CommandIo } from '../../src/cli/send';

/** A valid aggregate, distinct per `i` (tenant and policy GUIDs derived from it). */
export function aggregate(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const hex = i.toString(16).padStart(12, '0');
    return {
        tenantId: `1f59f5c5-dae2-4e72-abdb-${hex}`,
        tenantDisplayName: `Tenant ${i}`,
        compliancePolicyId: `9f2753bf-24fd-4467-abd9-${hex}`,
        compliancePolicyName: `Baseline, policy ${i}`,
        compliancePolicyType: 'windows10CompliancePolicy',
        compliancePolicyPlatform: 'Windows10',
        numberOfCompliantDevices: i,
        numberOfNonCompliantDevices: 1,
        numberOfErrorDevices: 0,
        policyModifiedDateTime: '2026-01-10T00:15:00Z',
        lastRefreshedDateTime: '2026-12-01T00:10:33.4452876Z',
        ...overrides,
    };
}

export function expectedMessageId(i: number): string {
    const hex = i.toString(16).padStart(12, '0');
    return `1f59f5c5-dae2-4e72-abdb-${hex}_9f2753bf-24fd-4467-abd9-${hex}_2026-12-01T00:10:33.4452876Z`;
}

export class Captured extends Writable {
    text = '';
    isTTY = false;
    override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
        this.text += chunk.toString();
        callback();
    }
}

/** Command IO against an emulator queue, with captured output and a client that fails fast. */
export function testIo(connectionString: string, queue: string, stdin: string | string[] = []) {
    const stdout = new Captured();
    const stderr = new Captured();
    const codes: number[] = [];
    const io: CommandIo = {
        env: { ServiceBusConnection: connectionString, COMPLIANCE_QUEUE_NAME: queue },
        stdin: Readable.from(typeof stdin === 'string' ? [stdin] : stdin),
        stdout,
        stderr,
        createClient: (config) =>
            new ServiceBusClient(config.kind === 'connectionString' ? config.connectionString : '', {
                retryOptions: { maxRetries: 0, timeoutInMs: 3_000 },
            }),
        setExitCode: (code) => codes.push(code),
    };
    return { io, stdout, stderr, codes };
}

/** Receive and delete everything in a queue (or its DLQ), without parsing bodies. */
export async function drain(connectionString: string, queue: string, subQueue?: 'deadLetter'): Promise<ServiceBusReceivedMessage[]> {
    const client = new ServiceBusClient(connectionString);
    const receiver = client.createReceiver(queue, {
        receiveMode: 'receiveAndDelete',
        skipParsingBodyAsJson: true,
        ...(subQueue ? { subQueueType: subQueue } : {}),
    });
    const all: ServiceBusReceivedMessage[] = [];
    try {
        for (;;) {
            const batch = await receiver.receiveMessages(500, { maxWaitTimeInMs: 300 });
            if (batch.length === 0) return all;
            all.push(...batch);
        }
    } finally {
        await client.close();
    }
}
