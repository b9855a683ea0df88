import Link from 'next/link';

export default function IncidentNotFound() {
  return (
    <div className="card">
      <h1>Incident not found</h1>
      <p className="muted">No incident has this number.</p>
      <Link href="/admin/incidents">Go to the incidents</Link>
    </div>
  );
}
