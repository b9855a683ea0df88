/**
 * A failed job's reason in words, from its error class: the class is what the live message
 * carries, and a card has room for a sentence, not a provider's error body (the job page shows
 * the full message).
 */
const REASONS: Record<string, string> = {
  timeout: 'The image service took too long',
  rate_limited: 'The image service was too busy',
  server_error: 'The image service had an error',
  network_error: 'The image service could not be reached',
  safety_blocked: 'The prompt was blocked by the safety filter',
  client_error: 'The request was refused',
  not_found: 'The model is not available',
  model_disabled: 'The model was switched off',
  deadline_exceeded: 'It did not finish in time',
  lease_expired: 'The worker stopped responding',
  failed_by_staff: 'Stopped by support',
};

export function describeFailure(errorClass: string | null): string {
  if (!errorClass) return 'Unknown error';
  return REASONS[errorClass] ?? errorClass.replace(/_/g, ' ');
}
