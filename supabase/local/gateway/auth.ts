import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { JwtError, type JwtClaims } from '../jwt.ts';
import { requestCredential, verifyCredential } from './credentials.ts';
import { bearerToken, HttpError, readJson, sendJson, type GatewayContext, type GatewayService } from './http.ts';

/**
 * The GoTrue (Supabase Auth) endpoints this project uses: password sign-in, refresh with
 * rotation, the current user, logout, the JWKS, and the admin calls to create and delete a
 * user. Storage and token semantics follow GoTrue: bcrypt hashes made by pgcrypto's crypt() in
 * auth.users, sessions in auth.sessions, one refresh token chain per session in
 * auth.refresh_tokens, access tokens signed with the project's asymmetric key (kid in the header).
 */
export interface AuthOptions {
  /** Access token lifetime in seconds (config.toml auth.jwt_expiry; GoTrue's default 3600). */
  jwtExpiry?: number;
  /** How long a rotated refresh token may be replayed, in seconds (auth.refresh_token_reuse_interval; 10). */
  refreshTokenReuseInterval?: number;
}

const API_VERSION = '2024-01-01';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  email_confirmed_at: Date | null;
  phone_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  banned_until: Date | null;
  is_anonymous: boolean;
}

const USER_COLUMNS = `id, aud, role, email, phone, email_confirmed_at, phone_confirmed_at, last_sign_in_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, banned_until, is_anonymous`;

function iso(value: Date | null): string | undefined {
  return value ? value.toISOString() : undefined;
}

/** The user object GoTrue returns. */
function userJson(user: UserRow) {
  return {
    id: user.id,
    aud: user.aud ?? 'authenticated',
    role: user.role ?? 'authenticated',
    email: user.email ?? '',
    email_confirmed_at: iso(user.email_confirmed_at),
    phone: user.phone ?? '',
    phone_confirmed_at: iso(user.phone_confirmed_at),
    confirmed_at: iso(user.email_confirmed_at ?? user.phone_confirmed_at),
    last_sign_in_at: iso(user.last_sign_in_at),
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: [],
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
    is_anonymous: user.is_anonymous,
  };
}

/** GoTrue's error body: the 2024-01-01 shape when the client asks for it, else the legacy one. */
function authError(req: IncomingMessage, status: number, code: string, message: string): HttpError {
  const modern = req.headers['x-supabase-api-version'] === API_VERSION;
  const body = modern ? { code, message } : { code: status, error_code: code, msg: message };
  return new HttpError(status, body, { 'x-supabase-api-version': API_VERSION });
}

function newRefreshToken(): string {
  return randomBytes(9).toString('base64url').slice(0, 12);
}

export function createAuthService(ctx: GatewayContext, options: AuthOptions = {}): GatewayService {
  const db = ctx.adminPool;
  const ACCESS_TOKEN_TTL_S = options.jwtExpiry ?? 3600;
  const REFRESH_REUSE_INTERVAL_MS = (options.refreshTokenReuseInterval ?? 10) * 1000;

  const issueAccessToken = async (user: UserRow, sessionId: string, signInAt: number) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: JwtClaims = {
      iss: `${ctx.apiUrl()}/auth/v1`,
      sub: user.id,
      aud: user.aud ?? 'authenticated',
      exp: now + ACCESS_TOKEN_TTL_S,
      iat: now,
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: signInAt }],
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    };
    return { token: await ctx.keys.tokens.sign(claims), expiresAt: now + ACCESS_TOKEN_TTL_S };
  };

  const sessionResponse = async (user: UserRow, sessionId: string, refreshToken: string, signInAt: number) => {
    const access = await issueAccessToken(user, sessionId, signInAt);
    return {
      access_token: access.token,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      expires_at: access.expiresAt,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  };

  const bodyOf = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      throw authError(req, 400, 'bad_json', 'Could not parse request body as JSON');
    }
    if (body === undefined) return {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw authError(req, 400, 'bad_json', 'Request body must be a JSON object');
    }
    return body as Record<string, unknown>;
  };

  const passwordGrant = async (req: IncomingMessage) => {
    const body = await bodyOf(req);
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!email || !password) {
      throw authError(req, 400, 'validation_failed', 'You must provide either an email or phone number and a password');
    }
    const client = await db.connect();
    try {
      await client.query('begin');
      // crypt() re-hashes the given password with the stored salt and cost, as bcrypt compare does.
      const { rows } = await client.query<UserRow & { password_ok: boolean }>(
        `select ${USER_COLUMNS},
                coalesce(encrypted_password = extensions.crypt($2, encrypted_password), false) as password_ok
           from auth.users where lower(email) = $1 and deleted_at is null`,
        [email, password],
      );
      const found = rows[0];
      if (!found || !found.password_ok) {
        await client.query('rollback');
        throw authError(req, 400, 'invalid_credentials', 'Invalid login credentials');
      }
      if (found.banned_until && found.banned_until.getTime() > Date.now()) {
        await client.query('rollback');
        throw authError(req, 400, 'user_banned', 'User is banned');
      }
      const sessionId = randomUUID();
      const refreshToken = newRefreshToken();
      const updated = await client.query<UserRow>(
        `update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1 returning ${USER_COLUMNS}`,
        [found.id],
      );
      await client.query(
        `insert into auth.sessions (id, user_id, user_agent, refreshed_at) values ($1, $2, $3, now())`,
        [sessionId, found.id, req.headers['user-agent'] ?? null],
      );
      await client.query(`insert into auth.refresh_tokens (token, user_id, session_id) values ($1, $2, $3)`, [
        refreshToken,
        found.id,
        sessionId,
      ]);
      await client.query('commit');
      return await sessionResponse(updated.rows[0]!, sessionId, refreshToken, Math.floor(Date.now() / 1000));
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };

  const refreshGrant = async (req: IncomingMessage) => {
    const body = await bodyOf(req);
    const token = typeof body.refresh_token === 'string' ? body.refresh_token : '';
    if (!token) throw authError(req, 400, 'validation_failed', 'refresh_token required');
    const client = await db.connect();
    try {
      await client.query('begin');
      const found = await client.query<{ id: string; revoked: boolean; session_id: string; user_id: string; updated_at: Date }>(
        `select id, revoked, session_id, user_id, updated_at from auth.refresh_tokens where token = $1 for update`,
        [token],
      );
      const row = found.rows[0];
      if (!row) {
        await client.query('rollback');
        throw authError(req, 400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      }
      const session = await client.query<{ created_at: Date }>(
        `select created_at from auth.sessions where id = $1 for update`,
        [row.session_id],
      );
      if (!session.rows[0]) {
        await client.query('rollback');
        throw authError(req, 400, 'session_not_found', 'Invalid Refresh Token: Session Not Found');
      }
      let nextToken: string;
      if (row.revoked) {
        // A revoked token replayed shortly after its rotation (two tabs refreshing at once)
        // gets the session's current token; any later replay means it leaked, so GoTrue
        // ends the whole session.
        const child = await client.query<{ token: string }>(
          `select token from auth.refresh_tokens where session_id = $1 and revoked = false order by id desc limit 1`,
          [row.session_id],
        );
        const withinReuse = Date.now() - row.updated_at.getTime() < REFRESH_REUSE_INTERVAL_MS;
        if (!withinReuse || !child.rows[0]) {
          await client.query(`delete from auth.sessions where id = $1`, [row.session_id]);
          await client.query('commit');
          throw authError(req, 400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
        }
        nextToken = child.rows[0].token;
      } else {
        nextToken = newRefreshToken();
        await client.query(`update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1`, [row.id]);
        await client.query(
          `insert into auth.refresh_tokens (token, user_id, session_id, parent) values ($1, $2, $3, $4)`,
          [nextToken, row.user_id, row.session_id, token],
        );
        await client.query(`update auth.sessions set refreshed_at = now(), updated_at = now() where id = $1`, [
          row.session_id,
        ]);
      }
      const user = await client.query<UserRow>(
        `select ${USER_COLUMNS} from auth.users where id = $1 and deleted_at is null`,
        [row.user_id],
      );
      if (!user.rows[0]) {
        await client.query('rollback');
        throw authError(req, 400, 'user_not_found', 'Invalid Refresh Token: User Not Found');
      }
      await client.query('commit');
      const signInAt = Math.floor(session.rows[0].created_at.getTime() / 1000);
      return await sessionResponse(user.rows[0], row.session_id, nextToken, signInAt);
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };

  /** Verifies the bearer token and that its session still exists (logout ends it at once). */
  const currentUser = async (req: IncomingMessage): Promise<{ claims: JwtClaims; user: UserRow }> => {
    const token = bearerToken(req);
    if (!token) throw authError(req, 401, 'no_authorization', 'This endpoint requires a Bearer token');
    let claims: JwtClaims;
    try {
      claims = await ctx.keys.tokens.verify(token);
    } catch (error) {
      const expired = error instanceof JwtError && error.reason === 'expired';
      throw authError(req, 403, 'bad_jwt', expired ? 'invalid JWT: token is expired' : `invalid JWT: ${(error as Error).message}`);
    }
    if (typeof claims.sub !== 'string' || !claims.sub) {
      throw authError(req, 403, 'bad_jwt', 'invalid claim: missing sub claim');
    }
    if (typeof claims.session_id === 'string') {
      const session = await db.query('select 1 from auth.sessions where id = $1', [claims.session_id]);
      if (session.rowCount === 0) {
        throw authError(req, 403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
      }
    }
    const { rows } = await db.query<UserRow>(
      `select ${USER_COLUMNS} from auth.users where id = $1 and deleted_at is null`,
      [claims.sub],
    );
    if (!rows[0]) throw authError(req, 403, 'user_not_found', 'User from sub claim in JWT does not exist');
    return { claims, user: rows[0] };
  };

  const logout = async (req: IncomingMessage, url: URL) => {
    const { claims, user } = await currentUser(req);
    const scope = url.searchParams.get('scope') ?? 'global';
    if (!['global', 'local', 'others'].includes(scope)) {
      throw authError(req, 400, 'validation_failed', `Unsupported logout scope "${scope}"`);
    }
    const sessionId = typeof claims.session_id === 'string' ? claims.session_id : null;
    if (scope === 'global') await db.query('delete from auth.sessions where user_id = $1', [user.id]);
    else if (scope === 'local') await db.query('delete from auth.sessions where id = $1', [sessionId]);
    else await db.query('delete from auth.sessions where user_id = $1 and id is distinct from $2', [user.id, sessionId]);
  };

  /** The admin API takes the secret key (or, while legacy keys are on, the service-role JWT). */
  const requireServiceRole = async (req: IncomingMessage, url: URL) => {
    const credential = requestCredential(req, url);
    let claims: JwtClaims | undefined;
    try {
      claims = credential ? await verifyCredential(ctx.keys, credential) : undefined;
    } catch {
      claims = undefined;
    }
    if (claims?.role !== 'service_role') {
      throw authError(req, 403, 'not_admin', 'User not allowed');
    }
  };

  /**
   * GoTrue's delete: the auth.users row goes (sessions and refresh tokens with it), so every
   * foreign key to auth.users decides what happens to the user's rows in the project (see the
   * user-deletion migration). A soft delete keeps the row but ends every session and takes
   * the sign-in data away, as GoTrue does.
   */
  const deleteUser = async (req: IncomingMessage, url: URL, id: string) => {
    await requireServiceRole(req, url);
    const body = await bodyOf(req);
    if (!UUID.test(id)) {
      throw authError(req, 404, 'user_not_found', 'User not found');
    }
    const soft = body.should_soft_delete === true;
    const { rows } = soft
      ? await db.query<UserRow>(
          `with ended as (delete from auth.sessions where user_id = $1)
           update auth.users set deleted_at = now(), updated_at = now(), email = null, phone = null,
                  encrypted_password = null, raw_user_meta_data = '{}'::jsonb
            where id = $1 and deleted_at is null returning ${USER_COLUMNS}`,
          [id],
        )
      : await db.query<UserRow>(`delete from auth.users where id = $1 returning ${USER_COLUMNS}`, [id]);
    if (!rows[0]) throw authError(req, 404, 'user_not_found', 'User not found');
    return userJson(rows[0]);
  };

  const getUserById = async (req: IncomingMessage, url: URL, id: string) => {
    await requireServiceRole(req, url);
    const { rows } = UUID.test(id)
      ? await db.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [id])
      : { rows: [] as UserRow[] };
    if (!rows[0]) throw authError(req, 404, 'user_not_found', 'User not found');
    return userJson(rows[0]);
  };

  const createUser = async (req: IncomingMessage, url: URL) => {
    await requireServiceRole(req, url);
    const body = await bodyOf(req);
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = body.password;
    if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw authError(req, 400, 'validation_failed', 'Unable to validate email address: invalid format');
    }
    if (password !== undefined && (typeof password !== 'string' || password.length < 6)) {
      throw authError(req, 422, 'weak_password', 'Password should be at least 6 characters.');
    }
    const isObject = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
    if (!isObject(body.app_metadata) || !isObject(body.user_metadata)) {
      throw authError(req, 400, 'validation_failed', 'app_metadata and user_metadata must be objects');
    }
    const appMeta = { provider: 'email', providers: ['email'], ...(body.app_metadata as object | undefined) };
    try {
      const { rows } = await db.query<UserRow>(
        `insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
         values ($1, case when $2::text is null then null else extensions.crypt($2, extensions.gen_salt('bf', 10)) end,
                 case when $3 then now() end, $4, $5)
         returning ${USER_COLUMNS}`,
        [email, password ?? null, body.email_confirm === true, appMeta, body.user_metadata ?? {}],
      );
      return userJson(rows[0]!);
    } catch (error) {
      if ((error as pg.DatabaseError).code === '23505') {
        throw authError(req, 422, 'email_exists', 'A user with this email address has already been registered');
      }
      throw error;
    }
  };

  return {
    async handle(req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
      const reply = (status: number, body: unknown) =>
        sendJson(res, status, body, { 'x-supabase-api-version': API_VERSION });
      const route = `${req.method} ${path}`;
      switch (route) {
        case 'GET /health':
          return reply(200, { version: 'local', name: 'GoTrue', description: 'Job Health local auth' });
        case 'GET /settings':
          return reply(200, {
            external: { email: true, phone: false },
            disable_signup: true,
            mailer_autoconfirm: true,
            phone_autoconfirm: false,
          });
        case 'POST /signup':
          // config.toml has enable_signup = false (accounts are made by staff or the seed): GoTrue's
          // answer when sign-up is off, which supabase-js surfaces as AuthApiError signup_disabled.
          throw authError(req, 422, 'signup_disabled', 'Signups not allowed for this instance');
        case 'POST /token': {
          const grant = url.searchParams.get('grant_type');
          if (grant === 'password') return reply(200, await passwordGrant(req));
          if (grant === 'refresh_token') return reply(200, await refreshGrant(req));
          throw authError(req, 400, 'validation_failed', `unsupported_grant_type: ${grant ?? ''}`);
        }
        case 'GET /user':
          return reply(200, userJson((await currentUser(req)).user));
        case 'POST /logout':
          await logout(req, url);
          res.writeHead(204, { 'x-supabase-api-version': API_VERSION });
          res.end();
          return;
        case 'GET /.well-known/jwks.json':
          // Public parts only, as GoTrue publishes them; clients cache it (auth-js for 10 min).
          return reply(200, ctx.keys.tokens.jwks);
        case 'POST /admin/users':
          return reply(200, await createUser(req, url));
        default: {
          const userPath = /^\/admin\/users\/([^/]+)$/.exec(path);
          const id = userPath ? decodeURIComponent(userPath[1]!) : '';
          if (req.method === 'GET' && userPath) return reply(200, await getUserById(req, url, id));
          // GoTrue answers a delete with an empty object (auth-js fetches the user first).
          if (req.method === 'DELETE' && userPath) return reply(200, (await deleteUser(req, url, id), {}));
          throw authError(req, 404, 'not_found', 'Not found');
        }
      }
    },
  };
}
