import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The corner badge of `next dev` would sit on every page the e2e journeys capture; build and
  // runtime errors still show in the overlay.
  devIndicators: false,
  // `next dev` serves its scripts and hot reload to the host it was started for (localhost) and
  // blocks them for any other origin, so a page opened at http://127.0.0.1:3000 would render
  // without scripts and its sign-in would do nothing. Both loopback names are this machine.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  // A second Next.js in the same folder (the e2e specs while `npm run dev` runs) needs its own
  // build directory: Next.js locks the one it uses.
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // The local platform, Deno worker and benchmarks live under supabase/; the app never imports them.
  outputFileTracingExcludes: { '*': ['supabase/**', '.local/**'] },
  // The app uses no next/image (its thumbnails are made by the thumbnail route). Only `npm run
  // bench thumbnail` turns the image optimizer on, as the peer it measures the route against:
  // images from the local platform's Storage (a loopback address, which the optimizer refuses
  // unless told) at the route's quality, 80.
  ...(process.env.JOBHEALTH_BENCH_IMAGE_OPTIMIZER === '1' && process.env.NEXT_PUBLIC_SUPABASE_URL
    ? {
        images: {
          // Signed URLs carry their token in the query string, which a URL pattern would have to match exactly.
          remotePatterns: [benchStoragePattern(process.env.NEXT_PUBLIC_SUPABASE_URL)],
          dangerouslyAllowLocalIP: true,
          qualities: [80],
        },
      }
    : {}),
};

function benchStoragePattern(apiUrl: string) {
  const url = new URL(apiUrl);
  return { protocol: url.protocol.replace(':', '') as 'http' | 'https', hostname: url.hostname, port: url.port, pathname: '/storage/v1/object/sign/**' };
}

export default nextConfig;
