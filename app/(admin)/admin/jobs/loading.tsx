export default function JobsLoading() {
  return (
    <div className="stack" aria-busy="true" aria-label="Loading jobs">
      <div className="skeleton" style={{ height: '7rem' }} />
      {Array.from({ length: 10 }, (_, i) => (
        <div key={i} className="skeleton" style={{ height: '1.6rem' }} />
      ))}
    </div>
  );
}
