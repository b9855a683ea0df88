import { useSyncExternalStore } from 'react';

/** The zone the server draws times in: the same on every host, whatever its own clock says. */
export const SERVER_TIME_ZONE = 'UTC';

const neverChanges = () => () => {};
// Looked up once: React reads the snapshot on every render of every chart, and building the
// Intl object behind it costs about as much as drawing a chart.
let viewer: string | undefined;
const viewerZone = () => (viewer ??= Intl.DateTimeFormat().resolvedOptions().timeZone);
const serverZone = () => SERVER_TIME_ZONE;

/**
 * The viewer's time zone, or UTC while rendering on the server and hydrating. React hydrates
 * with the server's value (the HTML and the first client render match) and then, if the viewer
 * is elsewhere, renders once more in their zone: no mismatch, one small re-render.
 */
export function useTimeZone(): string {
  return useSyncExternalStore(neverChanges, viewerZone, serverZone);
}
