export default function IncidentsLoading() {
  return <div className="skeleton" style={{ height: '16rem' }} aria-busy="true" aria-label="Loading incidents" />;
}
