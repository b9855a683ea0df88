export default function JobsLoading() {
  return (
    <div className="columns" aria-busy="true" aria-label="Loading your jobs">
      <div className="card skeleton" style={{ height: '20rem' }} />
      <div className="card skeleton" style={{ height: '20rem' }} />
    </div>
  );
}
