// Runs inside Deno, in front of one edge function, giving it what Supabase's edge runtime
// gives: `Deno.serve` bound where the gateway expects it, `EdgeRuntime.waitUntil` to keep
// background work alive after the response, and a `beforeunload` event before shutdown so a
// function can hand back what it holds. Loaded as the main module; the function is imported
// from the path in JOBHEALTH_FUNCTION_ENTRY.

const port = Number(Deno.env.get('JOBHEALTH_FUNCTION_PORT'));
const entry = Deno.env.get('JOBHEALTH_FUNCTION_ENTRY');
if (!port || !entry) throw new Error('JOBHEALTH_FUNCTION_PORT and JOBHEALTH_FUNCTION_ENTRY are required');

const pending = new Set<Promise<unknown>>();
(globalThis as Record<string, unknown>).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const tracked = Promise.resolve(promise)
      .catch((error) => console.error('waitUntil task failed:', error))
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  },
};

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
const realServe = Deno.serve.bind(Deno);
let served = false;
// The replacement takes every form of Deno.serve, so it is assigned past their overloaded type.
(Deno as { serve: unknown }).serve = (...args: unknown[]) => {
  if (served) throw new Error('an edge function may call Deno.serve once');
  served = true;
  const handler = args.find((a) => typeof a === 'function') as Handler | undefined;
  const options = (args.find((a) => typeof a === 'object' && a !== null) ?? {}) as { handler?: Handler };
  const fn = handler ?? options.handler;
  if (!fn) throw new Error('Deno.serve needs a handler');
  return realServe({ port, hostname: '127.0.0.1', onListen: () => console.log(`edge-runtime listening ${port}`) }, fn);
};

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  globalThis.dispatchEvent(new Event('beforeunload'));
  // Background work gets a bounded grace period, as the hosted runtime gives.
  await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 5_000))]);
  Deno.exit(0);
};
Deno.addSignalListener('SIGTERM', shutdown);
Deno.addSignalListener('SIGINT', shutdown);

await import(entry);
if (!served) throw new Error(`${entry} did not call Deno.serve`);
