import { useId, type ReactNode } from 'react';

/**
 * One term and its value in a `<dl>`, the value labelled by its term (`aria-labelledby`):
 * assistive technology reads "Stage: Generating" as one thing, and the value is found by its
 * label (`getByLabel('Stage', { exact: true })`).
 */
export function Fact({ term, children, live }: { term: string; children: ReactNode; live?: boolean }) {
  const id = useId();
  return (
    <>
      <dt id={id}>{term}</dt>
      <dd aria-labelledby={id} aria-live={live ? 'polite' : undefined}>
        {children}
      </dd>
    </>
  );
}
