/** Number formats shared by the charts, the KPI cards and the model table (fixed locale: server and browser render the same text). */
export const formatPercent = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(1)}%`);

export const formatLatency = (ms: number | null) => (ms === null ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
