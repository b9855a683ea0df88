/** Query keys for the data life cycle, built here only. */
export const retentionKeys = {
  all: ['retention'] as const,
  status: () => [...retentionKeys.all, 'status'] as const,
  /** Each kind's window and last pass, read by pages that say what was pruned. */
  policies: () => [...retentionKeys.all, 'policies'] as const,
};
