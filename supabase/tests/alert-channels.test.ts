import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allowLoopbackTargets, createChannel, SIGNING_SECRET } from '../../testkit/database/alerts.ts';
import { ACTORS, openTestDb, query, rejects, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * Alert channels hold secrets: only admins set them, nobody reads them back, a bad URL is a
 * clear error on save, and where Supabase Vault exists the secrets live there.
 */
let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(async () => {
  await t.close();
});

const SLACK_URL = 'https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnopqrstuvwx';
const create = (url: string, kind: 'slack' | 'webhook' = 'webhook', secret: string | null = SIGNING_SECRET) =>
  query(t.db, 'admin', `select * from public.create_alert_channel('c-' || gen_random_uuid(), $1, $2, 'r', $3)`, [kind, url, secret]);

describe('URLs are checked when saved', () => {
  const refused: [string, RegExp][] = [
    ['http://hooks.example.com/x', /must use https \(it uses http\)/],
    ['ftp://hooks.example.com/x', /must use https/],
    ['https://10.1.2.3/hook', /10\.1\.2\.3 is a private, link-local or reserved address/],
    ['https://172.20.0.1/hook', /private/],
    ['https://192.168.1.10/hook', /private/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://100.64.0.1/', /private/],
    ['https://[fd00::1]/hook', /private/],
    ['https://[fe80::1]/hook', /private/],
    ['https://[::ffff:127.0.0.1]/hook', /private/],
    ['https://0.0.0.0/', /private/],
    ['https://127.0.0.1/hook', /is this machine \(loopback\)/],
    ['https://[::1]:8443/hook', /loopback/],
    ['https://localhost/hook', /loopback/],
    ['https://api.localhost/hook', /loopback/],
    ['https://2130706433/', /not a valid host name/],
    ['https://0x7f000001/', /not a valid host name/],
    ['https://hooks.internal/x', /local network name/],
    ['https://printer.local/x', /local network name/],
    ['https://intranet/x', /local network name/],
    ['https://user:password@hooks.example.com/x', /user name or password/],
    ['hooks.example.com/x', /not a URL/],
    ['https://hooks.example.com/a b', /not a URL/],
    ['', /a URL is required/],
  ];
  for (const [url, message] of refused) {
    test(`refused: ${url || '(empty)'}`, async () => {
      await rejects(create(url), '22023', message);
    });
  }

  test('a public https URL is accepted and only its host and last characters are kept in view', async () => {
    const [slack] = await create(SLACK_URL, 'slack', null);
    assert.equal(slack!.url_hint, 'https://hooks.slack.com/…uvwx');
    assert.equal(slack!.secret_hint, null);
    const [hook] = await create('https://hooks.example.com:8443/jobhealth?token=abc123');
    assert.equal(hook!.url_hint, 'https://hooks.example.com:8443/…c123');
    assert.equal(hook!.secret_hint, '…ghij');
  });

  test('loopback http is accepted only when the local platform allows it', async () => {
    await allowLoopbackTargets(t.db, true);
    try {
      const [channel] = await create('http://127.0.0.1:4010/hook');
      assert.equal(channel!.url_hint, 'http://127.0.0.1:4010/…hook');
      await rejects(create('http://10.0.0.1/hook'), '22023', /private/);
      await rejects(create('http://hooks.example.com/x'), '22023', /must use https/);
    } finally {
      await allowLoopbackTargets(t.db, false);
    }
    await rejects(create('http://127.0.0.1:4010/hook'), '22023', /loopback/);
  });

  test('a webhook needs a signing secret of 32+ characters; Slack takes none', async () => {
    await rejects(create('https://hooks.example.com/x', 'webhook', null), '22023', /signing secret is 32 to 200 characters/);
    await rejects(create('https://hooks.example.com/x', 'webhook', 'short'), '22023', /32 to 200/);
    await rejects(create(SLACK_URL, 'slack', SIGNING_SECRET), '22023', /Slack does not check one/);
  });

  test('update_alert_channel checks a new URL the same way and keeps the old one on error', async () => {
    const [channel] = await create('https://hooks.example.com/first');
    await rejects(query(t.db, 'admin', `select public.update_alert_channel($1, 'r', p_url => 'https://10.0.0.9/x')`, [channel!.id]), '22023', /private/);
    const { rows } = await t.db.query('select url from private.alert_channel_secrets where channel_id = $1', [channel!.id]);
    assert.equal(rows[0].url, 'https://hooks.example.com/first');
  });
});

describe('secrets are never read back', () => {
  test('no API role can read the secrets table, and the channel rows hold hints only', async () => {
    const [channel] = await create('https://hooks.example.com/secret-path-0000', 'webhook', `${SIGNING_SECRET}-XYZW`);
    for (const actor of ACTORS) {
      await rejects(query(t.db, actor, 'select * from private.alert_channel_secrets'), '42501', /permission denied/);
      await rejects(query(t.db, actor, `select private.alert_secret($1, 'url')`, [channel!.id]), '42501', /permission denied/);
    }
    for (const actor of ['support', 'admin', 'service'] as const) {
      const rows = await query(t.db, actor, 'select * from public.alert_channels where id = $1', [channel!.id]);
      const text = JSON.stringify(rows);
      assert.ok(!text.includes('secret-path'), `${actor} sees no URL path`);
      assert.ok(!text.includes(SIGNING_SECRET), `${actor} sees no signing secret`);
      assert.match(text, /…XYZW/);
    }
    for (const actor of ['anon', 'alice', 'bob'] as const) {
      const seen = await query(t.db, actor, 'select * from public.alert_channels').catch((e) => e.code);
      assert.ok(seen === '42501' || (Array.isArray(seen) && seen.length === 0), `${actor} sees no channel`);
    }
  });

  test('the audit rows of channel changes carry hints, never the secrets', async () => {
    const [channel] = await create('https://hooks.example.com/audited-path-1111');
    await query(t.db, 'admin', `select public.update_alert_channel($1, 'rotate', p_signing_secret => $2)`, [channel!.id, `${SIGNING_SECRET}-ROTATED`]);
    await query(t.db, 'admin', `select public.delete_alert_channel($1, 'gone')`, [channel!.id]);
    const { rows } = await t.db.query(`select action, before, after, detail from public.audit_log where detail ->> 'channel_id' = $1 order by id`, [channel!.id]);
    assert.deepEqual(rows.map((r) => r.action), ['create_alert_channel', 'update_alert_channel', 'delete_alert_channel']);
    const text = JSON.stringify(rows);
    assert.ok(!text.includes('audited-path') && !text.includes(SIGNING_SECRET));
    assert.equal(rows[1].after.secret, '…ATED');
  });

  test('deleting a channel erases its secrets and keeps its row for the delivery log', async () => {
    const [channel] = await create('https://hooks.example.com/to-delete');
    await query(t.db, 'admin', `select public.send_test_alert($1)`, [channel!.id]);
    await query(t.db, 'admin', `select public.delete_alert_channel($1, 'replaced')`, [channel!.id]);
    assert.equal((await t.db.query('select 1 from private.alert_channel_secrets where channel_id = $1', [channel!.id])).rowCount, 0);
    const [row] = (await t.db.query('select deleted_at, enabled from public.alert_channels where id = $1', [channel!.id])).rows;
    assert.ok(row.deleted_at);
    assert.equal(row.enabled, false);
    await rejects(query(t.db, 'admin', `select public.delete_alert_channel($1, 'again')`, [channel!.id]), 'PT404', 'alert channel not found');
    await rejects(query(t.db, 'admin', `select public.send_test_alert($1)`, [channel!.id]), 'PT404', 'alert channel not found');
  });

  test('only admins create, change, delete and test channels', async () => {
    const [channel] = await create('https://hooks.example.com/roles');
    for (const actor of ['support', 'alice'] as const) {
      await rejects(query(t.db, actor, `select public.create_alert_channel('x', 'slack', $1, 'r')`, [SLACK_URL]), '42501', /admin/);
      await rejects(query(t.db, actor, `select public.update_alert_channel($1, 'r', p_enabled => false)`, [channel!.id]), '42501', /admin/);
      await rejects(query(t.db, actor, `select public.delete_alert_channel($1, 'r')`, [channel!.id]), '42501', /admin/);
      await rejects(query(t.db, actor, `select public.send_test_alert($1)`, [channel!.id]), '42501', /admin/);
    }
  });

  test('two live channels cannot share a name, in any case: a clear error on create and on rename, and nothing written', async () => {
    const ops = await createChannel(t.db, { name: 'Ops', kind: 'slack', url: SLACK_URL });
    const pager = await createChannel(t.db, { name: 'Pager', kind: 'slack', url: SLACK_URL });
    const before = await t.db.query('select count(*)::int as channels, (select count(*)::int from public.audit_log) as audits from public.alert_channels');
    await rejects(createChannel(t.db, { name: ' ops ', kind: 'slack', url: SLACK_URL }), '23505',
      'a channel named "ops" already exists; choose another name');
    await rejects(query(t.db, 'admin', `select public.update_alert_channel($1, 'r', p_name => 'OPS')`, [pager.id]), '23505',
      'a channel named "OPS" already exists; choose another name');
    assert.deepEqual((await t.db.query('select count(*)::int as channels, (select count(*)::int from public.audit_log) as audits from public.alert_channels')).rows, before.rows);
    assert.equal((await t.db.query('select name from public.alert_channels where id = $1', [pager.id])).rows[0].name, 'Pager');
    // Its own name, in another case, is not taken; a deleted channel's name is free again.
    await query(t.db, 'admin', `select public.update_alert_channel($1, 'r', p_name => 'OPS')`, [ops.id]);
    await query(t.db, 'admin', `select public.delete_alert_channel($1, 'r')`, [ops.id]);
    await createChannel(t.db, { name: 'ops', kind: 'slack', url: SLACK_URL });
  });

  test('every other bad input names what is wrong', async () => {
    const [channel] = await create('https://hooks.example.com/inputs');
    for (const [call, args, message] of [
      [`select public.create_alert_channel($1, 'slack', $2, 'r')`, ['x'.repeat(101), SLACK_URL], 'a name of 1 to 100 characters is required'],
      [`select public.create_alert_channel($1, 'slack', $2, 'r')`, ['  ', SLACK_URL], 'a name of 1 to 100 characters is required'],
      [`select public.create_alert_channel('n', 'email', $1, 'r')`, [SLACK_URL], 'kind must be slack or webhook'],
      [`select public.create_alert_channel('n', 'slack', $1, 'r', p_min_severity => 'info')`, [SLACK_URL], 'minimum severity must be warning or critical'],
      [`select public.create_alert_channel('n', 'slack', $1, $2)`, [SLACK_URL, 'x'.repeat(501)], 'reason is too long: 501 characters, the limit is 500'],
      [`select public.create_alert_channel('n', 'webhook', $1, 'r', $2)`, ['https://hooks.example.com/x', 'x'.repeat(201)], 'a signing secret is 32 to 200 characters without spaces'],
      [`select public.create_alert_channel('n', 'slack', $1, 'r')`, [`https://hooks.example.com/${'x'.repeat(2000)}`], 'the URL is too long: the limit is 2000 characters'],
      [`select public.update_alert_channel($1, 'r', p_name => $2)`, [channel!.id, 'x'.repeat(101)], 'a name of 1 to 100 characters is required'],
    ] as const) {
      await rejects(query(t.db, 'admin', call, [...args]), '22023', message);
    }
  });
});

describe('with Supabase Vault', () => {
  test('URLs and signing secrets go to Vault, are read back from it for sending, and are deleted from it', async () => {
    // Vault's interface as a hosted project has it: vault.create_secret and vault.update_secret,
    // the secrets table, and the decrypted_secrets view (here without the encryption).
    await t.db.query(`
      create schema vault;
      create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique, description text, secret text not null);
      create function vault.create_secret(new_secret text, new_name text default null, new_description text default '') returns uuid
        language sql as $$ insert into vault.secrets (secret, name, description) values (new_secret, new_name, new_description) returning id $$;
      create function vault.update_secret(secret_id uuid, new_secret text default null, new_name text default null, new_description text default null) returns void
        language sql as $$ update vault.secrets set secret = coalesce(new_secret, secret) where id = secret_id $$;
      create view vault.decrypted_secrets as select id, name, description, secret, secret as decrypted_secret from vault.secrets;`);
    try {
      const [channel] = await create('https://hooks.example.com/in-vault');
      const { rows } = await t.db.query('select * from private.alert_channel_secrets where channel_id = $1', [channel!.id]);
      assert.equal(rows[0].url, null);
      assert.equal(rows[0].signing_secret, null);
      assert.ok(rows[0].url_vault_id && rows[0].signing_secret_vault_id);
      const read = async () =>
        (await t.db.query(`select private.alert_secret($1, 'url') as url, private.alert_secret($1, 'signing_secret') as secret`, [channel!.id])).rows[0];
      assert.deepEqual(await read(), { url: 'https://hooks.example.com/in-vault', secret: SIGNING_SECRET });

      await query(t.db, 'admin', `select public.update_alert_channel($1, 'moved', p_url => 'https://hooks.example.com/moved')`, [channel!.id]);
      assert.equal((await read()).url, 'https://hooks.example.com/moved');
      assert.equal(Number((await t.db.query('select count(*) from vault.secrets')).rows[0].count), 2, 'updated in place');

      await query(t.db, 'admin', `select public.delete_alert_channel($1, 'gone')`, [channel!.id]);
      assert.equal(Number((await t.db.query('select count(*) from vault.secrets')).rows[0].count), 0);
    } finally {
      await t.db.query('drop schema vault cascade');
    }
  });
});
