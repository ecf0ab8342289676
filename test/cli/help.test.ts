import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { buildProgram } from '../../src/cli/main';

/** Every command path of the program, e.g. ['dlq', 'replay']. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
    return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

async function help(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const program = buildProgram();
    const capture = (c: Command): void => {
        c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
        c.commands.forEach(capture);
    };
    capture(program);
    try {
        await program.parseAsync(['node', 'compliance-ingest', ...args, '--help']);
    } catch (err) {
        return { code: (err as { exitCode: number }).exitCode, out };
    }
    return { code: -1, out };
}

describe('--help', () => {
    const paths = commandPaths(buildProgram());

    it('covers send and every dlq subcommand', () => {
        expect(paths).toEqual(expect.arrayContaining([['send'], ['dlq'], ['dlq', 'list'], ['dlq', 'show'], ['dlq', 'replay'], ['dlq', 'purge']]));
    });

    it.each([[[]], ...paths.map((p) => [p])])('%j prints usage and exits 0', async (path) => {
        const { code, out } = await help(path);
        expect(code).toBe(0);
        expect(out).toMatch(new RegExp(`^Usage: compliance-ingest${path.map((p) => ` ${p}`).join('')}`));
    });

    it('documents the send exit codes and the dlq filters', async () => {
        expect((await help(['send'])).out).toContain('Exit codes: 0 all sent; 1 invalid or unreadable input; 2 connection');
        expect((await help(['dlq', 'replay'])).out).toMatch(/--reason <code>[\s\S]*--since <time>[\s\S]*--tenant <guid>[\s\S]*--max <n>[\s\S]*--dry-run/);
    });
});
