/** Query keys for credits; a job's charge or refund invalidates `all`. */
export const creditKeys = {
  all: ['credits'] as const,
  balance: (userId: string) => [...creditKeys.all, 'balance', userId] as const,
  jobRefund: (jobId: string) => [...creditKeys.all, 'job-refund', jobId] as const,
  ledger: (userId: string) => [...creditKeys.all, 'ledger', userId] as const,
};
