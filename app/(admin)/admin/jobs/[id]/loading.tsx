export default function AdminJobLoading() {
  return (
    <div className="stack" aria-busy="true" aria-label="Loading the job">
      <div className="skeleton" style={{ height: '2rem', width: '60%' }} />
      <div className="skeleton" style={{ height: '16rem' }} />
      <div className="skeleton" style={{ height: '10rem' }} />
    </div>
  );
}
