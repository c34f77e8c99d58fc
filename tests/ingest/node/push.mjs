// Pushes one trace (with a 45 s child span), a few metrics and two log records to the
// endpoint in OTEL_EXPORTER_OTLP_ENDPOINT with the real OpenTelemetry Node.js SDK and its
// OTLP/HTTP protobuf exporters, then prints {"traceId": ...} on stdout.
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { trace, metrics } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';

const sdk = new NodeSDK({
  resource: resourceFromAttributes({
    'service.name': 'timeline-studio-node',
    'service.namespace': 'studio',
    'service.instance.id': 'node-1',
  }),
  autoDetectResources: false,
  traceExporter: new OTLPTraceExporter(),
  metricReader: new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter(),
    exportIntervalMillis: 3600000,
  }),
  logRecordProcessors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter() })],
  instrumentations: [],
});
sdk.start();

const tracer = trace.getTracer('editor-node');
let traceId = '';
tracer.startActiveSpan('node_render_pipeline', (root) => {
  traceId = root.spanContext().traceId;
  root.setAttribute('video_id', 'n-42');
  root.addEvent('preparation_started');
  const start = Date.now() - 45000;
  const slow = tracer.startSpan('node_encode', { startTime: start });
  slow.end(start + 45000);
  root.end();
});

const meter = metrics.getMeter('editor-node');
meter.createCounter('frames_processed').add(240, { codec: 'av1' });
meter.createHistogram('frame.processing.duration', { unit: 'ms' }).record(8);
meter.createHistogram('node.request.duration', { unit: 's' }).record(0.25, { route: '/render' });
meter.createUpDownCounter('queue_size').add(4);

const logger = logs.getLogger('editor-node');
logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'node: cache almost full' });
logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'node: render failed', attributes: { clip: 'c-9' } });

await sdk.shutdown();
process.stdout.write(JSON.stringify({ traceId }) + '\n');
