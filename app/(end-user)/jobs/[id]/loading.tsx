export default function JobLoading() {
  return (
    <div className="card" aria-busy="true" aria-label="Loading the job">
      <div className="skeleton" style={{ height: '1.5rem', width: '40%' }} />
      <div className="skeleton" style={{ height: '1rem', marginTop: '1rem' }} />
      <div className="skeleton" style={{ height: '16rem', marginTop: '1rem' }} />
    </div>
  );
}
