import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The corner badge of `next dev` would sit on every page the e2e journeys capture; build and
  // runtime errors still show in the overlay.
  devIndicators: false,
  // A second Next.js in the same folder (the e2e specs while `npm run dev` runs) needs its own
  // build directory: Next.js locks the one it uses.
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // The local platform, Deno worker and benchmarks live under supabase/; the app never imports them.
  outputFileTracingExcludes: { '*': ['supabase/**', '.local/**'] },
};

export default nextConfig;
