import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { createJob, FLASH, getJob, notificationsDuring, testDbForFile, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();
beforeEach(async () => {
  await t.db.query(`update public.models set enabled = true, disabled_reason = null, verification_state = 'verified' where id = $1`, [FLASH]);
});

async function lastAudit() {
  const { rows } = await t.db.query('select * from public.audit_log order by id desc limit 1');
  return rows[0];
}

describe('enable_model', () => {
  test('admin: turns a disabled model back on, unverified, audited, and wakes the worker', async () => {
    await query(t.db, 'admin', `select public.disable_model($1, 'provider 404')`, [FLASH]);
    const woken = await notificationsDuring(t, 'job_dispatch', () =>
      query(t.db, 'admin', `select * from public.enable_model($1, 'id fixed upstream')`, [FLASH]),
    );
    const { rows } = await t.db.query('select enabled, disabled_reason, verification_state from public.models where id = $1', [FLASH]);
    assert.deepEqual(rows[0], { enabled: true, disabled_reason: null, verification_state: 'unverified' });
    assert.equal(woken, 1);
    const audit = await lastAudit();
    assert.equal(audit.action, 'enable_model');
    assert.equal(audit.actor_id, DEMO_USERS.admin.id);
    assert.equal(audit.reason, 'id fixed upstream');
    assert.deepEqual(audit.detail, { model_id: FLASH });
    // The model accepts jobs again.
    const job = await createJob(t.db, 'alice', FLASH);
    assert.equal((await getJob(t.db, job.id)).status, 'queued');
  });

  test('support may not; a reason is required; an unknown model is PT404', async () => {
    await rejects(query(t.db, 'support', `select public.enable_model($1, 'x')`, [FLASH]), '42501', /enable_model requires the admin role/);
    await rejects(query(t.db, 'admin', `select public.enable_model($1, '  ')`, [FLASH]), '22023', 'a reason is required');
    await rejects(query(t.db, 'admin', `select public.enable_model('no-such-model', 'x')`), 'PT404', 'model not found');
  });
});

describe('request_model_verification', () => {
  test('admin: marks the model unverified for the worker, audits, and wakes the worker', async () => {
    const woken = await notificationsDuring(t, 'job_dispatch', () =>
      query(t.db, 'admin', `select * from public.request_model_verification($1, 'provider renamed models')`, [FLASH]),
    );
    assert.equal(woken, 1);
    const { rows } = await t.db.query('select verification_state, verification_detail from public.models where id = $1', [FLASH]);
    assert.deepEqual(rows[0], { verification_state: 'unverified', verification_detail: 'verification requested' });
    const audit = await lastAudit();
    assert.equal(audit.action, 'verify_model');
    assert.equal(audit.reason, 'provider renamed models');
  });

  test('the worker records the answer through set_model_verification afterwards', async () => {
    await query(t.db, 'admin', `select public.request_model_verification($1, 'check')`, [FLASH]);
    await query(t.db, 'service', `select public.set_model_verification($1, 'verified', 'Flash Image')`, [FLASH]);
    const { rows } = await t.db.query('select verification_state from public.models where id = $1', [FLASH]);
    assert.equal(rows[0].verification_state, 'verified');
  });

  test('a disabled model must be enabled first; support and users may not', async () => {
    await query(t.db, 'admin', `select public.disable_model($1, 'off')`, [FLASH]);
    await rejects(query(t.db, 'admin', `select public.request_model_verification($1, 'x')`, [FLASH]), '22023', /is disabled: enable it first/);
    await rejects(query(t.db, 'support', `select public.request_model_verification($1, 'x')`, [FLASH]), '42501', /requires the admin role/);
    await rejects(query(t.db, 'alice', `select public.request_model_verification($1, 'x')`, [FLASH]), '42501', /requires the admin role/);
  });
});
