import Link from 'next/link';

export default function AdminJobNotFound() {
  return (
    <div className="card">
      <h1>Job not found</h1>
      <p className="muted">No job has this id. Check the link, or search for the job in the explorer.</p>
      <Link href="/admin/jobs">Go to the job explorer</Link>
    </div>
  );
}
