import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { create_container } from 'rhea';
import type { Connection, Receiver } from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';

import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../src/emulators/servicebus';
import { rheaVersionReliedOn } from '../../../src/emulators/servicebus/rhea-internals';

describe('rhea internals the emulator relies on', () => {
    it('runs on exactly the rhea release whose private fields it uses', () => {
        const require = createRequire(__filename);
        const installed = (JSON.parse(readFileSync(require.resolve('rhea/package.json'), 'utf8')) as { version: string }).version;
        const declared = (JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies.rhea;
        expect(rheaVersionReliedOn).toBe('3.0.5');
        expect(installed).toBe(rheaVersionReliedOn);
        expect(declared).toBe(rheaVersionReliedOn);
    });
});

describe('Service Bus emulator: AMQP details below the SDK', () => {
    let emulator: ServiceBusEmulator | undefined;
    let connection: Connection | undefined;

    afterEach(async () => {
        connection?.close();
        connection = undefined;
        await emulator?.close();
        emulator = undefined;
    });

    async function connect(port: number): Promise<Connection> {
        const conn = create_container().connect({ host: '127.0.0.1', port, reconnect: false });
        conn.on('disconnected', () => undefined);
        await new Promise((resolve) => conn.once('connection_open', resolve));
        return conn;
    }

    it('answers a drain even when the transfers it triggers use up all the credit', async () => {
        emulator = await startServiceBusEmulator({ queues: [{ name: 'q' }] });
        connection = await connect(emulator.port);
        const sender = connection.open_sender('q');
        await new Promise((resolve) => sender.once('sendable', resolve));
        sender.send({ body: 'a' });
        sender.send({ body: 'b' });
        await new Promise((resolve) => sender.on('accepted', () => emulator!.counts('q').active === 2 && resolve(undefined)));

        const receiver: Receiver = connection.open_receiver({ source: { address: 'q' }, credit_window: 0, snd_settle_mode: 1 });
        await new Promise((resolve) => receiver.once('receiver_open', resolve));
        const bodies: unknown[] = [];
        receiver.on('message', (ctx) => bodies.push(ctx.message?.body));
        // Credit and drain leave in one flow frame: the broker spends the credit on two transfers, then must still say drained.
        receiver.add_credit(2);
        receiver.drain_credit();
        const drained = await Promise.race([
            new Promise((resolve) => receiver.once('receiver_drained', () => resolve(true))),
            new Promise((resolve) => setTimeout(() => resolve(false), 1_000)),
        ]);
        expect(drained).toBe(true);
        expect(bodies).toEqual(['a', 'b']);
    });
});
