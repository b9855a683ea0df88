/**
 * Turns create_job / cancel_jobs errors into sentences for the user. The SQL raises with a
 * SQLSTATE (PT402 credits, PT429 queued-jobs limit, 22023 invalid input, 42501 not signed in)
 * and a message that already carries the numbers, so the message is kept and only framed.
 */
export interface RpcError {
  code?: string | null;
  message: string;
}

export type JobErrorKind = 'credits' | 'rate_limit' | 'disabled_model' | 'invalid' | 'auth' | 'unknown';

export interface JobErrorView {
  kind: JobErrorKind;
  message: string;
}

export function describeJobError(error: RpcError): JobErrorView {
  const message = error.message ?? 'Something went wrong';
  switch (error.code) {
    case 'PT402':
      return { kind: 'credits', message: `Not enough credits: ${stripPrefix(message, 'not enough credits: ')}.` };
    case 'PT429':
      return {
        kind: 'rate_limit',
        message: `Too many jobs waiting: ${stripPrefix(message, 'too many queued jobs: ')}. Wait for some to finish.`,
      };
    case '22023':
      if (/is disabled/.test(message)) return { kind: 'disabled_model', message: `This model is switched off right now (${message}). Choose another.` };
      return { kind: 'invalid', message: capitalise(message) };
    case '42501':
      return { kind: 'auth', message: 'Your session has ended. Sign in again.' };
    default:
      return { kind: 'unknown', message: capitalise(message) };
  }
}

function stripPrefix(text: string, prefix: string) {
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

function capitalise(text: string) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
