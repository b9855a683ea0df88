'use client';

import { ErrorPanel } from '@/components/jobs/error-panel';

export default function UsersError({ error, reset }: { error: Error; reset: () => void }) {
  return <ErrorPanel title="This page could not be loaded" error={error} onRetry={reset} />;
}
