'use client';

import type { RealtimeChannel } from '@supabase/supabase-js';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { createClient } from '@/lib/supabase/client';

/** Whether what a page shows from a topic is moving, for the UI to say so. */
export type TopicStatus = 'connecting' | 'live' | 'reconnecting' | 'paused' | 'error';

/** What a feature hands the lifecycle: how to read the topic's messages and how to catch up. */
export interface TopicSubscriber {
  /** Every broadcast message of the topic, unparsed: the feature owns the message schema. */
  onMessage(event: string, payload: unknown): void;
  /**
   * Called on every join (the first one included) and when the subscriber arrives at a channel
   * already joined: Realtime replays nothing, so whatever was committed between the data's fetch
   * (a server render, a reconnect, a hidden tab) and the join is only seen by reading it again.
   */
  onJoin(): void;
  /** Called before the channel is left for a hidden tab: deliver what is pending. */
  onPause?(): void;
}

/**
 * The one lifecycle of a private topic in a tab. Every consumer of a topic shares its channel
 * (the server sends each message once per channel, so two channels would double the traffic and
 * the parsing); the channel lives while at least one consumer is mounted and the tab is visible.
 * The topic is authorised by RLS on realtime.messages as the joining user, so the socket carries
 * the user's token: `setAuth()` reads it from the client's session (and supabase-js hands the
 * refreshed token on by itself); without a session the join is not attempted and the status says
 * the page is not live.
 */
class PrivateTopic {
  private readonly subscribers = new Set<TopicSubscriber>();
  private readonly statusListeners = new Set<() => void>();
  private channel: RealtimeChannel | null = null;
  /** Bumped whenever the channel is closed, so a join still awaiting setAuth does not resurrect it. */
  private generation = 0;
  private joined = false;
  private joinedBefore = false;
  status: TopicStatus = 'connecting';

  constructor(readonly name: string) {}

  subscribe(subscriber: TopicSubscriber): () => void {
    this.subscribers.add(subscriber);
    if (this.subscribers.size === 1) document.addEventListener('visibilitychange', this.onVisibilityChange);
    if (document.visibilityState === 'hidden') this.setStatus('paused');
    else if (this.joined) subscriber.onJoin();
    else this.open();
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size > 0) return;
      document.removeEventListener('visibilitychange', this.onVisibilityChange);
      this.close('connecting');
      this.joinedBefore = false;
    };
  }

  subscribeStatus = (listener: () => void) => {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  };

  private setStatus(next: TopicStatus) {
    if (this.status === next) return;
    this.status = next;
    for (const listener of this.statusListeners) listener();
  }

  private open() {
    if (this.channel) return;
    const mine = ++this.generation;
    this.setStatus(this.joinedBefore ? 'reconnecting' : 'connecting');
    const supabase = createClient();
    supabase.realtime.setAuth().then(
      () => {
        if (mine !== this.generation) return;
        this.channel = supabase
          .channel(this.name, { config: { private: true } })
          .on('broadcast', { event: '*' }, (message: { event: string; payload?: unknown }) => {
            for (const subscriber of this.subscribers) subscriber.onMessage(message.event, message.payload);
          })
          .subscribe((state) => {
            if (mine !== this.generation) return;
            if (state === 'SUBSCRIBED') {
              this.joined = true;
              this.joinedBefore = true;
              this.setStatus('live');
              for (const subscriber of this.subscribers) subscriber.onJoin();
              return;
            }
            this.joined = false;
            this.setStatus(state === 'CHANNEL_ERROR' && !this.joinedBefore ? 'error' : 'reconnecting');
          });
      },
      () => {
        // No session to authorise the join with: the page's own queries still show the data.
        if (mine === this.generation) this.setStatus('error');
      },
    );
  }

  private close(next: TopicStatus) {
    this.generation++;
    this.joined = false;
    const closing = this.channel;
    this.channel = null;
    if (closing) void createClient().removeChannel(closing);
    this.setStatus(next);
  }

  private onVisibilityChange = () => {
    if (document.visibilityState === 'hidden') {
      // Deliver what already arrived, then rest: no socket traffic, no renders in a hidden tab.
      for (const subscriber of this.subscribers) subscriber.onPause?.();
      this.close('paused');
    } else if (this.subscribers.size > 0) {
      this.open();
    }
  };
}

/** A tab meets a handful of topic names (its user's, the admin ones, a model's queue): kept for its life. */
const topics = new Map<string, PrivateTopic>();

function topicNamed(name: string): PrivateTopic {
  let topic = topics.get(name);
  if (!topic) {
    topic = new PrivateTopic(name);
    topics.set(name, topic);
  }
  return topic;
}

const notSubscribed = () => () => {};

/**
 * Subscribes the calling component to a private topic while it is mounted (and `name` is not
 * null). The callbacks may change on every render; the subscription does not.
 */
export function usePrivateTopic(name: string | null, subscriber: TopicSubscriber): { status: TopicStatus } {
  const latest = useRef(subscriber);
  useEffect(() => {
    latest.current = subscriber;
  });

  useEffect(() => {
    if (name === null) return;
    return topicNamed(name).subscribe({
      onMessage: (event, payload) => latest.current.onMessage(event, payload),
      onJoin: () => latest.current.onJoin(),
      onPause: () => latest.current.onPause?.(),
    });
  }, [name]);

  const status = useSyncExternalStore(
    name === null ? notSubscribed : topicNamed(name).subscribeStatus,
    () => (name === null ? 'paused' : topicNamed(name).status),
    () => 'connecting' as const,
  );
  return { status };
}
