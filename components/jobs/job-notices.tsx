'use client';

import Link from 'next/link';
import { useJobNotices } from '@/lib/jobs/user-jobs-topic';

/**
 * "Your job finished" notices, in a polite live region so screen readers announce them without
 * moving focus. They only link: a finished job never takes the screen by itself.
 */
export function JobNotices() {
  const { notices, dismiss } = useJobNotices();
  return (
    <section className="notices" aria-label="Notifications" role="status" aria-live="polite">
      {notices.map((notice) => (
        <div key={notice.jobId} className={`toast ${notice.status === 'failed' ? 'toast-error' : 'toast-ok'}`}>
          <p>
            {notice.status === 'succeeded' ? 'Your image is ready' : notice.refunded > 0 ? 'A job failed and its credits were refunded' : 'A job failed'}
            {notice.prompt ? <span className="toast-prompt">: {notice.prompt}</span> : null}
          </p>
          <div className="row">
            <Link href={`/jobs/${notice.jobId}`}>View job</Link>
            <button type="button" className="link-button" onClick={() => dismiss(notice.jobId)} aria-label="Dismiss notification">
              Dismiss
            </button>
          </div>
        </div>
      ))}
    </section>
  );
}
