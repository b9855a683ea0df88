import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The local platform, Deno worker and benchmarks live under supabase/; the app never imports them.
  outputFileTracingExcludes: { '*': ['supabase/**', '.local/**'] },
};

export default nextConfig;
