import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explorerSearchParams, likeLiteral, parseExplorerFilters, searchKind } from './explorer-filters.ts';

const USER = '00000000-0000-4000-8000-00000000a003';

test('filters survive the round trip through the URL', () => {
  const url = new URLSearchParams({
    status: 'failed,running',
    model: 'gemini-2.5-flash-image',
    user: USER,
    from: '2026-11-23T10:00:00.000Z',
    to: '2026-11-23T12:00:00.000Z',
    error: 'timeout',
    q: 'lighthouse',
    page: '3',
  });
  const filters = parseExplorerFilters(url);
  assert.deepEqual(filters, {
    status: ['failed', 'running'],
    model: 'gemini-2.5-flash-image',
    user: USER,
    from: '2026-11-23T10:00:00.000Z',
    to: '2026-11-23T12:00:00.000Z',
    error: 'timeout',
    q: 'lighthouse',
    page: 3,
  });
  assert.deepEqual(parseExplorerFilters(explorerSearchParams(filters)), filters);
});

test('a hand-edited URL with nonsense falls back to no filter, not an error', () => {
  const filters = parseExplorerFilters({ status: ['bogus', 'queued', 'queued'], user: 'not-a-uuid', from: 'yesterday', page: 'x', q: '   ' });
  assert.deepEqual(filters, { status: ['queued'], model: undefined, user: undefined, from: undefined, to: undefined, error: undefined, q: undefined, page: 1 });
  assert.equal(explorerSearchParams(filters).toString(), 'status=queued');
});

test('page 1 and empty filters are left out of the URL', () => {
  assert.equal(explorerSearchParams(parseExplorerFilters({})).toString(), '');
});

test('a uuid is searched as a job id, anything else in prompts', () => {
  assert.equal(searchKind(USER), 'id');
  assert.equal(searchKind(USER.toUpperCase()), 'id');
  assert.equal(searchKind(`${USER}x`), 'prompt');
  assert.equal(searchKind('a red fox'), 'prompt');
});

test('LIKE wildcards typed into the search match themselves', () => {
  assert.equal(likeLiteral('100%_done\\'), '100\\%\\_done\\\\');
});
