/**
 * Turns the errors of an end user's job functions (create_job, cancel_jobs, delete_job,
 * generate_again) into sentences for the user. The SQL raises with a SQLSTATE (PT402 credits,
 * PT429 queued-jobs limit, PT404 no such job of theirs, PT409 the job's state does not allow it,
 * 22023 invalid input, 42501 not signed in) and a message that already carries the numbers or
 * the state, so the message is kept and only framed.
 */
export interface RpcError {
  code?: string | null;
  message: string;
}

export type JobErrorKind = 'credits' | 'rate_limit' | 'disabled_model' | 'invalid' | 'not_found' | 'conflict' | 'auth' | 'unknown';

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
    case 'PT404':
      return { kind: 'not_found', message: 'This job no longer exists.' };
    case 'PT409':
      return { kind: 'conflict', message: `${capitalise(message.replace(/^job /, 'this job '))}.` };
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
