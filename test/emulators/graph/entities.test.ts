import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { aggregate, collectionPath, startGraphFixture, type GraphErrorBody, type GraphFixture } from './graph-fixture';

describe('Graph stand-in: aggregatedPolicyCompliances', () => {
    let fx: GraphFixture;

    beforeAll(async () => {
        fx = await startGraphFixture();
    });
    afterAll(async () => {
        await fx.close();
    });
    beforeEach(() => {
        fx.graph.reset();
    });

    const create = (body: unknown, version = 'v1.0', headers: Record<string, string> = {}) =>
        fx.call(`/${version}${collectionPath}`, { method: 'POST', json: body, headers });

    it('creates an entity: 201, Location, @odata.context, request ids', async () => {
        const body = aggregate();
        const res = await create(body, 'v1.0', { 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' });

        expect(res.status).toBe(201);
        expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers.get('client-request-id')).toBe('c0ffee00-0000-4000-8000-000000000001');
        expect(res.headers.get('location')).toBe(`${fx.graph.baseUrl}/v1.0${collectionPath}('${String(body.id)}')`);
        const created = (await res.json()) as Record<string, unknown>;
        const { '@odata.type': _type, ...properties } = body;
        expect(created).toEqual({
            '@odata.context': `${fx.graph.baseUrl}/v1.0/$metadata#tenantRelationships/managedTenants/aggregatedPolicyCompliances/$entity`,
            ...properties,
        });
        expect(fx.graph.entities().get(String(body.id))).toEqual(properties);
        expect(fx.graph.stats()).toMatchObject({ entities: 1, writes: 1, byKind: { create: 1 }, byStatus: { 201: 1 } });
    });

    it('answers 409 Conflict with Graph error shape for an existing id', async () => {
        const body = aggregate();
        expect((await create(body)).status).toBe(201);
        const res = await create(body, 'beta', { 'client-request-id': 'dup-1' });

        expect(res.status).toBe(409);
        const error = (await res.json()) as GraphErrorBody;
        expect(error.error).toEqual({
            code: 'Conflict',
            message: 'An entity with this id already exists.',
            innerError: {
                date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
                'request-id': res.headers.get('request-id'),
                'client-request-id': 'dup-1',
            },
        });
    });

    it.each([
        ['an unknown property', { colour: 'blue' }, 'BadRequest', 'colour'],
        ['a number for a string', { tenantDisplayName: 42 }, 'BadRequest', 'tenantDisplayName'],
        ['a string count without IEEE754Compatible', { numberOfCompliantDevices: '12' }, 'BadRequest', 'numberOfCompliantDevices'],
        ['a fractional count', { numberOfErrorDevices: 1.5 }, 'BadRequest', 'numberOfErrorDevices'],
        ['a null count', { numberOfNonCompliantDevices: null }, 'BadRequest', 'numberOfNonCompliantDevices'],
        ['a timestamp without offset', { policyModifiedDateTime: '2021-06-22T17:01:46' }, 'BadRequest', 'policyModifiedDateTime'],
        ['an unparseable timestamp', { lastRefreshedDateTime: 'yesterday' }, 'BadRequest', 'lastRefreshedDateTime'],
        ['a wrong @odata.type', { '@odata.type': '#microsoft.graph.user' }, 'BadRequest', '@odata.type'],
        ['an id not of the form tenantId_policyId', { id: 'abc' }, 'invalidRequest', "'id'"],
        ['a missing id', { id: undefined }, 'invalidRequest', "'id'"],
        ['a missing property', { compliancePolicyName: undefined }, 'invalidRequest', 'compliancePolicyName'],
    ])('rejects %s with 400 naming the property', async (_case, overrides, code, named) => {
        const res = await create(aggregate(overrides));
        expect(res.status).toBe(400);
        const { error } = (await res.json()) as GraphErrorBody;
        expect(error.code).toBe(code);
        expect(error.message).toContain(named);
        expect(fx.graph.entities().size).toBe(0);
    });

    it('rejects malformed JSON, an array body and a non-JSON content type', async () => {
        const post = (body: string, contentType: string) =>
            fx.call(`/v1.0${collectionPath}`, { method: 'POST', body, headers: { 'content-type': contentType } });
        const bad = await post('{"id":', 'application/json');
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as GraphErrorBody).error.code).toBe('BadRequest');
        expect((await create([aggregate()])).status).toBe(400);
        const text = await post(JSON.stringify(aggregate()), 'text/plain');
        expect(text.status).toBe(415);
    });

    it('accepts decimal-string counts only with IEEE754Compatible=true, and answers them as strings', async () => {
        const body = aggregate({ numberOfCompliantDevices: '9007199254740991', numberOfErrorDevices: 2 });
        const res = await create(body, 'beta', { 'content-type': 'application/json;IEEE754Compatible=true' });
        expect(res.status).toBe(201);
        expect(res.headers.get('content-type')).toContain('IEEE754Compatible=true');
        expect(await res.json()).toMatchObject({ numberOfCompliantDevices: '9007199254740991', numberOfErrorDevices: '2' });
        expect(fx.graph.entities().get(String(body.id))?.numberOfCompliantDevices).toBe(9007199254740991);
    });

    it('gets by id (both key syntaxes), with $select, and 404 itemNotFound when missing', async () => {
        const body = aggregate();
        await create(body);
        const id = String(body.id);

        const plain = await fx.call(`/beta${collectionPath}/${encodeURIComponent(id)}`);
        expect(plain.status).toBe(200);
        expect(await plain.json()).toMatchObject({
            id,
            tenantDisplayName: 'Fourth Coffee',
            '@odata.context': expect.stringContaining('/beta/$metadata#'),
        });
        const keyed = await fx.call(`/v1.0${collectionPath}('${id}')?$select=id,numberOfCompliantDevices`);
        const selected = (await keyed.json()) as Record<string, unknown>;
        expect(Object.keys(selected).sort()).toEqual(['@odata.context', 'id', 'numberOfCompliantDevices']);

        const missing = await fx.call(`/v1.0${collectionPath}/nope_nope`);
        expect(missing.status).toBe(404);
        expect(((await missing.json()) as GraphErrorBody).error.code).toBe('itemNotFound');
    });

    it('patches with 204, validates like create and refuses to change the key', async () => {
        const body = aggregate();
        await create(body);
        const url = `/v1.0${collectionPath}/${String(body.id)}`;

        const change = { numberOfErrorDevices: 4, lastRefreshedDateTime: '2024-01-02T03:04:05+02:00' };
        const ok = await fx.call(url, { method: 'PATCH', json: change });
        expect(ok.status).toBe(204);
        expect(await ok.text()).toBe('');
        expect(fx.graph.entities().get(String(body.id))).toMatchObject(change);

        const wrongType = await fx.call(url, { method: 'PATCH', json: { numberOfErrorDevices: 'four' } });
        expect(wrongType.status).toBe(400);
        for (const change of [{ id: 'x_y' }, { tenantId: 'other' }]) {
            const res = await fx.call(url, { method: 'PATCH', json: change });
            expect(res.status).toBe(400);
            expect(((await res.json()) as GraphErrorBody).error.code).toBe('invalidRequest');
        }
        const missing = await fx.call(`/v1.0${collectionPath}/a_b`, { method: 'PATCH', json: { numberOfErrorDevices: 1 } });
        expect(missing.status).toBe(404);
    });

    it('deletes with 204, then 404', async () => {
        const body = aggregate();
        await create(body);
        const url = `/beta${collectionPath}/${String(body.id)}`;
        expect((await fx.call(url, { method: 'DELETE' })).status).toBe(204);
        expect(fx.graph.entities().size).toBe(0);
        expect((await fx.call(url, { method: 'DELETE' })).status).toBe(404);
    });

    it('lists with $top paging through opaque nextLinks and $filter on tenantId', async () => {
        const tenant = '0f0f0f0f-0000-4000-8000-000000000000';
        for (let i = 0; i < 5; i++) await create(aggregate({ tenantId: tenant, compliancePolicyId: `p${i}` }));
        for (let i = 0; i < 3; i++) await create(aggregate());

        const seen: string[] = [];
        const filter = encodeURIComponent(`tenantId eq '${tenant}'`);
        let next: string | undefined = `${fx.graph.baseUrl}/v1.0${collectionPath}?$top=2&$filter=${filter}`;
        let pages = 0;
        while (next) {
            const res = await fx.call(next.slice(fx.graph.baseUrl.length));
            expect(res.status).toBe(200);
            const page = (await res.json()) as { value: { tenantId: string }[]; '@odata.nextLink'?: string; '@odata.context': string };
            expect(page['@odata.context']).toContain('$metadata#tenantRelationships/managedTenants/aggregatedPolicyCompliances');
            expect(page.value.length).toBeLessThanOrEqual(2);
            seen.push(...page.value.map((e) => e.tenantId));
            next = page['@odata.nextLink'];
            if (next) expect(next).toMatch(/\$skiptoken=[A-Za-z0-9_-]+$/);
            pages++;
        }
        expect(pages).toBe(3);
        expect(seen).toEqual(Array(5).fill(tenant));

        const all = (await (await fx.call(`/beta${collectionPath}`)).json()) as { value: unknown[]; '@odata.nextLink'?: string };
        expect(all.value).toHaveLength(8);
        expect(all['@odata.nextLink']).toBeUndefined();
    });

    it('pages 100 entities by default', async () => {
        const requests = Array.from({ length: 101 }, () => create(aggregate()));
        expect((await Promise.all(requests)).every((r) => r.status === 201)).toBe(true);
        const page = (await (await fx.call(`/v1.0${collectionPath}`)).json()) as { value: unknown[]; '@odata.nextLink'?: string };
        expect(page.value).toHaveLength(100);
        expect(page['@odata.nextLink']).toBeDefined();
    });

    it('rejects unsupported list options and bad skip tokens with 400', async () => {
        for (const query of ['$top=0', '$top=abc', "$filter=tenantDisplayName eq 'x'", '$orderby=id', '$skiptoken=garbage']) {
            const res = await fx.call(`/v1.0${collectionPath}?${query}`);
            expect(res.status, query).toBe(400);
        }
    });

    it('answers unknown versions and segments with 400 and wrong methods with 405', async () => {
        expect((await fx.call(`/v2.0${collectionPath}`)).status).toBe(400);
        expect((await fx.call('/v1.0/me')).status).toBe(400);
        expect((await fx.call(`/v1.0${collectionPath}`, { method: 'DELETE' })).status).toBe(405);
    });
});
