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
};

export default nextConfig;
