import { QueryClient } from '@tanstack/react-query';

/**
 * One QueryClient per server request and one per browser tab, never a module-level singleton
 * on the server: a shared cache would hand one user's jobs to another user's render.
 * staleTime keeps the data the server prefetched from being refetched the moment the client
 * hydrates it; live changes arrive through Realtime, not through refetching.
 */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 30_000, refetchOnWindowFocus: false, retry: 1 },
    },
  });
}
