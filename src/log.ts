import { redact } from './errors';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

/** Structured logging port: one event name plus flat fields. Hosts decide where lines go. */
export interface Logger {
    log(level: LogLevel, event: string, fields?: LogFields): void;
}

/** Serialise one log record as a single JSON line, with secrets redacted. */
export function formatLogLine(level: LogLevel, event: string, fields: LogFields = {}): string {
    const record = { time: new Date().toISOString(), level, event, ...fields };
    return redact(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** A logger writing JSON lines to a stream (stderr by default, keeping stdout for command output). */
export function jsonLineLogger(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), minLevel: LogLevel = 'info'): Logger {
    const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
    return {
        log(level, event, fields) {
            if (order[level] >= order[minLevel]) write(formatLogLine(level, event, fields));
        },
    };
}

/** A logger that keeps records in memory, for tests and summaries. */
export function memoryLogger(): Logger & { records: { level: LogLevel; event: string; fields: LogFields }[] } {
    const records: { level: LogLevel; event: string; fields: LogFields }[] = [];
    return {
        records,
        log(level, event, fields = {}) {
            records.push({ level, event, fields });
        },
    };
}

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The CLI's logger: structured lines on stderr. On a terminal the live status line tells the story, so only
 * warnings and errors are printed there; `LOG_LEVEL` overrides either way.
 */
export function cliLogger(env: Readonly<Record<string, string | undefined>> = process.env, stream: NodeJS.WriteStream = process.stderr): Logger {
    const wanted = env.LOG_LEVEL?.toLowerCase() as LogLevel | undefined;
    const level = wanted && levels.includes(wanted) ? wanted : stream.isTTY ? 'warn' : 'info';
    return jsonLineLogger((l) => stream.write(`${l}\n`), level);
}
