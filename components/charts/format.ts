/** Number formats shared by the charts, the KPI cards and the model table (fixed locale: server and browser render the same text). */
export const formatPercent = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(1)}%`);

export const formatLatency = (ms: number | null) => (ms === null ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
/** Axis counts: 1,200 as "1.2K", 3,500,000 as "3.5M". */
export const formatCompact = (value: number) => compact.format(value);

export const formatCount = (value: number) => value.toLocaleString('en-US');
