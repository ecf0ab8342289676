// First: registers the SDK-binding message factory that turns the host's modelBindingData into messages.
import '@azure/functions-extensions-servicebus';

import { app } from '@azure/functions';

import { ingestHandlerFromEnvironment } from '../src/hosts/functions/handler';

// Settings are validated here, at app start: a misconfigured app fails to load with one error listing every problem.
const handler = ingestHandlerFromEnvironment();

app.serviceBusQueue('ingest', {
    connection: 'ServiceBusConnection',
    queueName: '%COMPLIANCE_QUEUE_NAME%',
    cardinality: 'many',
    // SDK binding + no auto-complete: the handler settles every message itself (complete / dead-letter / abandon).
    sdkBinding: true,
    autoCompleteMessages: false,
    handler,
});
