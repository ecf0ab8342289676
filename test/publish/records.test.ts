import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { JsonArrayShapeError, splitJsonArray } from '../../src/publish/json-array';
import { detectFormat, readRecords, type InputRecord } from '../../src/publish/records';

function chunksOf(...parts: string[]): AsyncIterable<string> {
    return Readable.from(parts, { objectMode: true });
}

async function records(...parts: string[]): Promise<{ format: string; records: InputRecord[] }> {
    const detected = await detectFormat(chunksOf(...parts));
    const out: InputRecord[] = [];
    for await (const record of readRecords(detected.chunks, detected.format)) out.push(record);
    return { format: detected.format, records: out };
}

async function split(...parts: string[]): Promise<string[]> {
    const out: string[] = [];
    for await (const element of splitJsonArray(chunksOf(...parts))) out.push(element);
    return out;
}

describe('splitJsonArray', () => {
    it('keeps brackets, braces, commas and escaped quotes inside strings within one element', async () => {
        const elements = await split('  [ {"a":"x]},\\"", "b":[1,{"c":2}]} , ', '{"c":1}', ' ,\n {"d":"\\\\"} ]  \n');
        expect(elements).toEqual(['{"a":"x]},\\"", "b":[1,{"c":2}]}', '{"c":1}', '{"d":"\\\\"}']);
        expect(elements.map((e) => JSON.parse(e) as unknown)).toHaveLength(3);
    });

    it('splits elements across arbitrary chunk boundaries, one character at a time', async () => {
        const text = '[{"s":"a,\\"]b"},{"n":[1,2,3]}, 42]';
        expect(await split(...text.split(''))).toEqual(['{"s":"a,\\"]b"}', '{"n":[1,2,3]}', '42']);
    });

    it('accepts an empty array and rejects a broken shape', async () => {
        expect(await split('[ ]')).toEqual([]);
        await expect(split('[{"a":1}')).rejects.toThrow(/not closed/);
        await expect(split('[{"a":1}] x')).rejects.toThrow(JsonArrayShapeError);
        await expect(split('[{"a":1},,{"b":2}]')).rejects.toThrow(/two commas/);
        await expect(split('[{"a":1},]')).rejects.toThrow(/trailing comma/);
        await expect(split('{"a":1}')).rejects.toThrow(/start with \[/);
        await expect(split('')).rejects.toThrow(/empty/);
    });
});

describe('readRecords', () => {
    it('detects a JSON array and numbers its records', async () => {
        const { format, records: out } = await records('\ufeff\n [{"a":1},', '{"b":2}]');
        expect(format).toBe('json');
        expect(out).toEqual([{ line: 1, body: '{"a":1}' }, { line: 2, body: '{"b":2}' }]);
    });

    it('detects NDJSON, skips blank lines and keeps physical line numbers', async () => {
        const { format, records: out } = await records('{"a":1}\n\n{"b', '":2}\r\n  \nnot json\n');
        expect(format).toBe('ndjson');
        expect(out).toEqual([
            { line: 1, body: '{"a":1}' },
            { line: 3, body: '{"b":2}' },
            { line: 5, body: 'not json' },
        ]);
    });

    it('reads CSV with quoted commas and newlines, dropping empty cells, with the line each record starts on', async () => {
        const { format, records: out } = await records('tenantId, name ,count\r\n', 't1,"Contoso, Ltd",7\r\nt2,"two\nlines",\r\n\r\nt3\r\n');
        expect(format).toBe('csv');
        expect(out).toEqual([
            { line: 2, body: { tenantId: 't1', name: 'Contoso, Ltd', count: '7' } },
            { line: 3, body: { tenantId: 't2', name: 'two\nlines' } },
            { line: 6, body: { tenantId: 't3' } },
        ]);
    });
});
