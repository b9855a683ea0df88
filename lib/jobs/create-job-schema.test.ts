import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createJobSchema, jobCost, PROMPT_MAX_LENGTH } from './create-job-schema.ts';

const valid = { modelId: 'gemini-2.5-flash-image', prompt: '  a red fox  ', aspectRatio: '1:1', numberOfImages: '2' };

test('a valid form is trimmed and coerced as create_job expects', () => {
  assert.deepEqual(createJobSchema.parse(valid), { ...valid, prompt: 'a red fox', numberOfImages: 2 });
});

test('an empty or whitespace prompt is refused with a sentence', () => {
  const result = createJobSchema.safeParse({ ...valid, prompt: '   ' });
  assert.equal(result.success, false);
  assert.equal(result.error?.issues[0]?.message, 'Describe the image you want');
});

test('a prompt over the limit is refused; one at the limit passes', () => {
  assert.equal(createJobSchema.safeParse({ ...valid, prompt: 'x'.repeat(PROMPT_MAX_LENGTH) }).success, true);
  const over = createJobSchema.safeParse({ ...valid, prompt: 'x'.repeat(PROMPT_MAX_LENGTH + 1) });
  assert.match(over.error?.issues[0]?.message ?? '', /too long/);
});

test('sizes and image counts outside what the SQL accepts are refused', () => {
  assert.equal(createJobSchema.safeParse({ ...valid, aspectRatio: '2:1' }).success, false);
  assert.equal(createJobSchema.safeParse({ ...valid, numberOfImages: '5' }).success, false);
  assert.equal(createJobSchema.safeParse({ ...valid, numberOfImages: '0' }).success, false);
});

test('the cost is the model price times the number of images', () => {
  assert.equal(jobCost(4, 3), 12);
});
