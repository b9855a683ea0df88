'use client';

import { ErrorPanel } from '@/components/jobs/error-panel';

export default function AuditError({ error, reset }: { error: Error; reset: () => void }) {
  return <ErrorPanel title="The audit log could not be loaded" error={error} onRetry={reset} />;
}
