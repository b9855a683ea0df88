'use client';

import { useEffect, useRef } from 'react';
import { useGallery } from '@/lib/jobs/gallery-query';
import { ErrorPanel } from './error-panel';
import { JobCard } from './job-card';

/**
 * The user's jobs as a gallery, newest first, a page at a time: the next page loads when the
 * end of the list scrolls into view, or from the button (keyboard users, and browsers without
 * IntersectionObserver). Live changes are patched into the cards by the layout's subscription.
 */
export function JobGallery({ userId }: { userId: string }) {
  const { data, isPending, error, refetch, hasNextPage, fetchNextPage, isFetchingNextPage, isFetchNextPageError } = useGallery(userId);
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const target = sentinel.current;
    if (!target || !hasNextPage || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  if (isPending) return <div className="skeleton" style={{ height: '10rem' }} aria-label="Loading your jobs" />;
  if (error) return <ErrorPanel title="Your jobs could not be loaded" error={error} onRetry={() => void refetch()} />;
  const jobs = data.pages.flatMap((page) => page.items);
  if (jobs.length === 0) return <p className="muted">No jobs yet. Describe an image and press Generate.</p>;
  return (
    <>
      <ul className="gallery" aria-label="Job history">
        {jobs.map((job) => (
          <JobCard key={job.id} job={job} />
        ))}
      </ul>
      <div ref={sentinel} className="gallery-more">
        {isFetchNextPageError ? <p className="error-text">Older jobs could not be loaded.</p> : null}
        {hasNextPage ? (
          <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
            {isFetchingNextPage ? 'Loading…' : 'Load older jobs'}
          </button>
        ) : null}
      </div>
    </>
  );
}
