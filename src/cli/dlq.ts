import { createInterface } from 'node:readline/promises';

import { Command, InvalidArgumentError, Option } from 'commander';

import { loadWorkerConfig } from '../config';
import {
    hasFilter, listDeadLetters, purgeDeadLetters, replayDeadLetters, showDeadLetter, type DeadLetterEntry,
    type DeadLetterFilter, type ReplayOptions,
} from '../dlq';
import { ensureError, redact } from '../errors';
import { createServiceBusClient } from '../servicebus';
import { exitCodes, isoInstant, processIo, progressDisplay, setProcessExitCode, type CommandIo } from './send';

export interface DlqIo extends CommandIo {
    /** Ask a yes/no question on the terminal (default: readline on stdin/stderr). */
    readonly confirm?: (question: string) => Promise<boolean>;
}

export interface FilterOptions {
    readonly reason?: string;
    readonly since?: Date;
    readonly tenant?: string;
    readonly max?: number;
}

type OutputFormat = 'table' | 'json' | 'ndjson';

function filterOf(options: FilterOptions): DeadLetterFilter {
    return {
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
        ...(options.since !== undefined ? { since: options.since } : {}),
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    };
}

/** Open a client with the worker's settings, run `work`, and turn a Service Bus failure into exit code 2. */
async function withClient(io: DlqIo, work: (client: ReturnType<typeof createServiceBusClient>, queue: string) => Promise<number>): Promise<number> {
    const config = loadWorkerConfig(io.env);
    const client = (io.createClient ?? createServiceBusClient)(config.serviceBus);
    try {
        return await work(client, config.queueName);
    } catch (err) {
        io.stderr.write(`Service Bus operation failed: ${redact(ensureError(err).message)}\n`);
        return exitCodes.connection;
    } finally {
        await client.close().catch(() => undefined);
    }
}

function shortText(text: string | undefined, max: number): string {
    const flat = (text ?? '').replace(/\s+/g, ' ').trim();
    return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function isoSeconds(date: Date | undefined): string {
    return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** The machine-readable form of an entry (JSON and NDJSON output). */
function entryJson(entry: DeadLetterEntry): Record<string, unknown> {
    return {
        sequenceNumber: entry.sequenceNumber,
        enqueuedTimeUtc: entry.enqueuedTimeUtc?.toISOString(),
        deadLetteredAt: entry.deadLetteredAt?.toISOString(),
        messageId: entry.messageId,
        reason: entry.reason,
        description: entry.description,
        tenantId: entry.tenantId,
        compliancePolicyId: entry.compliancePolicyId,
        deliveryCount: entry.deliveryCount,
        applicationProperties: ownProperties(entry),
    };
}

/** Application properties without the broker's two dead-letter ones, which have their own fields. */
function ownProperties(entry: DeadLetterEntry): Record<string, unknown> {
    const { DeadLetterReason: _reason, DeadLetterErrorDescription: _description, ...rest } = entry.applicationProperties;
    return rest;
}

function tableOf(entries: readonly DeadLetterEntry[]): string {
    const header = ['SEQUENCE', 'ENQUEUED (UTC)', 'REASON', 'DESCRIPTION', 'TENANT', 'POLICY'];
    const rows = entries.map((e) => [
        e.sequenceNumber,
        isoSeconds(e.enqueuedTimeUtc),
        e.reason ?? '',
        shortText(e.description, 60),
        e.tenantId ?? '',
        e.compliancePolicyId ?? '',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `dlq list`: peek the DLQ (no locks) and print the matching messages. */
export async function runDlqList(options: FilterOptions & { output?: OutputFormat }, io: DlqIo): Promise<number> {
    return withClient(io, async (client, queue) => {
        const output = options.output ?? 'table';
        const entries: DeadLetterEntry[] = [];
        for await (const entry of listDeadLetters(client, queue, { filter: filterOf(options), ...(options.max !== undefined ? { max: options.max } : {}) })) {
            // NDJSON streams; the table and the JSON array need every row first.
            if (output === 'ndjson') io.stdout.write(`${JSON.stringify(entryJson(entry))}\n`);
            else entries.push(entry);
        }
        if (output === 'json') io.stdout.write(`${JSON.stringify(entries.map(entryJson), null, 2)}\n`);
        if (output === 'table') {
            io.stdout.write(entries.length ? `${tableOf(entries)}\n` : `no dead-lettered messages match in ${queue}\n`);
        }
        return exitCodes.ok;
    });
}

/** `dlq show <sequenceNumber>`: one message in full. */
export async function runDlqShow(sequenceNumber: string, io: DlqIo): Promise<number> {
    return withClient(io, async (client, queue) => {
        const entry = await showDeadLetter(client, queue, sequenceNumber);
        if (!entry) {
            io.stderr.write(`no dead-lettered message with sequence number ${sequenceNumber} in ${queue}\n`);
            return exitCodes.invalidInput;
        }
        const lines = [
            `sequence number:  ${entry.sequenceNumber}`,
            `message id:       ${entry.messageId ?? ''}`,
            `enqueued (UTC):   ${entry.enqueuedTimeUtc?.toISOString() ?? ''}`,
            `delivery count:   ${entry.deliveryCount ?? ''}`,
            `content type:     ${entry.contentType ?? ''}`,
            `reason:           ${entry.reason ?? ''}`,
            `description:      ${entry.description ?? ''}`,
            'application properties:',
            ...Object.entries(ownProperties(entry)).map(([key, value]) => `  ${key}: ${value instanceof Date ? value.toISOString() : String(value)}`),
            'body:',
            typeof entry.body === 'string' ? entry.body : JSON.stringify(entry.body, null, 2),
        ];
        io.stdout.write(`${lines.join('\n')}\n`);
        return exitCodes.ok;
    });
}

/** `dlq replay`: copy matching DLQ messages back to the queue, then complete them. */
export async function runDlqReplay(
    options: FilterOptions & { dryRun?: boolean },
    io: DlqIo,
    hooks: Pick<ReplayOptions, 'beforeComplete' | 'maxWaitTimeInMs'> = {},
): Promise<number> {
    return withClient(io, async (client, queue) => {
        const progress = progressDisplay(io.stderr, 'replaying', options.max);
        const started = Date.now();
        try {
            const result = await replayDeadLetters(client, queue, {
                ...hooks,
                filter: filterOf(options),
                ...(options.max !== undefined ? { max: options.max } : {}),
                ...(options.dryRun ? { dryRun: true } : {}),
                onProgress: (done) => progress.update(done),
            });
            progress.stop();
            const seconds = ((Date.now() - started) / 1000).toFixed(1);
            if (options.dryRun) {
                io.stderr.write(`dry run: would replay ${result.replayed} messages from the ${queue} DLQ\n`);
            } else {
                const failures = result.completeFailures
                    ? `; ${result.completeFailures} could not be completed and are still in the DLQ (replaying them again is safe)`
                    : '';
                io.stderr.write(`replayed ${result.replayed} messages from the ${queue} DLQ to ${queue} in ${seconds} s${failures}\n`);
            }
            return exitCodes.ok;
        } finally {
            progress.stop();
        }
    });
}

/** `dlq purge`: delete matching DLQ messages for good, after confirmation on a terminal. */
export async function runDlqPurge(options: FilterOptions & { yes?: boolean }, io: DlqIo): Promise<number> {
    const filter = filterOf(options);
    if (!options.yes) {
        if (!io.stdin.isTTY || !io.stderr.isTTY) {
            io.stderr.write('refusing to purge without --yes when not on a terminal\n');
            return exitCodes.invalidInput;
        }
        const which = hasFilter(filter) ? 'the dead-lettered messages matching the filters' : 'EVERY dead-lettered message';
        const queue = loadWorkerConfig(io.env).queueName;
        const ask = io.confirm ?? ((question: string) => askOnTerminal(io, question));
        if (!(await ask(`Delete ${which} of ${queue} for good? [y/N] `))) {
            io.stderr.write('nothing purged\n');
            return exitCodes.invalidInput;
        }
    }
    return withClient(io, async (client, queue) => {
        const progress = progressDisplay(io.stderr, 'purging', options.max);
        try {
            const purged = await purgeDeadLetters(client, queue, {
                filter,
                ...(options.max !== undefined ? { max: options.max } : {}),
                onProgress: (done) => progress.update(done),
            });
            progress.stop();
            io.stdout.write(`purged ${purged} messages from the ${queue} DLQ\n`);
            return exitCodes.ok;
        } finally {
            progress.stop();
        }
    });
}

async function askOnTerminal(io: DlqIo, question: string): Promise<boolean> {
    const terminal = createInterface({ input: io.stdin, output: io.stderr });
    try {
        return /^y(es)?$/i.test((await terminal.question(question)).trim());
    } finally {
        terminal.close();
    }
}

function wholeNumber(value: string): number {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
    return n;
}

function guid(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new InvalidArgumentError('must be a GUID');
    return value.toLowerCase();
}

function withFilters(command: Command): Command {
    return command
        .option('--reason <code>', 'only this dead-letter reason (e.g. SchemaViolation, MaxDeliveryCountExceeded)')
        .option('--since <time>', 'only messages dead-lettered at or after this ISO 8601 time', isoInstant)
        .option('--tenant <guid>', 'only this tenant', guid)
        .option('--max <n>', 'stop after this many messages', wholeNumber);
}

export function registerDlqCommand(program: Command, io: () => DlqIo = processIo): void {
    const run = async (work: (commandIo: DlqIo) => Promise<number>) => {
        const commandIo = io();
        (commandIo.setExitCode ?? setProcessExitCode)(await work(commandIo));
    };
    const dlq = program
        .command('dlq')
        .description("Inspect, replay and purge the queue's dead-letter queue (safe while the pipeline runs).");

    withFilters(dlq.command('list').description('Peek dead-lettered messages (nothing is locked or changed).'))
        .addOption(new Option('--json', 'one JSON array').conflicts('ndjson'))
        .option('--ndjson', 'one JSON object per line')
        .action(async (opts: FilterOptions & { json?: boolean; ndjson?: boolean }) => {
            await run((commandIo) => runDlqList({ ...opts, output: opts.json ? 'json' : opts.ndjson ? 'ndjson' : 'table' }, commandIo));
        });

    dlq.command('show')
        .description('Print one dead-lettered message in full: reason, description, properties and body.')
        .argument('<sequenceNumber>', 'the sequence number from `dlq list`')
        .action(async (sequenceNumber: string) => {
            if (!/^\d+$/.test(sequenceNumber)) throw new InvalidArgumentError('the sequence number must be a whole number');
            await run((commandIo) => runDlqShow(sequenceNumber, commandIo));
        });

    withFilters(dlq.command('replay').description('Copy matching dead-lettered messages back to the queue, then remove them from the DLQ.'))
        .option('--dry-run', 'only count the messages that would be replayed')
        .action(async (opts: FilterOptions & { dryRun?: boolean }) => {
            await run((commandIo) => runDlqReplay(opts, commandIo));
        });

    withFilters(dlq.command('purge').description('Delete matching dead-lettered messages for good.'))
        .option('--yes', 'do not ask for confirmation (required when not on a terminal)')
        .action(async (opts: FilterOptions & { yes?: boolean }) => {
            await run((commandIo) => runDlqPurge(opts, commandIo));
        });
}
