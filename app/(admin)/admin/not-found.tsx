import Link from 'next/link';

export default function AdminNotFound() {
  return (
    <div className="card">
      <h1>Not found</h1>
      <p className="muted">There is nothing at this address.</p>
      <Link href="/admin">Back to System Health</Link>
    </div>
  );
}
