'use client';

import { createContext, useContext, type ReactNode } from 'react';

/** How long a burst of changes is gathered into one batch: at most 4 batches a second. */
export const DEFAULT_BATCH_INTERVAL_MS = 250;

const BatchIntervalContext = createContext(DEFAULT_BATCH_INTERVAL_MS);

/**
 * Sets the batching interval of every live view inside it. The app never does: it exists so
 * that a build of the page with every change as its own batch (0) can be composed outside the
 * product, to measure what coalescing saves (supabase/bench/ui-peer-page.tsx).
 */
export function BatchInterval({ intervalMs, children }: { intervalMs: number; children: ReactNode }) {
  return <BatchIntervalContext.Provider value={intervalMs}>{children}</BatchIntervalContext.Provider>;
}

export const useBatchInterval = () => useContext(BatchIntervalContext);
