import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

import { SettlementError } from '../../errors';
import type { BrokerSettlement } from '../../recoverability/delayed-retry';

/** Settlement mechanics over a GA `@azure/service-bus` peekLock receiver. */
export function receiverSettlement(receiver: ServiceBusReceiver): BrokerSettlement<ServiceBusReceivedMessage> {
    const guard = async (action: string, op: () => Promise<void>) => {
        try {
            await op();
        } catch (err) {
            throw new SettlementError(action, err);
        }
    };
    return {
        complete: (m) => guard('complete', () => receiver.completeMessage(m)),
        deadLetter: (m, reason, description, properties) =>
            guard('deadLetter', () =>
                receiver.deadLetterMessage(m, { ...properties, deadLetterReason: reason, deadLetterErrorDescription: description }),
            ),
        abandon: (m, properties) => guard('abandon', () => receiver.abandonMessage(m, properties)),
    };
}
