import SystemHealthPage from '@/app/(admin)/admin/page';
import { BatchInterval } from '@/lib/realtime/batch-interval';

/**
 * The peer of `npm run bench ui`: System Health with every change as its own batch (one cache
 * patch and one render per change). Not part of the app: the benchmark copies this file into
 * the app for its own build only (PEER_ROUTE in ui.ts) and removes it once built.
 */
export default function UncoalescedSystemHealthPage(props: Parameters<typeof SystemHealthPage>[0]) {
  return (
    <BatchInterval intervalMs={0}>
      <SystemHealthPage {...props} />
    </BatchInterval>
  );
}
