import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { shortUserId } from './short-id.ts';

test('ids that share their first eight characters still read differently', () => {
  const ids = Object.values(DEMO_USERS).map((u) => u.id);
  assert.equal(new Set(ids.map((id) => id.slice(0, 8))).size, 1, 'the demo ids share their start');
  const short = ids.map(shortUserId);
  assert.equal(new Set(short).size, ids.length);
  assert.equal(shortUserId(DEMO_USERS.alice.id), '0000…a003');
});

test('a random id keeps its start and its end', () => {
  assert.equal(shortUserId('3f2a9c1e-7b4d-4e2a-9f0b-1c2d3e4f5a6b'), '3f2a…5a6b');
});
