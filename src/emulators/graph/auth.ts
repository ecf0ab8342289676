/**
 * Bearer-token checks of the Graph stand-in: signature against the identity stand-in's JWKS, issuer, lifetime,
 * audience and an app role. Verdicts are cached by a hash of the token so a hot request path costs one hash and a
 * map lookup instead of a signature verification.
 */
import { createHash } from 'node:crypto';
import type { JSONWebKeySet } from 'jose' with { 'resolution-mode': 'import' };

export type AccessVerdict =
    | { status: 'allowed' }
    | { status: 401; code: 'InvalidAuthenticationToken'; message: string }
    | { status: 403; code: 'Authorization_RequestDenied'; message: string };

export interface TrustedIssuer {
    issuer: string;
    jwks: JSONWebKeySet;
}

export interface AccessCheckOptions {
    /** The identity stand-in's keys, or 'none' to let every request through (benchmarks of Graph-less CPU). */
    identity: TrustedIssuer | 'none' | undefined;
    audience: string;
    requiredRole: string;
}

const allowed: AccessVerdict = { status: 'allowed' };
const emptyToken: AccessVerdict = { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token is empty.' };
const expiredToken: AccessVerdict = {
    status: 401,
    code: 'InvalidAuthenticationToken',
    message: 'Lifetime validation failed, the token is expired.',
};
const insufficientPrivileges: AccessVerdict = {
    status: 403,
    code: 'Authorization_RequestDenied',
    message: 'Insufficient privileges to complete the operation.',
};
const invalid = (message: string): AccessVerdict => ({ status: 401, code: 'InvalidAuthenticationToken', message });

/** Enough for every token a test or benchmark will present; cleared wholesale when full to stay bounded. */
const maxCachedTokens = 10_000;

interface CachedVerdict {
    verdict: AccessVerdict;
    /** Token expiry in ms; a cached verdict never outlives its token. */
    expiresAtMs: number;
}

type JoseModule = Awaited<ReturnType<typeof loadJose>>;
const loadJose = () => import('jose');

export class AccessCheck {
    private readonly cache = new Map<string, CachedVerdict>();
    private keySet: ReturnType<JoseModule['createLocalJWKSet']> | undefined;

    private constructor(
        private readonly jose: JoseModule,
        private readonly options: AccessCheckOptions,
    ) {
        const identity = options.identity;
        if (identity !== undefined && identity !== 'none') this.keySet = jose.createLocalJWKSet(identity.jwks);
    }

    static async create(options: AccessCheckOptions): Promise<AccessCheck> {
        return new AccessCheck(await loadJose(), options);
    }

    /** The verdict when it is known without async work (no auth, empty header, cached token); otherwise undefined. */
    quickVerdict(authorization: string | undefined): AccessVerdict | undefined {
        if (this.options.identity === 'none') return allowed;
        const token = bearerToken(authorization);
        if (token === undefined) return emptyToken;
        const cached = this.cache.get(tokenHash(token));
        if (cached === undefined) return undefined;
        return Date.now() < cached.expiresAtMs ? cached.verdict : expiredToken;
    }

    async verify(authorization: string | undefined): Promise<AccessVerdict> {
        const quick = this.quickVerdict(authorization);
        if (quick !== undefined) return quick;
        const token = bearerToken(authorization) ?? '';
        const identity = this.options.identity;
        if (this.keySet === undefined || identity === undefined || identity === 'none') {
            return invalid('Access token validation failure. No trusted token issuer is configured.');
        }
        let payload: { exp?: number; roles?: unknown };
        try {
            ({ payload } = await this.jose.jwtVerify(token, this.keySet, {
                issuer: identity.issuer,
                audience: this.options.audience,
                requiredClaims: ['exp'],
            }));
        } catch (err) {
            return this.rejection(err);
        }
        const roles = Array.isArray(payload.roles) ? payload.roles : [];
        const verdict = roles.includes(this.options.requiredRole) ? allowed : insufficientPrivileges;
        if (this.cache.size >= maxCachedTokens) this.cache.clear();
        this.cache.set(tokenHash(token), { verdict, expiresAtMs: (payload.exp ?? 0) * 1000 });
        return verdict;
    }

    private rejection(err: unknown): AccessVerdict {
        const { errors } = this.jose;
        if (err instanceof errors.JWTExpired) return expiredToken;
        if (err instanceof errors.JWTClaimValidationFailed) {
            if (err.claim === 'aud') return invalid('Access token validation failure. Invalid audience.');
            if (err.claim === 'iss') return invalid('Access token validation failure. Invalid issuer.');
            return invalid(`Access token validation failure. Invalid '${err.claim}' claim.`);
        }
        if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
            return invalid('Access token validation failure. Signature validation failed.');
        }
        return invalid('Access token validation failure. JWT is not well formed.');
    }
}

function bearerToken(authorization: string | undefined): string | undefined {
    if (authorization === undefined || authorization.length < 8) return undefined;
    if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
    const token = authorization.slice(7).trim();
    return token === '' ? undefined : token;
}

function tokenHash(token: string): string {
    return createHash('sha256').update(token).digest('base64');
}
