'use client';

import Link from 'next/link';
import { useState } from 'react';
import { Timestamp } from '@/components/format/timestamp';
import { describeFailure } from '@/lib/jobs/failure-reason';
import { galleryImage, thumbnailRoute } from '@/lib/jobs/gallery-image';
import type { GalleryItem } from '@/lib/jobs/gallery-query';
import type { JobResult } from '@/supabase/functions/_shared/job-result';
import { useImageDownload } from '@/lib/jobs/image-download';
import { isTerminal } from '@/lib/jobs/job-schema';
import { useResultUrl } from '@/lib/jobs/result-url-query';
import { DeleteJobDialog } from './delete-job-dialog';
import { JobProgress } from './job-progress';
import { JobStatusBadge } from './job-status-badge';

/** The placeholder's box while the image is signed: images keep their aspect ratio inside it. */
const THUMB = 160;

/**
 * One job in the gallery: its image when done, its progress while it runs, the reason and the
 * refund when it failed, when its image expired if the retention window removed it. The card links to the job's page; below it, an ended job's Download
 * (when it has an image) and Delete, outside the link (a control inside a link is not allowed).
 */
export function JobCard({ job }: { job: GalleryItem }) {
  return (
    <li className="job-card">
      <Link href={`/jobs/${job.id}`} className="job-card-link">
        <div className="job-card-media">
          {job.status === 'succeeded' && job.result ? <Thumbnail job={job} result={job.result} /> : <StatusPanel job={job} />}
        </div>
        <div className="job-card-body">
          <span className="job-prompt">{job.prompt}</span>
          <span className="job-meta">
            <JobStatusBadge status={job.status} />
            <span className="muted">
              <Timestamp iso={job.created_at} />
            </span>
          </span>
        </div>
      </Link>
      {isTerminal(job.status) ? <CardActions job={job} /> : null}
    </li>
  );
}

function CardActions({ job }: { job: GalleryItem }) {
  const download = useImageDownload();
  const [confirming, setConfirming] = useState(false);
  return (
    <div className="job-card-actions">
      {job.status === 'succeeded' && job.result ? (
        <button type="button" onClick={() => download.mutate({ ...job, result: job.result! })} disabled={download.isPending}>
          Download
        </button>
      ) : null}
      <button type="button" className="button-danger" onClick={() => setConfirming(true)}>
        Delete
      </button>
      {download.error ? (
        <span role="alert" className="error-text">
          {download.error.message}
        </span>
      ) : null}
      {confirming ? <DeleteJobDialog jobId={job.id} userId={job.user_id} prompt={job.prompt} onClose={() => setConfirming(false)} /> : null}
    </div>
  );
}

function Thumbnail({ job, result }: { job: GalleryItem; result: JobResult }) {
  const image = galleryImage({ ...job, result });
  // The page's batch signed the stored thumbnail, or pointed at the route that makes it; a job that
  // finished after its page was loaded asks the route. When no thumbnail can be made (the route
  // answers an error), the card shows the full image instead.
  const [failed, setFailed] = useState(false);
  // A server-rendered card's image starts loading before hydration, so its error may come before
  // React listens for it: an image already broken when it mounts has failed too.
  const brokenOnMount = (img: HTMLImageElement | null) => {
    if (img && img.complete && img.naturalWidth === 0) setFailed(true);
  };
  const full = useResultUrl(job.id, failed ? { bucket: result.bucket, path: result.path } : null);
  const src = failed ? full.data : (job.thumbnailUrl ?? thumbnailRoute(job.id));
  if (!src) {
    const [width, height] = fit(image.width, image.height);
    return <div className="skeleton job-thumb" style={{ width, height }} aria-label="Loading the image" />;
  }
  // The image's own size, so the browser reserves the right shape before it loads; CSS fits it to the card.
  const [width, height] = image.width && image.height ? [image.width, image.height] : [THUMB, THUMB];
  return (
    // eslint-disable-next-line @next/next/no-img-element -- a signed Storage URL or the app's thumbnail route, not a static asset
    <img
      src={src}
      alt={`Generated image: ${job.prompt}`}
      className="job-thumb"
      width={width}
      height={height}
      loading="lazy"
      decoding="async"
      ref={failed ? undefined : brokenOnMount}
      onError={failed ? undefined : () => setFailed(true)}
    />
  );
}

function StatusPanel({ job }: { job: GalleryItem }) {
  switch (job.status) {
    case 'running':
      return (
        <div className="job-card-status">
          <JobProgress value={job.progress} label={job.stage ?? 'Starting'} />
          <span className="muted">{job.progress}%</span>
        </div>
      );
    case 'failed':
      return (
        <div className="job-card-status error-text">
          <span>{describeFailure(job.error_class)}</span>
          {job.refunded > 0 ? <span className="refunded">{job.refunded} credit{job.refunded === 1 ? '' : 's'} refunded</span> : null}
        </div>
      );
    case 'cancelled':
      return (
        <div className="job-card-status muted">
          <span>Cancelled</span>
          {job.refunded > 0 ? <span className="refunded">{job.refunded} credit{job.refunded === 1 ? '' : 's'} refunded</span> : null}
        </div>
      );
    default:
      // An expired image's job keeps its card: the retention window removed the image, not the job.
      if (job.image_expired_at) {
        return (
          <div className="job-card-status muted">
            <span>
              Image expired on <Timestamp iso={job.image_expired_at} />
            </span>
          </div>
        );
      }
      return <div className="job-card-status muted">{job.status === 'queued' ? 'Waiting for a worker' : 'No image'}</div>;
  }
}

/** The image's size scaled into the thumbnail box, so the browser reserves the right space before it loads. */
function fit(width: number | null | undefined, height: number | null | undefined): [number, number] {
  if (!width || !height) return [THUMB, THUMB];
  const scale = THUMB / Math.max(width, height);
  return [Math.round(width * scale), Math.round(height * scale)];
}
