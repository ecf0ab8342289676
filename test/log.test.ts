import { describe, expect, it } from 'vitest';

import { cliLogger, formatLogLine, jsonLineLogger, memoryLogger } from '../src/log';

const stream = (isTTY: boolean) => {
    const lines: string[] = [];
    return { lines, s: { isTTY, write: (l: string) => lines.push(l) } as unknown as NodeJS.WriteStream };
};

describe('log', () => {
    it('writes one redacted JSON line per record', () => {
        const line = formatLogLine('info', 'x', { header: 'Authorization: Bearer abc.def.ghi', n: 10n });
        const parsed = JSON.parse(line) as Record<string, unknown>;
        expect(parsed).toMatchObject({ level: 'info', event: 'x', n: '10' });
        expect(line).not.toContain('abc.def.ghi');
    });

    it('filters below the minimum level', () => {
        const lines: string[] = [];
        const logger = jsonLineLogger((l) => lines.push(l), 'warn');
        logger.log('info', 'quiet');
        logger.log('error', 'loud');
        expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['loud']);
    });

    it('keeps a terminal quiet but logs everything from info elsewhere, unless LOG_LEVEL says otherwise', () => {
        const tty = stream(true);
        cliLogger({}, tty.s).log('info', 'a');
        expect(tty.lines).toEqual([]);
        const pipe = stream(false);
        cliLogger({}, pipe.s).log('info', 'a');
        expect(pipe.lines).toHaveLength(1);
        const debug = stream(true);
        cliLogger({ LOG_LEVEL: 'DEBUG' }, debug.s).log('debug', 'a');
        expect(debug.lines).toHaveLength(1);
    });

    it('keeps records in memory for tests', () => {
        const m = memoryLogger();
        m.log('warn', 'w', { a: 1 });
        expect(m.records).toEqual([{ level: 'warn', event: 'w', fields: { a: 1 } }]);
    });
});
