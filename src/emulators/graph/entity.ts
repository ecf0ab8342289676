/**
 * `microsoft.graph.managedTenants.aggregatedPolicyCompliance` as the Graph stand-in stores and validates it:
 * the 11 properties of the create contract plus `id`, with OData's JSON typing rules for String, Int64 and DateTimeOffset.
 */

export interface AggregatedPolicyComplianceEntity {
    id: string;
    tenantId: string;
    tenantDisplayName: string;
    compliancePolicyId: string;
    compliancePolicyName: string;
    compliancePolicyType: string;
    compliancePolicyPlatform: string;
    numberOfCompliantDevices: number;
    numberOfNonCompliantDevices: number;
    numberOfErrorDevices: number;
    policyModifiedDateTime: string;
    lastRefreshedDateTime: string;
}

export const entityTypeName = 'microsoft.graph.managedTenants.aggregatedPolicyCompliance';

const stringProperties = [
    'tenantId',
    'tenantDisplayName',
    'compliancePolicyId',
    'compliancePolicyName',
    'compliancePolicyType',
    'compliancePolicyPlatform',
] as const;
export const countProperties = ['numberOfCompliantDevices', 'numberOfNonCompliantDevices', 'numberOfErrorDevices'] as const;
const dateProperties = ['policyModifiedDateTime', 'lastRefreshedDateTime'] as const;

type PropertyName = Exclude<keyof AggregatedPolicyComplianceEntity, 'id'>;
type EdmType = 'Edm.String' | 'Edm.Int64' | 'Edm.DateTimeOffset';

const propertyTypes = new Map<string, EdmType>([
    ...stringProperties.map((p) => [p, 'Edm.String'] as const),
    ...countProperties.map((p) => [p, 'Edm.Int64'] as const),
    ...dateProperties.map((p) => [p, 'Edm.DateTimeOffset'] as const),
]);

/** Property order of the entity as Graph serialises it. */
export const entityProperties: readonly (keyof AggregatedPolicyComplianceEntity)[] = [
    'id',
    ...stringProperties,
    ...countProperties,
    ...dateProperties,
];

/** OData DateTimeOffset: a date and time with an explicit offset; up to 7 fractional digits like Graph's own values. */
const dateTimeOffsetPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const int64StringPattern = /^-?\d{1,19}$/;

/** A rejected body: HTTP 400 with this Graph error code and a message naming the offending property. */
export interface BodyProblem {
    code: 'BadRequest' | 'invalidRequest';
    message: string;
}

export type PropertyValues = Partial<Record<PropertyName, string | number>> & { id?: string };

/** Either the checked value or why the body was rejected. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: BodyProblem };

const rejected = (problem: BodyProblem): { ok: false; problem: BodyProblem } => ({ ok: false, problem });

function typeProblem(property: string, type: EdmType, value: unknown): BodyProblem {
    const shown = typeof value === 'string' ? `'${value.slice(0, 64)}'` : JSON.stringify(value) ?? String(value);
    return {
        code: 'BadRequest',
        message: `Cannot convert the literal ${shown} to the expected type '${type}' for property '${property}'.`,
    };
}

/** The stored value, or undefined when the JSON value does not fit the EDM type. */
function convert(type: EdmType, value: unknown, ieee754Compatible: boolean): string | number | undefined {
    switch (type) {
        case 'Edm.String':
            return typeof value === 'string' ? value : undefined;
        case 'Edm.Int64':
            if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
            // Int64 travels as a decimal string only when the client opted in with IEEE754Compatible=true.
            if (typeof value === 'string' && ieee754Compatible && int64StringPattern.test(value)) {
                const n = Number(value);
                if (Number.isSafeInteger(n)) return n;
            }
            return undefined;
        case 'Edm.DateTimeOffset':
            if (typeof value === 'string' && dateTimeOffsetPattern.test(value) && !Number.isNaN(Date.parse(value))) return value;
            return undefined;
    }
}

/**
 * Check a request body the way Graph's OData deserialiser would: a JSON object with known properties of the right JSON
 * types. Returns the typed values, or the first problem found.
 */
export function readProperties(body: unknown, ieee754Compatible: boolean): Checked<PropertyValues> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return rejected({ code: 'BadRequest', message: 'The request body must be a JSON object.' });
    }
    const values: Record<string, string | number> = {};
    for (const [property, value] of Object.entries(body as Record<string, unknown>)) {
        if (property === '@odata.type') {
            if (value !== `#${entityTypeName}` && value !== entityTypeName) {
                const message = `The type '${String(value)}' in '@odata.type' is not '#${entityTypeName}'.`;
                return rejected({ code: 'BadRequest', message });
            }
            continue;
        }
        const type = property === 'id' ? 'Edm.String' : propertyTypes.get(property);
        if (type === undefined) {
            return rejected({
                code: 'BadRequest',
                message:
                    `The property '${property}' does not exist on type '${entityTypeName}'. ` +
                    'Make sure to only use property names that are defined by the type.',
            });
        }
        const converted = convert(type, value, ieee754Compatible);
        if (converted === undefined) return rejected(typeProblem(property, type, value));
        values[property] = converted;
    }
    return { ok: true, value: values };
}

export function entityId(tenantId: string, compliancePolicyId: string): string {
    return `${tenantId}_${compliancePolicyId}`;
}

/** A create needs every property, and an `id` that is the deterministic `{tenantId}_{compliancePolicyId}`. */
export function entityForCreate(values: PropertyValues): Checked<AggregatedPolicyComplianceEntity> {
    for (const property of entityProperties) {
        if (values[property] === undefined) return rejected({ code: 'invalidRequest', message: `Property '${property}' is required.` });
    }
    const entity = values as AggregatedPolicyComplianceEntity;
    const expected = entityId(entity.tenantId, entity.compliancePolicyId);
    if (entity.id !== expected) {
        return rejected({
            code: 'invalidRequest',
            message: `Property 'id' must equal '{tenantId}_{compliancePolicyId}' ('${expected.slice(0, 160)}').`,
        });
    }
    return { ok: true, value: orderedEntity(entity) };
}

/** A PATCH may change any property except those forming the key. */
export function entityForUpdate(
    stored: AggregatedPolicyComplianceEntity,
    values: PropertyValues,
): Checked<AggregatedPolicyComplianceEntity> {
    for (const keyPart of ['id', 'tenantId', 'compliancePolicyId'] as const) {
        const value = values[keyPart];
        if (value !== undefined && value !== stored[keyPart]) {
            return rejected({ code: 'invalidRequest', message: `Property '${keyPart}' is part of the key and cannot be changed.` });
        }
    }
    return { ok: true, value: orderedEntity({ ...stored, ...values } as AggregatedPolicyComplianceEntity) };
}

function orderedEntity(source: AggregatedPolicyComplianceEntity): AggregatedPolicyComplianceEntity {
    return {
        id: source.id,
        tenantId: source.tenantId,
        tenantDisplayName: source.tenantDisplayName,
        compliancePolicyId: source.compliancePolicyId,
        compliancePolicyName: source.compliancePolicyName,
        compliancePolicyType: source.compliancePolicyType,
        compliancePolicyPlatform: source.compliancePolicyPlatform,
        numberOfCompliantDevices: source.numberOfCompliantDevices,
        numberOfNonCompliantDevices: source.numberOfNonCompliantDevices,
        numberOfErrorDevices: source.numberOfErrorDevices,
        policyModifiedDateTime: source.policyModifiedDateTime,
        lastRefreshedDateTime: source.lastRefreshedDateTime,
    };
}
