import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator, type ServiceBusEmulatorOptions } from '../../../src/emulators/servicebus';

/** One emulator plus SDK clients created against it; `close()` tears everything down. */
export interface EmulatorFixture {
    emulator: ServiceBusEmulator;
    client(): ServiceBusClient;
    close(): Promise<void>;
}

export async function startFixture(options: ServiceBusEmulatorOptions = {}): Promise<EmulatorFixture> {
    const emulator = await startServiceBusEmulator(options);
    const clients: ServiceBusClient[] = [];
    return {
        emulator,
        client() {
            // Short retries: a failing scenario should fail fast rather than wait out the SDK's defaults.
            const retryOptions = { maxRetries: 2, retryDelayInMs: 100, timeoutInMs: 5_000 };
            const client = new ServiceBusClient(emulator.connectionString, { retryOptions });
            clients.push(client);
            return client;
        },
        async close() {
            await Promise.all(clients.map((c) => c.close()));
            await emulator.close();
        },
    };
}

/** Receive until `count` messages arrived or the deadline passed (receiveMessages may return early). */
export async function receiveAtLeast(
    receiver: ServiceBusReceiver,
    count: number,
    deadlineMs = 3_000,
): Promise<ServiceBusReceivedMessage[]> {
    const received: ServiceBusReceivedMessage[] = [];
    const deadline = Date.now() + deadlineMs;
    while (received.length < count && Date.now() < deadline) {
        const maxWaitTimeInMs = Math.max(50, deadline - Date.now());
        received.push(...(await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs })));
    }
    return received;
}
