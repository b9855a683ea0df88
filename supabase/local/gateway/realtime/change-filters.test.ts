import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FilterParseError, parseFilters, rowMatches } from './change-filters.ts';

describe('postgres_changes filter syntax', () => {
  test('parses operators, in-lists with quotes and commas, not., and AND-joined filters', () => {
    assert.deepEqual(parseFilters('id=eq.5'), [{ column: 'id', op: 'eq', values: ['5'], negate: false }]);
    assert.deepEqual(parseFilters('name=in.("a,b",c)'), [{ column: 'name', op: 'in', values: ['a,b', 'c'], negate: false }]);
    assert.deepEqual(parseFilters('id=gt.1,id=not.eq.3').map((f) => [f.op, f.negate]), [['gt', false], ['eq', true]]);
    assert.deepEqual(parseFilters(''), []);
    assert.deepEqual(parseFilters(undefined), []);
    assert.throws(() => parseFilters('id=like.5'), FilterParseError);
    assert.throws(() => parseFilters('undefined'), FilterParseError);
    assert.throws(() => parseFilters('id=in.1,2'), FilterParseError);
  });

  test('compares as the column type', () => {
    const types = { n: 'numeric', at: 'timestamptz', ok: 'bool', id: 'uuid' };
    const row = { n: 10, at: '2024-05-01T10:00:00+00:00', ok: true, id: 'ab' };
    assert.ok(rowMatches(parseFilters('n=eq.10.0'), row, types), '10 = 10.0 numerically');
    assert.ok(rowMatches(parseFilters('n=gt.9'), row, types), 'not as text, where "10" < "9"');
    assert.ok(rowMatches(parseFilters('at=lt.2024-05-01T12:00:00+02:00'), row, types) === false);
    assert.ok(rowMatches(parseFilters('at=lte.2024-05-01T12:00:00+02:00'), row, types));
    assert.ok(rowMatches(parseFilters('ok=eq.true'), row, types));
    assert.ok(rowMatches(parseFilters('id=eq.AB'), row, types), 'uuids compare case-insensitively');
    assert.ok(!rowMatches(parseFilters('missing=eq.1'), row, types), 'absent column never matches');
    assert.ok(!rowMatches(parseFilters('n=eq.10'), { n: null }, types), 'null never matches');
  });
});
