import Link from 'next/link';

export default function JobNotFound() {
  return (
    <div className="card">
      <h1>Job not found</h1>
      <p>There is no job with this address in your account.</p>
      <p>
        <Link href="/jobs">Back to your jobs</Link>
      </p>
    </div>
  );
}
