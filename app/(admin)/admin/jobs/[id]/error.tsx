'use client';

import { ErrorPanel } from '@/components/jobs/error-panel';

export default function AdminJobError({ error, reset }: { error: Error; reset: () => void }) {
  return <ErrorPanel title="This job could not be loaded" error={error} onRetry={reset} />;
}
