import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Environment } from './config';
import { ConfigurationError } from './errors';

/**
 * The process environment overlaid on `local.settings.json` `Values`, so one settings file serves
 * `func start` and the standalone worker. Real environment variables win, as in the Functions host.
 */
export function loadEnvironment(cwd: string = process.cwd(), env: Environment = process.env): Environment {
    const path = join(cwd, 'local.settings.json');
    if (!existsSync(path)) return env;
    let parsed: unknown;
    try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
        throw new ConfigurationError([`local.settings.json is not valid JSON (${(err as Error).message})`]);
    }
    const values = (parsed as { Values?: unknown }).Values;
    if (values === undefined) return env;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
        throw new ConfigurationError(['local.settings.json: "Values" must be an object of strings']);
    }
    const merged: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(values)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') merged[k] = String(v);
    return { ...merged, ...env };
}
