/** A labelled progress bar; screen readers get the value and the stage in words. */
export function JobProgress({ value, label }: { value: number; label: string }) {
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} aria-valuetext={`${value}% — ${label}`} aria-label="Progress">
      <div className="progress-fill" style={{ width: `${value}%` }} />
    </div>
  );
}
