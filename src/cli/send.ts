import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { ServiceBusClient } from '@azure/service-bus';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';

import { loadWorkerConfig, type Environment, type ServiceBusConfig } from '../config';
import { ensureError, redact } from '../errors';
import { aggregateMessage, BatchPublisher, validateRecord } from '../publish';
import { detectFormat, inputFormats, readRecords, textChunks, type InputFormat, type InputRecord } from '../publish/records';
import { createServiceBusClient } from '../servicebus';
import { loadEnvironment } from '../settings';

/** Everything a command touches outside itself, so tests can run it in-process. */
export interface CommandIo {
    readonly env: Environment;
    readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
    readonly stdout: NodeJS.WritableStream;
    readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
    /** Default: `createServiceBusClient` (tests pass one with short retries). */
    readonly createClient?: (config: ServiceBusConfig) => ServiceBusClient;
    /** Default: sets `process.exitCode`. */
    readonly setExitCode?: (code: number) => void;
}

export function processIo(): CommandIo {
    return {
        env: loadEnvironment(),
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        setExitCode: setProcessExitCode,
    };
}

export function setProcessExitCode(code: number): void {
    process.exitCode = code;
}

export interface SendOptions {
    readonly format?: InputFormat;
    /** False with `--skip-invalid`. */
    readonly strict: boolean;
    readonly rejectFile?: string;
    readonly scheduledAt?: Date;
}

export const exitCodes = { ok: 0, invalidInput: 1, connection: 2 } as const;

const listedProblems = 50;

/** A progress bar on a TTY, nothing otherwise: count, rate, and an ETA when the total is known. */
export function progressDisplay(stream: CommandIo['stderr'], label: string, total?: number) {
    if (!stream.isTTY) return { update: (_value: number) => undefined, stop: () => undefined };
    const format = total
        ? `${label} [{bar}] {value}/{total} | {rate} msg/s | ETA {eta_formatted}`
        : `${label} {value} | {rate} msg/s | {duration_formatted}`;
    const bar = new SingleBar({ stream, format, hideCursor: true, clearOnComplete: true, etaBuffer: 50 });
    const started = Date.now();
    bar.start(total ?? 0, 0, { rate: 0 });
    return {
        update(value: number) {
            const seconds = (Date.now() - started) / 1000;
            bar.update(value, { rate: seconds > 0 ? Math.round(value / seconds) : 0 });
        },
        stop: () => bar.stop(),
    };
}

/** Parse `<ISO time>` with an explicit offset, so a schedule never depends on the machine's time zone. */
export function isoInstant(value: string): Date {
    const date = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(date.getTime())) {
        throw new InvalidArgumentError('must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T06:00:00Z');
    }
    return date;
}

interface Problem {
    readonly line: number;
    readonly reason: string;
    readonly description: string;
}

function describeProblem(format: InputFormat, p: Problem): string {
    return `  ${format === 'json' ? 'record' : 'line'} ${p.line}: ${p.reason}: ${p.description}`;
}

/** The record as the reject file keeps it: parsed when it is JSON, else the text as read. */
function rejectedRecord(body: InputRecord['body']): unknown {
    if (typeof body !== 'string') return body;
    try {
        return JSON.parse(body) as unknown;
    } catch {
        return body;
    }
}

async function writeLine(stream: WriteStream, line: string): Promise<void> {
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
}

async function* recordsOf(path: string | NodeJS.ReadableStream, format: InputFormat | undefined): AsyncGenerator<InputRecord> {
    const detected = format ? { format, chunks: textChunks(path) } : await detectFormat(textChunks(path));
    yield* readRecords(detected.chunks, detected.format);
}

async function formatOf(path: string, format: InputFormat | undefined): Promise<InputFormat> {
    if (format) return format;
    const stream = createReadStream(path, { start: 0, end: 65_535 });
    try {
        return (await detectFormat(textChunks(stream))).format;
    } finally {
        stream.destroy();
    }
}

/**
 * `send <file|->`: validate every aggregate with the inbound contract and send them in size-aware batches.
 * Strict mode validates the whole input first and sends nothing if any record is invalid (stdin is buffered to
 * a temp file for the second pass, keeping memory flat). Returns the exit code.
 */
export async function runSend(input: string, options: SendOptions, io: CommandIo): Promise<number> {
    const config = loadWorkerConfig(io.env);
    let tempDir: string | undefined;
    try {
        let source: string | NodeJS.ReadableStream = input;
        if (input === '-') {
            if (options.strict) {
                tempDir = await mkdtemp(join(tmpdir(), 'compliance-ingest-send-'));
                source = join(tempDir, 'stdin');
                await pipeline(io.stdin, createWriteStream(source));
            } else {
                source = io.stdin;
            }
        }
        const format = typeof source === 'string' ? await formatOf(source, options.format) : options.format;
        let total: number | undefined;
        if (options.strict) {
            const checked = await validationPass(source as string, format, io);
            if (checked === undefined) return exitCodes.invalidInput;
            total = checked;
        }
        return await sendPass(source, format, total, options, config.serviceBus, config.queueName, input, io);
    } catch (err) {
        io.stderr.write(`cannot read ${input === '-' ? 'stdin' : input}: ${redact(ensureError(err).message)}\n`);
        return exitCodes.invalidInput;
    } finally {
        if (tempDir) await rm(tempDir, { recursive: true, force: true });
    }
}

/** First pass of a strict run: the number of records when all are valid; undefined (after listing the problems) otherwise. */
async function validationPass(path: string, format: InputFormat | undefined, io: CommandIo): Promise<number | undefined> {
    const problems: Problem[] = [];
    let invalid = 0;
    let total = 0;
    for await (const record of recordsOf(path, format)) {
        total++;
        const result = validateRecord(record.body);
        if (result.ok) continue;
        invalid++;
        if (problems.length < listedProblems) problems.push({ line: record.line, reason: result.reason, description: result.description });
    }
    if (invalid === 0) return total;
    const shown = format ?? 'ndjson';
    io.stderr.write(`${invalid} of ${total} records are invalid; nothing was sent:\n`);
    for (const p of problems) io.stderr.write(`${describeProblem(shown, p)}\n`);
    if (invalid > problems.length) io.stderr.write(`  … and ${invalid - problems.length} more\n`);
    io.stderr.write('Fix them, or use --skip-invalid to send the valid ones and write the rest to a reject file.\n');
    return undefined;
}

async function sendPass(
    source: string | NodeJS.ReadableStream,
    format: InputFormat | undefined,
    total: number | undefined,
    options: SendOptions,
    serviceBus: ServiceBusConfig,
    queueName: string,
    input: string,
    io: CommandIo,
): Promise<number> {
    const rejectPath = options.strict ? undefined : (options.rejectFile ?? `${input === '-' ? 'stdin' : input}.rejects.ndjson`);
    const rejects = rejectPath ? createWriteStream(rejectPath) : undefined;
    if (rejects) await once(rejects, 'open');
    const client = (io.createClient ?? createServiceBusClient)(serviceBus);
    const progress = progressDisplay(io.stderr, 'sending', total);
    const publisher = new BatchPublisher(client.createSender(queueName), (sent) => progress.update(sent));
    const started = Date.now();
    const tooLarge: Problem[] = [];
    let invalid = 0;
    let rejected = 0;
    let failure: Error | undefined;
    let readFailure: Error | undefined;
    try {
        const records = recordsOf(source, format);
        for (;;) {
            let next: IteratorResult<InputRecord>;
            try {
                next = await records.next();
            } catch (err) {
                readFailure = ensureError(err);
                break;
            }
            if (next.done) break;
            const record = next.value;
            const result = validateRecord(record.body);
            if (!result.ok) {
                invalid++;
                if (rejects) {
                    rejected++;
                    const entry = { line: record.line, reason: result.reason, description: result.description, record: rejectedRecord(record.body) };
                    await writeLine(rejects, JSON.stringify(entry));
                }
                continue;
            }
            const message = aggregateMessage(record.body, result.aggregate, options.scheduledAt);
            if (!(await publisher.add(message))) {
                const problem = { line: record.line, reason: 'MessageTooLarge', description: publisher.oversized.at(-1)?.description ?? '' };
                if (tooLarge.length < listedProblems) tooLarge.push(problem);
                if (rejects) {
                    rejected++;
                    await writeLine(rejects, JSON.stringify({ ...problem, record: rejectedRecord(record.body) }));
                }
            }
        }
        await publisher.flush();
    } catch (err) {
        failure = ensureError(err);
    } finally {
        progress.stop();
        if (rejects) await new Promise((resolve) => rejects.end(resolve));
        // An empty reject file would only suggest something was rejected.
        if (rejectPath && rejected === 0) await rm(rejectPath, { force: true });
        await client.close().catch(() => undefined);
    }

    const shown = format ?? 'ndjson';
    for (const p of tooLarge) io.stderr.write(`${describeProblem(shown, p)}\n`);
    if (failure) {
        const of = total === undefined ? '' : ` of ${total}`;
        io.stderr.write(`sent ${publisher.sent}${of} before the failure: ${redact(failure.message)}\n`);
        return exitCodes.connection;
    }
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const parts = [`sent ${publisher.sent} messages in ${publisher.batches} batches (${Math.round(publisher.sent / seconds)} msg/s)`, `invalid: ${invalid}`];
    if (publisher.oversized.length) parts.push(`too large: ${publisher.oversized.length}`);
    if (rejectPath && rejected > 0) parts.push(`rejected file: ${rejectPath}`);
    io.stderr.write(`${parts.join('; ')}\n`);
    if (readFailure) {
        io.stderr.write(`stopped reading ${input === '-' ? 'stdin' : input}: ${redact(readFailure.message)}\n`);
        return exitCodes.invalidInput;
    }
    return publisher.oversized.length ? exitCodes.invalidInput : exitCodes.ok;
}

export function registerSendCommand(program: Command, io: () => CommandIo = processIo): void {
    program
        .command('send')
        .description('Validate aggregates from a JSON array, NDJSON or CSV file (or - for stdin) and send them to the queue.')
        .argument('<file>', "input file, or '-' for stdin")
        .addOption(new Option('--format <format>', 'input format (default: detected from the first character)').choices(inputFormats))
        .option('--strict', 'send nothing if any record is invalid (default)')
        .addOption(new Option('--skip-invalid', 'send the valid records and write the invalid ones to the reject file').conflicts('strict'))
        .option('--reject-file <path>', 'where --skip-invalid writes invalid records (default: <file>.rejects.ndjson)')
        .option('--scheduled-at <time>', 'schedule every message for this ISO 8601 time', isoInstant)
        .addHelpText(
            'after',
            '\nExit codes: 0 all sent; 1 invalid or unreadable input; 2 connection or authorization failure; 78 bad settings.',
        )
        .action(async (file: string, opts: { format?: InputFormat; skipInvalid?: boolean; rejectFile?: string; scheduledAt?: Date }) => {
            const commandIo = io();
            const code = await runSend(
                file,
                {
                    strict: !opts.skipInvalid,
                    ...(opts.format ? { format: opts.format } : {}),
                    ...(opts.rejectFile ? { rejectFile: opts.rejectFile } : {}),
                    ...(opts.scheduledAt ? { scheduledAt: opts.scheduledAt } : {}),
                },
                commandIo,
            );
            (commandIo.setExitCode ?? setProcessExitCode)(code);
        });
}
