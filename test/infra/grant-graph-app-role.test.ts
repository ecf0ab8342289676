import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

// The fallback script runs against a stand-in `az` on PATH that answers from environment variables and
// records every call, so the grant logic is exercised without Azure.
const script = path.resolve(__dirname, '../../infra/scripts/grant-graph-app-role.sh');
const dir = mkdtempSync(path.join(tmpdir(), 'grant-graph-app-role-'));
const log = path.join(dir, 'az-calls.log');

writeFileSync(
    path.join(dir, 'az'),
    `#!/bin/sh
printf '%s\\n' "$*" >> "$AZ_STUB_LOG"
case "$*" in
    'account show'*) exit "\${AZ_STUB_ACCOUNT_RC:-0}" ;;
    'cloud show'*) echo 'https://graph.microsoft.com/' ;;
    *'--method GET'*"servicePrincipals(appId="*) echo "$AZ_STUB_GRAPH_SP_ID" ;;
    *'--method GET'*'appRoles'*) echo "\${AZ_STUB_ROLE_ID:-}" ;;
    *'--method GET'*'appRoleAssignments'*) echo "\${AZ_STUB_EXISTING:-}" ;;
    *'--method POST'*) ;;
    *) echo "unexpected az call: $*" >&2; exit 99 ;;
esac
`,
);
chmodSync(path.join(dir, 'az'), 0o755);

const identity = '11111111-2222-3333-4444-555555555555';
const graphSp = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const roleId = '99999999-8888-7777-6666-555555555555';

function run(env: Record<string, string>) {
    const result = spawnSync('sh', [script], {
        env: {
            PATH: `${dir}:${process.env.PATH ?? ''}`,
            AZ_STUB_LOG: log,
            AZ_STUB_GRAPH_SP_ID: graphSp,
            GRANT_GRAPH_APP_ROLE_BY_SCRIPT: 'true',
            API_IDENTITY_PRINCIPAL_ID: identity,
            ...env,
        },
        encoding: 'utf8',
        timeout: 10_000,
    });
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
    return { status: result.status, stderr: result.stderr, calls };
}

const posts = (calls: string[]) => calls.filter((c) => c.includes('--method POST'));

describe('infra/scripts/grant-graph-app-role.sh', () => {
    beforeEach(() => rmSync(log, { force: true }));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is valid POSIX sh', () => {
        expect(spawnSync('sh', ['-n', script]).status).toBe(0);
    });

    it('does nothing unless asked to', () => {
        const r = run({ GRANT_GRAPH_APP_ROLE_BY_SCRIPT: '' });
        expect(r.status).toBe(0);
        expect(r.stderr).toContain('skipped');
        expect(r.calls).toEqual([]);
    });

    it('rejects a missing identity and values that would break the queries, before calling az', () => {
        expect(run({ API_IDENTITY_PRINCIPAL_ID: '' })).toMatchObject({ status: 1, calls: [] });
        expect(run({ GRAPH_APP_ROLE: "x' || true" })).toMatchObject({ status: 1, calls: [] });
        expect(run({ GRAPH_APP_ROLE_ID: 'not-a-guid' })).toMatchObject({ status: 1, calls: [] });
    });

    it('asks for az login when the CLI is signed out', () => {
        const r = run({ AZ_STUB_ACCOUNT_RC: '1' });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('az login');
        expect(posts(r.calls)).toEqual([]);
    });

    it('fails with exit code 2 when Graph has no application permission of that value (a delegated-only one)', () => {
        const r = run({ AZ_STUB_ROLE_ID: '' });
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("no application permission 'ManagedTenants.ReadWrite.All'");
        expect(r.calls.find((c) => c.includes('appRoles'))).toContain("contains(allowedMemberTypes, 'Application')");
        expect(posts(r.calls)).toEqual([]);
    });

    it('grants the role found by value to the identity', () => {
        const r = run({ AZ_STUB_ROLE_ID: roleId, GRAPH_APP_ROLE: 'Example.ReadWrite.All' });
        expect(r.status).toBe(0);
        expect(r.calls.find((c) => c.includes('appRoles'))).toContain("value=='Example.ReadWrite.All'");
        const [post] = posts(r.calls);
        expect(post).toContain(`--url https://graph.microsoft.com/v1.0/servicePrincipals/${graphSp}/appRoleAssignedTo`);
        expect(post).toContain(`{"principalId":"${identity}","resourceId":"${graphSp}","appRoleId":"${roleId}"}`);
        expect(r.stderr).toContain('granted');
    });

    it('uses GRAPH_APP_ROLE_ID as is, without the lookup', () => {
        const r = run({ GRAPH_APP_ROLE_ID: roleId });
        expect(r.status).toBe(0);
        expect(r.calls.some((c) => c.includes('appRoles'))).toBe(false);
        expect(posts(r.calls)).toHaveLength(1);
    });

    it('is idempotent: an existing assignment is left alone', () => {
        const r = run({ AZ_STUB_ROLE_ID: roleId, AZ_STUB_EXISTING: 'existing-assignment-id' });
        expect(r.status).toBe(0);
        expect(r.stderr).toContain('already granted');
        expect(posts(r.calls)).toEqual([]);
    });
});
