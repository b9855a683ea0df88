import type { TopicStatus } from '@/lib/realtime/private-topic';

const LABELS: Record<TopicStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  paused: 'Paused',
  error: 'Not live',
};

/**
 * Whether the numbers on screen are moving: a polite live region, so a drop is announced. Every
 * live page shows its topic's status with it.
 */
export function LiveStatus({ status }: { status: TopicStatus }) {
  return (
    <span className={`live live-${status}`} role="status" aria-live="polite" aria-label="Live updates">
      <span className="live-dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}
