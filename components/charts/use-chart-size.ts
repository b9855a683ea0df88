import { useCallback, useRef, useState } from 'react';
import type { ChartSize } from './chart-geometry';

/**
 * The pixel size of the element a chart draws into. Until it has been measured (on the server,
 * and while hydrating) it is `assumed`: the size the layout gives a chart on a common laptop
 * screen. The SVG is drawn in those units and scaled by its viewBox to whatever box it really
 * has, so the server's drawing already fits; after hydration the chart is redrawn at its true
 * size only if that differs. Measuring never happens during render, so the server HTML and
 * the first client render always agree.
 */
export function useChartSize<T extends HTMLElement>(assumed: ChartSize): [(element: T | null) => void, ChartSize] {
  const [size, setSize] = useState(assumed);
  const observer = useRef<ResizeObserver | null>(null);
  const ref = useCallback((element: T | null) => {
    observer.current?.disconnect();
    observer.current = null;
    if (!element) return;
    observer.current = new ResizeObserver(([entry]) => {
      if (!entry) return;
      const width = Math.round(entry.contentRect.width);
      const height = Math.round(entry.contentRect.height);
      // A hidden or collapsed box keeps the last drawing rather than a zero-sized one.
      if (width <= 0 || height <= 0) return;
      setSize((current) => (current.width === width && current.height === height ? current : { width, height }));
    });
    observer.current.observe(element);
  }, []);
  return [ref, size];
}
