import type { ReactNode } from 'react';

/**
 * A table wider than its column scrolls sideways inside this box. A box that scrolls must be
 * reachable from the keyboard (WCAG 2.1.1; axe's `scrollable-region-focusable`): it takes
 * focus, so the arrow keys scroll it, and it is a named region, so a screen reader says what
 * has focus. Every console table sits in one: a table that fits a laptop may still scroll on a
 * phone.
 */
export function TableScroll({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <div className={className ? `table-scroll ${className}` : 'table-scroll'} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
