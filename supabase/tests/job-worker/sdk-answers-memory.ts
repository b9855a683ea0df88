import { GoogleGenAI } from '@google/genai';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';

/**
 * The floor under the worker's memory: only the official @google/genai SDK, in Deno, with
 * `count` image answers from the Gemini stand-in in flight at once, each decoded from base64 as
 * the worker does and held until all have landed. Run by worker-memory.ts as
 * `deno run --config <job-worker/deno.json> sdk-answers-memory.ts <stand-in url> <model> <count>`;
 * prints the process's RSS before and its high-water mark after, in MB, as JSON.
 */
declare const Deno: { args: string[] };
const [baseUrl, model, count] = Deno.args as [string, string, string];
const memory = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const ai = new GoogleGenAI({ apiKey: 'local', httpOptions: { baseUrl } });
const answer = async () => {
  const response = await ai.models.generateContent({ model, contents: 'a lighthouse at dusk', config: { responseModalities: ['TEXT', 'IMAGE'] } });
  const data = response.candidates?.[0]?.content?.parts?.find((p) => p.inlineData?.data)?.inlineData?.data;
  if (!data) throw new Error('no image in the answer');
  return Buffer.from(data, 'base64');
};
// One answer first: module loading and the first request's set-up are not the burst's.
await answer();
const before = memory('VmRSS');
const images = await Promise.all(Array.from({ length: Number(count) }, answer));
console.log(JSON.stringify({ answers: images.length, rss_before_mb: before, peak_rss_mb: memory('VmHWM') }));
