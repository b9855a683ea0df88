'use client';

import { ErrorPanel } from '@/components/jobs/error-panel';

export default function JobsError({ error, reset }: { error: Error; reset: () => void }) {
  return <ErrorPanel title="Jobs could not be loaded" error={error} onRetry={reset} />;
}
