'use client';

import type { RealtimeChannel } from '@supabase/supabase-js';
import { useEffect, useRef } from 'react';
import { createClient } from '@/lib/supabase/client';
import { parseAdminAlertChange, type AdminAlertChange } from './admin-alert-change';

const TOPIC = 'admin:alerts';

type Subscriber = { onChange: (change: AdminAlertChange) => void; resync: () => void };

/**
 * One channel per tab on the private topic 'admin:alerts', shared by the banner and the
 * alerting pages (the banner is on every admin page, so the channel lives as long as the
 * console is open and visible). Alerting changes are few (an incident moves at most once per
 * evaluation, a minute), so each message is handed on as it comes, without batching. The channel
 * is left while the tab is hidden; on rejoining, consumers resync because Realtime does not
 * replay what was sent meanwhile.
 */
const subscribers = new Set<Subscriber>();
let channel: RealtimeChannel | null = null;
let generation = 0;
let joinedBefore = false;

function openChannel() {
  if (channel) return;
  const mine = ++generation;
  const supabase = createClient();
  // The topic is authorised by RLS as the joining user: the socket must carry the user's token.
  void supabase.realtime.setAuth().then(() => {
    if (mine !== generation) return;
    channel = supabase
      .channel(TOPIC, { config: { private: true } })
      .on('broadcast', { event: '*' }, (message: { event: string; payload?: unknown }) => {
        const change = parseAdminAlertChange(message.event, message.payload);
        if (!change) return;
        for (const subscriber of subscribers) subscriber.onChange(change);
      })
      .subscribe((state) => {
        if (mine !== generation || state !== 'SUBSCRIBED') return;
        if (joinedBefore) for (const subscriber of subscribers) subscriber.resync();
        joinedBefore = true;
      });
  }, () => {
    // No session to authorise the join with: the page's own queries show the data, unlive.
  });
}

function closeChannel() {
  generation++;
  const closing = channel;
  channel = null;
  if (closing) void createClient().removeChannel(closing);
}

function onVisibilityChange() {
  if (document.visibilityState === 'hidden') closeChannel();
  else if (subscribers.size > 0) openChannel();
}

function addSubscriber(subscriber: Subscriber): () => void {
  subscribers.add(subscriber);
  if (subscribers.size === 1) document.addEventListener('visibilitychange', onVisibilityChange);
  // A hidden tab that mounts a consumer joins when it is shown.
  if (document.visibilityState !== 'hidden') openChannel();
  return () => {
    subscribers.delete(subscriber);
    if (subscribers.size > 0) return;
    document.removeEventListener('visibilitychange', onVisibilityChange);
    closeChannel();
    joinedBefore = false;
  };
}

/** Calls onChange for every incident and delivery change while the calling component is mounted. */
export function useAdminAlertChanges(onChange: (change: AdminAlertChange) => void, onResync: () => void): void {
  const onChangeRef = useRef(onChange);
  const onResyncRef = useRef(onResync);
  useEffect(() => {
    onChangeRef.current = onChange;
    onResyncRef.current = onResync;
  });
  useEffect(
    () =>
      addSubscriber({
        onChange: (change) => onChangeRef.current(change),
        resync: () => onResyncRef.current(),
      }),
    [],
  );
}
