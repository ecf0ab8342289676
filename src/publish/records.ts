import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

import { parse as parseCsv } from 'csv-parse';

import { splitJsonArray } from './json-array';

export type InputFormat = 'json' | 'ndjson' | 'csv';
export const inputFormats: readonly InputFormat[] = ['json', 'ndjson', 'csv'];

/**
 * One record of an input file. `body` is what gets sent: the JSON text as the producer wrote it (JSON array
 * element or NDJSON line), or for CSV an object of the row's non-empty cells. `line` is the 1-based line
 * number (NDJSON, CSV) or record number (JSON array) that operators see in error listings.
 */
export interface InputRecord {
    readonly line: number;
    readonly body: string | Record<string, string>;
}

/** Input text in UTF-8 chunks, from a file path or a stream (stdin). */
export function textChunks(source: string | NodeJS.ReadableStream): AsyncIterable<string> {
    const stream = typeof source === 'string' ? createReadStream(source) : source;
    stream.setEncoding('utf8');
    return stream as AsyncIterable<string>;
}

/**
 * The format from the first non-space character: `[` a JSON array, `{` NDJSON, anything else CSV. Returns
 * the chunks to read from, with what was consumed to decide put back in front.
 */
export async function detectFormat(chunks: AsyncIterable<string>): Promise<{ format: InputFormat; chunks: AsyncIterable<string> }> {
    const iterator = chunks[Symbol.asyncIterator]();
    const seen: string[] = [];
    let format: InputFormat = 'csv';
    for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        seen.push(next.value);
        const first = /[^\s\ufeff]/.exec(next.value)?.[0];
        if (first === undefined) continue;
        format = first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv';
        break;
    }
    async function* replay(): AsyncGenerator<string> {
        yield* seen;
        for (;;) {
            const next = await iterator.next();
            if (next.done) return;
            yield next.value;
        }
    }
    return { format, chunks: replay() };
}

/** Stream the records of an input in the given format. Throws (unreadable input) only for file-level problems. */
export function readRecords(chunks: AsyncIterable<string>, format: InputFormat): AsyncIterable<InputRecord> {
    switch (format) {
        case 'json':
            return jsonArrayRecords(chunks);
        case 'ndjson':
            return ndjsonRecords(chunks);
        case 'csv':
            return csvRecords(chunks);
    }
}

async function* jsonArrayRecords(chunks: AsyncIterable<string>): AsyncGenerator<InputRecord> {
    let line = 0;
    for await (const body of splitJsonArray(chunks)) yield { line: ++line, body };
}

async function* ndjsonRecords(chunks: AsyncIterable<string>): AsyncGenerator<InputRecord> {
    const lines = createInterface({ input: Readable.from(chunks), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
        line++;
        const body = line === 1 ? text.replace(/^\ufeff/, '').trim() : text.trim();
        if (body) yield { line, body };
    }
}

async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<InputRecord> {
    const parser = Readable.from(chunks).pipe(
        parseCsv({
            bom: true,
            columns: (header: string[]) => header.map((name) => name.trim()),
            skip_empty_lines: true,
            // A short or long row is one invalid record (missing or unknown properties), not an unreadable file.
            relax_column_count: true,
            info: true,
            raw: true,
        }),
    );
    for await (const item of parser as AsyncIterable<{ record: Record<string, unknown>; info: { lines: number }; raw: string }>) {
        const body: Record<string, string> = {};
        for (const [name, value] of Object.entries(item.record)) {
            // Empty cells are missing values; the contract then says which property is required.
            if (typeof value === 'string' && value !== '') body[name] = value;
        }
        // info.lines is the line a record ends on; a quoted field may span lines.
        const spanned = item.raw.replace(/\r?\n$/, '').split('\n').length - 1;
        yield { line: item.info.lines - spanned, body };
    }
}
