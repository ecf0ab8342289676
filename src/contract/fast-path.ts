/**
 * A hand-written route for bodies that are entirely valid, because running the valibot pipeline costs several
 * times a `JSON.parse` of the same body. It either returns exactly what `aggregateSchema` would, or gives up
 * (undefined) and leaves the verdict and the issue messages to valibot. Equality is proven by property tests.
 */
import {
    acceptedPropertyNames,
    CONTROL_CHARACTER_PATTERN,
    DIGITS_PATTERN,
    GUID_PATTERN,
    hasAtMostCodePoints,
    isSafeDigitString,
    MAX_LABEL_LENGTH,
    MAX_NAME_LENGTH,
    type ComplianceAggregate,
} from './aggregate';
import { ENTITY_ODATA_TYPE } from '../entity';
import { normaliseTimestamp } from './timestamp';

export function tryFastPath(body: Record<string, unknown>): ComplianceAggregate | undefined {
    for (const key of Object.keys(body)) if (!acceptedPropertyNames.has(key)) return undefined;
    const tenantId = guid(body.tenantId);
    const compliancePolicyId = guid(body.compliancePolicyId);
    const tenantDisplayName = text(body.tenantDisplayName, MAX_NAME_LENGTH);
    const compliancePolicyName = text(body.compliancePolicyName, MAX_NAME_LENGTH);
    const compliancePolicyType = text(body.compliancePolicyType, MAX_LABEL_LENGTH);
    const compliancePolicyPlatform = text(body.compliancePolicyPlatform, MAX_LABEL_LENGTH);
    const numberOfCompliantDevices = count(body.numberOfCompliantDevices);
    const numberOfNonCompliantDevices = count(body.numberOfNonCompliantDevices);
    const numberOfErrorDevices = count(body.numberOfErrorDevices);
    const policyModifiedDateTime = typeof body.policyModifiedDateTime === 'string' ? normaliseTimestamp(body.policyModifiedDateTime) : undefined;
    const lastRefreshedDateTime = typeof body.lastRefreshedDateTime === 'string' ? normaliseTimestamp(body.lastRefreshedDateTime) : undefined;
    if (
        tenantId === undefined ||
        compliancePolicyId === undefined ||
        tenantDisplayName === undefined ||
        compliancePolicyName === undefined ||
        compliancePolicyType === undefined ||
        compliancePolicyPlatform === undefined ||
        numberOfCompliantDevices === undefined ||
        numberOfNonCompliantDevices === undefined ||
        numberOfErrorDevices === undefined ||
        policyModifiedDateTime === undefined ||
        lastRefreshedDateTime === undefined
    ) {
        return undefined;
    }
    const { id } = body;
    if (id !== undefined && (typeof id !== 'string' || id.toLowerCase() !== `${tenantId}_${compliancePolicyId}`)) return undefined;
    const odataType = body['@odata.type'];
    if (odataType !== undefined && odataType !== ENTITY_ODATA_TYPE) return undefined;
    return {
        tenantId,
        tenantDisplayName,
        compliancePolicyId,
        compliancePolicyName,
        compliancePolicyType,
        compliancePolicyPlatform,
        numberOfCompliantDevices,
        numberOfNonCompliantDevices,
        numberOfErrorDevices,
        policyModifiedDateTime,
        lastRefreshedDateTime,
    };
}

function guid(value: unknown): string | undefined {
    return typeof value === 'string' && GUID_PATTERN.test(value) ? value.toLowerCase() : undefined;
}

function text(value: unknown, maxLength: number): string | undefined {
    if (typeof value !== 'string') return undefined;
    const trimmed = value.trim();
    return trimmed.length > 0 && hasAtMostCodePoints(trimmed, maxLength) && !CONTROL_CHARACTER_PATTERN.test(trimmed) ? trimmed : undefined;
}

function count(value: unknown): number | undefined {
    if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value + 0 : undefined;
    if (typeof value === 'string') return DIGITS_PATTERN.test(value) && isSafeDigitString(value) ? Number(value) : undefined;
    return undefined;
}
