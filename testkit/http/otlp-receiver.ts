import { WebhookReceiver } from './webhook-receiver.ts';

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1, as a collector's `otlp` receiver takes traces: POST
 * <endpoint>/v1/traces with an ExportTraceServiceRequest in JSON (what both the worker's exporter
 * and @opentelemetry/exporter-trace-otlp-http send), answered 200 with an empty
 * ExportTraceServiceResponse. Built on the webhook receiver: the same recording server.
 */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  links: { traceId: string; spanId: string }[];
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } };

function value(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(list: { key: string; value: OtlpValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

export class OtlpReceiver {
  readonly http = new WebhookReceiver();
  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint = '';

  async start(): Promise<this> {
    await this.http.start();
    this.endpoint = new URL(this.http.url).origin;
    this.answerWith(200);
    return this;
  }

  /** How the receiver answers from now on (a collector refusing, overloaded...). */
  answerWith(status: number): void {
    this.http.answer = (res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{}' : '{"code":14,"message":"unavailable"}');
    };
  }

  /** The raw request bodies, as sent. */
  bodies(): string[] {
    return this.http.received.map((r) => r.body);
  }

  /** Every span received, across requests, in arrival order. */
  spans(): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (const request of this.http.received) {
      const body = JSON.parse(request.body) as {
        resourceSpans?: { resource?: { attributes?: { key: string; value: OtlpValue }[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({
              service,
              traceId: s.traceId as string,
              spanId: s.spanId as string,
              parentSpanId: (s.parentSpanId as string | undefined) || undefined,
              name: s.name as string,
              kind: s.kind as number,
              start: BigInt(s.startTimeUnixNano as string),
              end: BigInt(s.endTimeUnixNano as string),
              attributes: attributes(s.attributes as { key: string; value: OtlpValue }[]),
              status: (s.status as ReceivedSpan['status']) ?? {},
              links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            });
          }
        }
      }
    }
    return out;
  }

  stop(): Promise<void> {
    return this.http.stop();
  }
}
