import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { columnToJson, parseArrayLiteral, scalarToJson, type PgTypeInfo } from './column-values.ts';

const types: Record<number, PgTypeInfo> = {
  23: { name: 'int4', elementOid: 0, delimiter: ',' },
  25: { name: 'text', elementOid: 0, delimiter: ',' },
  1007: { name: '_int4', elementOid: 23, delimiter: ',' },
  1009: { name: '_text', elementOid: 25, delimiter: ',' },
};
const lookup = (oid: number) => types[oid];

describe('pgoutput text to JSON, as to_jsonb gives it', () => {
  test('scalars', () => {
    assert.equal(scalarToJson('bool', 't'), true);
    assert.equal(scalarToJson('bool', 'f'), false);
    assert.equal(scalarToJson('numeric', '12.50'), 12.5);
    assert.equal(scalarToJson('float8', 'NaN'), 'NaN');
    assert.equal(scalarToJson('int8', '9007199254740993'), '9007199254740993');
    assert.deepEqual(scalarToJson('jsonb', '{"a": [1, null]}'), { a: [1, null] });
    assert.equal(scalarToJson('timestamptz', '2024-05-01 10:00:00.5+00'), '2024-05-01T10:00:00.5+00:00');
    assert.equal(scalarToJson('timestamptz', '2024-05-01 10:00:00+05:30'), '2024-05-01T10:00:00+05:30');
    assert.equal(scalarToJson('timestamp', '2024-05-01 10:00:00'), '2024-05-01T10:00:00');
    assert.equal(scalarToJson('timestamptz', 'infinity'), 'infinity');
    assert.equal(scalarToJson('uuid', 'ABC'), 'ABC');
  });

  test('arrays: quoting, escapes, NULL, nesting, empty', () => {
    assert.deepEqual(columnToJson(types[1009]!, '{a,"b c","d\\"e","f,g",NULL,"NULL"}', lookup), ['a', 'b c', 'd"e', 'f,g', null, 'NULL']);
    assert.deepEqual(columnToJson(types[1007]!, '{{1,2},{3,4}}', lookup), [[1, 2], [3, 4]]);
    assert.deepEqual(columnToJson(types[1007]!, '{}', lookup), []);
    assert.deepEqual(parseArrayLiteral('[0:1]={7,8}', ',', Number), [7, 8]);
    // Malformed literals come back as their text, at once (an unterminated one never reaches
    // past the end of the text).
    assert.equal(parseArrayLiteral('{"unterminated', ',', String), '{"unterminated');
    assert.equal(parseArrayLiteral('{"ends in an escape\\', ',', String), '{"ends in an escape\\');
    assert.equal(parseArrayLiteral('{unterminated', ',', String), '{unterminated');
    assert.equal(parseArrayLiteral('{a,{b}', ',', String), '{a,{b}');
  });
});
