'use client';

import type { RealtimeChannel } from '@supabase/supabase-js';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { createClient } from '@/lib/supabase/client';
import { parseAdminJobChange, type AdminJobChange } from './admin-job-change';
import { createChangeBatcher, type ChangeBatcher } from './change-batcher';

export type { AdminJobChange } from './admin-job-change';
export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'paused' | 'error';

const TOPIC = 'admin:jobs';
const EVENT = 'job_changed';

type Subscriber = { batcher: ChangeBatcher<AdminJobChange>; resync: () => void };

/**
 * One channel per tab for every consumer (System Health, the job explorer, ...): the server
 * sends each change once per channel, so two components each holding their own would double
 * the traffic and the parsing. The channel lives while at least one consumer is mounted and
 * the tab is visible.
 */
const subscribers = new Set<Subscriber>();
const statusListeners = new Set<() => void>();
let status: StreamStatus = 'connecting';
let channel: RealtimeChannel | null = null;
/** Bumped whenever the channel is closed, so a join still awaiting setAuth does not resurrect it. */
let generation = 0;
/** Once a join succeeded, every later join is a reconnect after which consumers must resync. */
let joinedBefore = false;

function setStatus(next: StreamStatus) {
  if (status === next) return;
  status = next;
  for (const listener of statusListeners) listener();
}

function openChannel() {
  if (channel) return;
  const mine = ++generation;
  setStatus(joinedBefore ? 'reconnecting' : 'connecting');
  const supabase = createClient();
  // The private topic is authorised by RLS as the joining user: the socket must carry the
  // user's token, not the anon key.
  void supabase.realtime.setAuth().then(
    () => {
      if (mine !== generation) return;
      channel = supabase
        .channel(TOPIC, { config: { private: true } })
        .on('broadcast', { event: EVENT }, (message: { payload?: unknown }) => {
          const change = parseAdminJobChange(message.payload);
          if (!change) return;
          for (const subscriber of subscribers) subscriber.batcher.push(change);
        })
        .subscribe((state) => {
          if (mine !== generation) return;
          if (state === 'SUBSCRIBED') {
            setStatus('live');
            // Realtime does not replay what was sent while the socket was down or the tab hidden.
            if (joinedBefore) for (const subscriber of subscribers) subscriber.resync();
            joinedBefore = true;
          } else if (state === 'CHANNEL_ERROR') {
            setStatus(joinedBefore ? 'reconnecting' : 'error');
          } else {
            setStatus('reconnecting');
          }
        });
    },
    () => {
      if (mine === generation) setStatus('error');
    },
  );
}

function closeChannel(next: StreamStatus) {
  generation++;
  const closing = channel;
  channel = null;
  if (closing) void createClient().removeChannel(closing);
  setStatus(next);
}

function onVisibilityChange() {
  if (document.visibilityState === 'hidden') {
    // Deliver what already arrived, then rest: no socket traffic, no renders in a hidden tab.
    for (const subscriber of subscribers) subscriber.batcher.flush();
    closeChannel('paused');
  } else if (subscribers.size > 0) {
    openChannel();
  }
}

function addSubscriber(subscriber: Subscriber): () => void {
  subscribers.add(subscriber);
  if (subscribers.size === 1) document.addEventListener('visibilitychange', onVisibilityChange);
  if (document.visibilityState === 'hidden') setStatus('paused');
  else openChannel();
  return () => {
    subscriber.batcher.cancel();
    subscribers.delete(subscriber);
    if (subscribers.size > 0) return;
    document.removeEventListener('visibilitychange', onVisibilityChange);
    closeChannel('connecting');
    joinedBefore = false;
  };
}

function subscribeStatus(listener: () => void) {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

/** Subscribes to the private 'admin:jobs' topic while the calling component is mounted.
 *  onBatch receives coalesced batches (at most ~4 per second; within a batch only the newest change per job id);
 *  onResync is called after a reconnect and when the tab becomes visible again (the consumer refetches/invalidates);
 *  while the tab is hidden the subscription is closed (status 'paused'). One shared channel for all consumers on the page (ref-counted). */
export function useAdminJobChanges(
  onBatch: (changes: AdminJobChange[]) => void,
  options?: { onResync?: () => void; enabled?: boolean; /** Only for measuring what coalescing saves (0: a batch per event). */ batchIntervalMs?: number },
): { status: StreamStatus } {
  const enabled = options?.enabled ?? true;
  const batchIntervalMs = options?.batchIntervalMs ?? 250;
  // Latest callbacks through refs: consumers pass inline functions, and resubscribing on every
  // render would drop the channel each time.
  const onBatchRef = useRef(onBatch);
  const onResyncRef = useRef(options?.onResync);
  useEffect(() => {
    onBatchRef.current = onBatch;
    onResyncRef.current = options?.onResync;
  });

  useEffect(() => {
    if (!enabled) return;
    return addSubscriber({
      batcher: createChangeBatcher<AdminJobChange>((changes) => onBatchRef.current(changes), { intervalMs: batchIntervalMs }),
      resync: () => onResyncRef.current?.(),
    });
  }, [enabled, batchIntervalMs]);

  const current = useSyncExternalStore(subscribeStatus, () => status, () => 'connecting' as const);
  return { status: enabled ? current : 'paused' };
}
