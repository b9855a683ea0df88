import { HEALTH_WINDOWS, type HealthWindow } from '@/lib/metrics/health-window';

/** A segmented control of toggle buttons (aria-pressed): reachable and operable by keyboard. */
export function WindowPicker({ value, onChange }: { value: HealthWindow; onChange: (window: HealthWindow) => void }) {
  return (
    <div role="group" aria-label="Time window" className="segmented">
      {(Object.keys(HEALTH_WINDOWS) as HealthWindow[]).map((key) => (
        <button key={key} type="button" aria-pressed={key === value} onClick={() => onChange(key)} title={HEALTH_WINDOWS[key].label}>
          {key}
        </button>
      ))}
    </div>
  );
}
