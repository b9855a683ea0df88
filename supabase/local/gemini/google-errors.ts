/**
 * Google API error bodies (`google.rpc.Status` as JSON), as generativelanguage sends them. The
 * SDK turns any non-2xx into `ApiError` with `.status` = HTTP status and `.message` = this JSON,
 * so the worker classifies on the status and may read `error.status` / `details` from the message.
 */
export interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

export class GoogleApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
    readonly details?: Array<Record<string, unknown>>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): GoogleErrorBody {
    return { error: { code: this.code, message: this.message, status: this.status, ...(this.details ? { details: this.details } : {}) } };
  }
}

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

export const invalidArgument = (message: string) => new GoogleApiError(400, 'INVALID_ARGUMENT', message);

export const apiKeyMissing = () =>
  new GoogleApiError(
    403,
    'PERMISSION_DENIED',
    'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.',
  );

export const apiKeyInvalid = () =>
  new GoogleApiError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
    { '@type': ERROR_INFO, reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
  ]);

export const modelNotFound = (model: string, apiVersion: string, method: string) =>
  new GoogleApiError(
    404,
    'NOT_FOUND',
    `models/${model} is not found for API version ${apiVersion}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
  );

export const notFound = () => new GoogleApiError(404, 'NOT_FOUND', 'Requested entity was not found.');

/**
 * A quota 429: the RetryInfo detail carries the delay (Gemini's own hint), and Retry-After says
 * the same to clients that read headers, so the worker's backoff can honour either.
 */
export const resourceExhausted = (model: string, retryAfterSeconds: number) =>
  new GoogleApiError(
    429,
    'RESOURCE_EXHAUSTED',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_paid_tier_requests',
            quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
            quotaDimensions: { location: 'global', model },
            quotaValue: '10',
          },
        ],
      },
      { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` },
    ],
    { 'retry-after': String(retryAfterSeconds) },
  );

export const internalError = () =>
  new GoogleApiError(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');

export const unavailable = () => new GoogleApiError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
