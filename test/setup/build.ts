import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Tests that spawn the CLI run the compiled output, so compile once per test run. */
export default function build(): void {
    execFileSync(process.execPath, [join(__dirname, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: join(__dirname, '../..'),
        stdio: 'inherit',
    });
}
