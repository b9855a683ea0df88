'use client';

import { memo, useMemo, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { Curve, Layer, Surface } from 'recharts';
import { bucketAt, isolatedPoints, layoutChart, AXIS_FONT_PX, type ChartGeometry, type ChartKind, type ChartSeries } from './chart-geometry';
import { bucketLabel, zoneOffsetSeconds } from './time-axis';
import { useChartSize } from './use-chart-size';
import { useTimeZone } from './use-time-zone';

/**
 * The size a chart is drawn at before it has measured its box: a chart column of the console
 * at 1,440 px wide (half of the main column, less the card's padding). Other widths are scaled
 * to fit until the first measurement redraws them at their own size.
 */
const ASSUMED_WIDTH = 550;
/** `.chart-box` is 14rem high; the legend under the plot takes 1.5rem of it (admin.css). */
const BOX_HEIGHT = 224;
const LEGEND_HEIGHT = 24;

const AXIS_COLOR = '#666';
const GRID_COLOR = '#ccc';

type Props = {
  /** The accessible name: the chart's title and its one-line summary. */
  label: string;
  kind: ChartKind;
  /** How a line or area passes between buckets: smoothly, or holding its value until the next. */
  curve?: 'monotone' | 'stepAfter';
  buckets: readonly string[];
  bucketSeconds: number;
  series: readonly ChartSeries[];
  stacked?: boolean;
  yMax?: number;
  integer?: boolean;
  formatY: (value: number) => string;
  /** Values in the tooltip; by default as on the axis. */
  formatValue?: (value: number) => string;
  legend?: boolean;
};

/**
 * A time-series chart drawn as plain SVG from computed geometry (chart-geometry.ts), with the
 * chart library's shape primitives for the series. It renders the same markup on the server
 * as in the browser, so System Health shows its charts from the HTML, before any script runs,
 * and hydration adopts them as they are. (Recharts' own chart containers draw nothing on the
 * server: their series register through effects.) Hovering, or the arrow keys once the chart
 * has focus, shows a bucket's values.
 */
export const TimeSeriesChart = memo(function TimeSeriesChart({ label, kind, curve = 'monotone', buckets, bucketSeconds, series, stacked, yMax, integer, formatY, formatValue = formatY, legend = true }: Props) {
  const timeZone = useTimeZone();
  const [plotRef, size] = useChartSize<HTMLDivElement>({ width: ASSUMED_WIDTH, height: legend ? BOX_HEIGHT - LEGEND_HEIGHT : BOX_HEIGHT });
  const labels = useMemo(() => buckets.map((b) => bucketLabel(b, bucketSeconds, timeZone)), [buckets, bucketSeconds, timeZone]);
  const offset = useMemo(() => (buckets.length ? zoneOffsetSeconds(Date.parse(buckets[0]!), timeZone) : 0), [buckets, timeZone]);
  const geometry = useMemo(
    () => layoutChart({ kind, buckets, series, stacked, yMax, integer, formatY, labels, bucketSeconds, zoneOffsetSeconds: offset }, size),
    [kind, buckets, series, stacked, yMax, integer, formatY, labels, bucketSeconds, offset, size],
  );
  const [pointed, setPointed] = useState<number | null>(null);
  // A window with fewer buckets may arrive while a bucket of the last one is pointed at.
  const active = pointed !== null && pointed < buckets.length ? pointed : null;

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    // Before the first measurement the drawing is scaled to the box: map back to its units.
    setPointed(bucketAt(geometry, ((event.clientX - box.left) * size.width) / box.width, buckets.length));
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const last = buckets.length - 1;
    const next =
      event.key === 'ArrowRight' ? Math.min(last, (active ?? -1) + 1)
      : event.key === 'ArrowLeft' ? Math.max(0, (active ?? last + 1) - 1)
      : event.key === 'Home' ? 0
      : event.key === 'End' ? last
      : event.key === 'Escape' ? null
      : undefined;
    if (next === undefined) return;
    event.preventDefault();
    setPointed(next);
  };

  return (
    // A picture with a text equivalent (the label); the tooltip is a visual extra reachable by
    // pointer and keyboard alike.
    <div className="chart-box" role="img" aria-label={label} tabIndex={0} onKeyDown={onKeyDown} onBlur={() => setPointed(null)}>
      <div className="chart-plot" ref={plotRef} onPointerMove={onPointerMove} onPointerLeave={() => setPointed(null)}>
        <Surface width="100%" height="100%" viewBox={{ x: 0, y: 0, width: size.width, height: size.height }}>
          <ChartBody geometry={geometry} kind={kind} curve={curve} series={series} />
          {active !== null ? <Cursor geometry={geometry} index={active} kind={kind} /> : null}
        </Surface>
        {active !== null ? <ChartTooltip geometry={geometry} index={active} width={size.width} heading={labels[active]!} series={series} format={formatValue} /> : null}
      </div>
      {legend ? (
        <ul className="chart-legend">
          {series.map((s) => (
            <li key={s.key}>
              <span className="chart-swatch" style={{ background: s.color }} />
              {s.name}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
});

/** Grid, axes and series: everything that changes with the data, not with the pointer. */
const ChartBody = memo(function ChartBody({ geometry, kind, curve, series }: { geometry: ChartGeometry; kind: ChartKind; curve: 'monotone' | 'stepAfter'; series: readonly ChartSeries[] }) {
  const { plot, yTicks, xTicks, baseline } = geometry;
  const right = plot.left + plot.width;
  const bottom = plot.top + plot.height;
  const color = (key: string) => series.find((s) => s.key === key)?.color;
  return (
    <>
      <Layer>
        {yTicks.map((t) => (
          <line key={t.value} x1={plot.left} x2={right} y1={t.y} y2={t.y} stroke={GRID_COLOR} strokeDasharray="3 3" />
        ))}
      </Layer>
      <Layer fontSize={AXIS_FONT_PX} fill={AXIS_COLOR}>
        <line x1={plot.left} x2={plot.left} y1={plot.top} y2={bottom} stroke={AXIS_COLOR} />
        {yTicks.map((t) => (
          <text key={t.value} x={plot.left - 6} y={t.y} textAnchor="end" dominantBaseline="middle">
            {t.label}
          </text>
        ))}
      </Layer>
      <Layer fontSize={AXIS_FONT_PX} fill={AXIS_COLOR}>
        <line x1={plot.left} x2={right} y1={bottom} y2={bottom} stroke={AXIS_COLOR} />
        {xTicks.map((t) => (
          <text key={t.index} x={t.x} y={bottom + 15} textAnchor="middle">
            {t.label}
          </text>
        ))}
      </Layer>
      {kind === 'bar'
        ? geometry.bars.map(({ key, bars }) => (
            <Layer key={key}>
              {bars.map((b) => (
                <rect key={b.index} x={b.x} y={b.y} width={b.width} height={b.height} fill={color(key)} />
              ))}
            </Layer>
          ))
        : geometry.lines.map(({ key, points }) =>
            kind === 'area' ? (
              <Layer key={key}>
                <Curve layout="horizontal" type={curve} points={points} baseLine={baseline} fill={color(key)} fillOpacity={0.25} stroke="none" />
                <Curve layout="horizontal" type={curve} points={points} fill="none" stroke={color(key)} strokeWidth={1.5} />
              </Layer>
            ) : (
              <Layer key={key}>
                <Curve layout="horizontal" type={curve} points={points} fill="none" stroke={color(key)} strokeWidth={1.5} />
                {isolatedPoints(points).map((p) => (
                  <circle key={p.x} cx={p.x} cy={p.y} r={2.5} fill={color(key)} />
                ))}
              </Layer>
            ),
          )}
    </>
  );
});

function Cursor({ geometry, index, kind }: { geometry: ChartGeometry; index: number; kind: ChartKind }) {
  const { plot, band } = geometry;
  return kind === 'bar' ? (
    <rect x={plot.left + band * index} y={plot.top} width={band} height={plot.height} fill="#000" fillOpacity={0.06} pointerEvents="none" />
  ) : (
    <line x1={plot.left + band * (index + 0.5)} x2={plot.left + band * (index + 0.5)} y1={plot.top} y2={plot.top + plot.height} stroke={AXIS_COLOR} pointerEvents="none" />
  );
}

function ChartTooltip({ geometry, index, width, heading, series, format }: { geometry: ChartGeometry; index: number; width: number; heading: string; series: readonly ChartSeries[]; format: (value: number) => string }) {
  const x = geometry.plot.left + geometry.band * (index + 0.5);
  // Beside the cursor, on whichever side has room.
  const style = x < width / 2 ? { left: `${(x / width) * 100}%`, marginLeft: 12 } : { right: `${100 - (x / width) * 100}%`, marginRight: 12 };
  return (
    <div className="chart-tooltip" style={{ ...style, top: geometry.plot.top }}>
      <div className="chart-tooltip-heading">{heading}</div>
      {series.map((s) => {
        const value = s.values[index];
        return (
          <div key={s.key}>
            <span className="chart-swatch" style={{ background: s.color }} /> {s.name}: {value == null ? '–' : format(value)}
          </div>
        );
      })}
    </div>
  );
}
