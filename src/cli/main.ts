#!/usr/bin/env node
import { readFileSync } from 'node:fs';

import { Command, InvalidArgumentError } from 'commander';

import { ConfigurationError, ensureError, redact } from '../errors';
import { cliLogger } from '../log';
import { loadEnvironment } from '../settings';
import { registerDlqCommand } from './dlq';
import { runEmulatorsCommand } from './emulators';
import { schemaFile } from './paths';
import { registerSendCommand } from './send';
import { shutdownSignal } from './signals';
import { runStartCommand } from './start';
import { defaultWorkerOptions } from '../hosts/worker/worker';
import { runWorkerCommand } from './worker';

function positiveInt(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative whole number');
    return n;
}

export function buildProgram(): Command {
    const program = new Command('compliance-ingest')
        .description('Ingest device compliance aggregates from Service Bus into Microsoft Graph.')
        .showHelpAfterError();

    program
        .command('start')
        .description('Run the pipeline: on embedded local stand-ins when no Service Bus is configured, else the worker.')
        .action(async () => {
            const { signal, dispose } = shutdownSignal(() => process.stderr.write('\nStopping… (Ctrl-C again to exit at once)\n'));
            try {
                await runStartCommand(loadEnvironment(), cliLogger(), signal);
            } finally {
                dispose();
            }
        });

    program
        .command('worker')
        .description('Consume the configured queue with the standalone worker (same settings as the Function app).')
        .option('--drain', 'stop once the queue has been idle for --idle-ms, then print a summary and exit 0')
        .option('--idle-ms <ms>', 'idle time that ends a drain', positiveInt, 5000)
        .option('--batch-size <n>', 'messages per receive', positiveInt, defaultWorkerOptions.batchSize)
        .option('--loops <n>', 'receive loops in flight', positiveInt, defaultWorkerOptions.loops)
        .action(async (opts: { drain?: boolean; idleMs: number; batchSize: number; loops: number }) => {
            const { signal, dispose } = shutdownSignal();
            try {
                const totals = await runWorkerCommand(loadEnvironment(), opts, cliLogger(), signal);
                process.stdout.write(`${JSON.stringify({ summary: totals, seconds: (Date.now() - totals.startedAt) / 1000 })}\n`);
            } finally {
                dispose();
            }
        });

    program
        .command('emulators')
        .description('Start the local Service Bus emulator, Graph stand-in and managed-identity stand-in in the foreground.')
        .option('--config <file>', "queues, in the official Service Bus emulator's Config.json shape")
        .option('--servicebus-port <port>', 'AMQP port', positiveInt)
        .option('--graph-port <port>', 'Graph stand-in port', positiveInt)
        .option('--identity-port <port>', 'managed-identity stand-in port', positiveInt)
        .option('--write-local-settings', 'write local.settings.json for func start')
        .option('--azurite', 'also start Azurite (npx azurite) for AzureWebJobsStorage')
        .action(async (opts: Parameters<typeof runEmulatorsCommand>[0]) => {
            const { signal, dispose } = shutdownSignal();
            try {
                await runEmulatorsCommand(opts, cliLogger(), signal);
            } finally {
                dispose();
            }
        });

    program
        .command('schema')
        .description('Print the inbound contract as JSON Schema.')
        .action(() => {
            process.stdout.write(readFileSync(schemaFile, 'utf8'));
        });

    registerSendCommand(program);
    registerDlqCommand(program);

    return program;
}

if (require.main === module) {
    buildProgram()
        .parseAsync(process.argv)
        .catch((err: unknown) => {
            const e = ensureError(err);
            process.stderr.write(`${e instanceof ConfigurationError ? e.message : `error: ${redact(e.message)}`}\n`);
            process.exitCode = e instanceof ConfigurationError ? 78 : 1;
        });
}
