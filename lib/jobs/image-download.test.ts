import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { downloadFileName, imageExtension } from './image-download.ts';

const job = (prompt: string, result: { path: string; mimeType?: string }) => ({
  prompt,
  created_at: '2026-12-07T10:00:00.000Z',
  finished_at: '2026-12-08T00:00:05.000Z',
  result,
});

describe('the download file name', () => {
  test('the prompt as words, the day it was made, the extension of the stored type', () => {
    assert.equal(downloadFileName(job('A lighthouse at dusk', { path: 'u/j.png', mimeType: 'image/png' })), 'a-lighthouse-at-dusk-2026-12-08.png');
    assert.equal(downloadFileName(job('A lighthouse at dusk', { path: 'u/j.jpg', mimeType: 'image/jpeg' })), 'a-lighthouse-at-dusk-2026-12-08.jpg');
  });

  test('the content type wins over an older stored name; without a type, the name decides', () => {
    assert.equal(imageExtension({ path: 'u/j.png', mimeType: 'image/jpeg' }), 'jpg');
    assert.equal(imageExtension({ path: 'u/j.webp' }), 'webp');
    assert.equal(imageExtension({ path: 'u/j' }), 'png');
  });

  test('accents folded, punctuation and other scripts dropped, cut at a word under 60 characters', () => {
    assert.equal(downloadFileName(job('Crème brûlée — on a "plate"!', { path: 'u/j.png' })), 'creme-brulee-on-a-plate-2026-12-08.png');
    const long = downloadFileName(job('one two three four five six seven eight nine ten eleven twelve thirteen', { path: 'u/j.png' }));
    assert.equal(long, 'one-two-three-four-five-six-seven-eight-nine-ten-eleven-2026-12-08.png');
    assert.ok(long.length - '-2026-12-08.png'.length <= 60);
    assert.equal(downloadFileName(job('東京の夜景', { path: 'u/j.png' })), 'image-2026-12-08.png');
    assert.match(downloadFileName(job('x'.repeat(100), { path: 'u/j.png' })), /^x{60}-2026-12-08\.png$/);
  });

  test('a job still unfinished is named by the day it was created', () => {
    assert.equal(downloadFileName({ ...job('a kite', { path: 'u/j.png' }), finished_at: null }), 'a-kite-2026-12-07.png');
  });
});
