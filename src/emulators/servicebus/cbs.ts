/**
 * Claims-based security (`$cbs`): every link is preceded by a put-token request. The emulator accepts any token
 * (it never reads the signature), answering with the kebab-case status keys CBS uses.
 */
import type { Message } from 'rhea';

export const cbsAddress = '$cbs';

export function answerCbsRequest(request: Message): Partial<Message> {
    const operation = (request.application_properties as Record<string, unknown> | undefined)?.operation;
    const accepted = operation === 'put-token';
    return {
        correlation_id: request.message_id,
        application_properties: accepted
            ? { 'status-code': 202, 'status-description': 'Accepted' }
            : { 'status-code': 501, 'status-description': `Operation ${String(operation)} is not supported` },
    };
}
