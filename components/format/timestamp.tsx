const FORMATS = {
  /** Tables and facts: "12/1/26, 2:39:27 PM" in the viewer's locale. */
  datetime: new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' }),
  /** A live feed, where the day is today: "02:39:27 PM". */
  clock: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
};

/**
 * A moment in the viewer's own time zone and locale. The server renders these pages in its
 * zone (UTC on most hosts) and the browser then renders them in the viewer's, so the text
 * may legitimately differ between the two: the hydration warning is suppressed for this
 * element only, and the machine-readable value stays in `dateTime`.
 */
export function Timestamp({ iso, format = 'datetime', empty = '—' }: { iso: string | null | undefined; format?: keyof typeof FORMATS; empty?: string }) {
  if (!iso) return <>{empty}</>;
  return (
    <time dateTime={iso} suppressHydrationWarning>
      {FORMATS[format].format(new Date(iso))}
    </time>
  );
}
