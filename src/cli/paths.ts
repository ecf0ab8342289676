import { join, sep } from 'node:path';

/** The package root, whether running from `src/` under a test runner or compiled under `dist/src/`. */
export const packageRoot = join(__dirname, __dirname.split(sep).includes('dist') ? '../../..' : '../..');
export const samplesFile = join(packageRoot, 'samples', 'aggregates.ndjson');
export const schemaFile = join(packageRoot, 'schema', 'compliance-aggregate.schema.json');
