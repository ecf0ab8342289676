import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigurationError } from '../src/errors';
import { loadEnvironment } from '../src/settings';

function dirWith(content?: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'ci-settings-'));
    if (content !== undefined) writeFileSync(join(dir, 'local.settings.json'), content);
    return dir;
}

describe('loadEnvironment', () => {
    it('returns the environment when there is no local.settings.json', () => {
        const env = { A: '1' };
        expect(loadEnvironment(dirWith(), env)).toBe(env);
    });

    it('overlays the environment on local.settings.json Values', () => {
        const dir = dirWith(JSON.stringify({ IsEncrypted: false, Values: { A: 'file', B: 'file', N: 5, T: true } }));
        expect(loadEnvironment(dir, { A: 'env' })).toEqual({ A: 'env', B: 'file', N: '5', T: 'true' });
    });

    it('explains a broken file instead of ignoring it', () => {
        expect(() => loadEnvironment(dirWith('{ nope'), {})).toThrow(ConfigurationError);
        expect(() => loadEnvironment(dirWith('{"Values": []}'), {})).toThrow(/"Values" must be an object/);
    });
});
