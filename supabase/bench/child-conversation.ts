import { fork, type ChildProcess } from 'node:child_process';

/**
 * A benchmark's helper process (a TypeScript module run through tsx) and the request/reply
 * conversation with it over IPC: each request is answered by exactly one message, in order.
 * Benchmarks move parts into such processes so that the part being measured does not share an
 * event loop with the part measuring it.
 */
export class ChildConversation<Request extends { type: string }, Reply extends { type: string }> {
  private waiting: Array<{ resolve: (m: Reply) => void; reject: (e: Error) => void }> = [];
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply) => this.waiting.shift()?.resolve(m));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        for (const w of this.waiting.splice(0)) w.reject(new Error(`helper process exited (${code})`));
        resolve(code);
      }),
    );
  }

  /** Starts `modulePath` and waits for its first message, `{type: 'ready'}`. */
  static async start<Request extends { type: string }, Reply extends { type: string }>(
    modulePath: string,
  ): Promise<ChildConversation<Request, Reply>> {
    const child = fork(modulePath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const conversation = new ChildConversation<Request, Reply>(child);
    const ready = await conversation.next();
    if (ready.type !== 'ready') throw new Error(`${modulePath} started with ${ready.type}`);
    return conversation;
  }

  private next(): Promise<Reply> {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async request<T extends Reply['type']>(message: Request, expect: T): Promise<Extract<Reply, { type: T }>> {
    const reply = this.next();
    this.child.send(message);
    const m = await reply;
    if (m.type !== expect) throw new Error(`expected ${expect} from a helper process, got ${m.type}`);
    return m as Extract<Reply, { type: T }>;
  }

  /** Sends `message` (which makes the process exit) and waits for the exit. */
  async close(message: Request) {
    this.child.send(message);
    await this.exited;
  }
}

/** The helper's side: handles requests one at a time, in order, and says it is ready. */
export function serveParent<Request>(handle: (message: Request) => Promise<void>) {
  let chain = Promise.resolve();
  process.on('message', (message: Request) => {
    chain = chain
      .then(() => handle(message))
      .catch((error: Error) => {
        console.error(`${process.argv[1]}: ${error.stack ?? error}`);
        process.exit(1);
      });
  });
  process.send!({ type: 'ready' });
}
