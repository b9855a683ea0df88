import type { ReactNode } from 'react';

/**
 * A row's actions, in the last column of a console table. The column is pinned to the right
 * edge of its TableScroll: where the data is wider than the screen (a phone) it scrolls under
 * the actions, which never leave the view; the buttons wrap inside the cell instead of widening
 * the table.
 */
export function RowActionsHeader() {
  return (
    <th scope="col" className="row-actions">
      Actions
    </th>
  );
}

export function RowActions({ children }: { children: ReactNode }) {
  return (
    <td className="row-actions">
      <div className="row-actions-buttons">{children}</div>
    </td>
  );
}
