/**
 * Only the service role may run the worker. The platform has already verified the JWT's
 * signature (verify_jwt), but any project JWT passes that, a signed-in user's included, and a
 * user must not be able to make the worker spend Gemini calls. Returns why the call is refused,
 * or undefined when it may proceed.
 */
export function requireServiceRole(authorization: string | null): string | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return 'a service-role bearer token is required';
  const payload = token.split('.')[1];
  if (!payload) return 'the bearer token is not a JWT';
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims = JSON.parse(json) as { role?: unknown };
    return claims.role === 'service_role' ? undefined : 'only the service role may invoke the worker';
  } catch {
    return 'the bearer token is not a JWT';
  }
}
