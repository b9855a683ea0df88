import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Object bytes on disk. Files are named by a server-made version id (a UUID), never by the
 * object key, so no request can steer a write or read outside the root whatever the key holds.
 * Each upload writes a new version and the metadata row points at it; an overwrite switches the
 * pointer in the same transaction that changes the row, so a reader sees the old bytes or the
 * new, never a half-written file. The replaced file is removed after commit (a reader that
 * already opened it keeps its descriptor).
 */
const VERSION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DiskStore {
  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  /**
   * A store of its own in the OS temp dir, for a gateway over a throwaway database (tests,
   * benchmarks): its objects mean nothing once that database is dropped, so `discard` removes
   * them. A shared folder here once kept every test run's images, tens of GB within a day.
   */
  static throwaway(): DiskStore {
    return new DiskStore(fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-storage-')));
  }

  discard(): Promise<void> {
    return fs.promises.rm(this.root, { recursive: true, force: true });
  }

  newVersion(): string {
    return randomUUID();
  }

  /** Two-character fan-out keeps directories small with many objects. */
  private fileFor(version: string): string {
    if (!VERSION.test(version)) throw new Error(`not a storage version id: ${version}`);
    return path.join(this.root, version.slice(0, 2), version);
  }

  async write(version: string, bytes: Uint8Array): Promise<void> {
    const file = this.fileFor(version);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, bytes, { flag: 'wx' });
  }

  /** The open file, or undefined when it is gone. */
  async open(version: string): Promise<fs.promises.FileHandle | undefined> {
    try {
      return await fs.promises.open(this.fileFor(version), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async remove(version: string | null | undefined): Promise<void> {
    if (!version || !VERSION.test(version)) return;
    await fs.promises.rm(this.fileFor(version), { force: true });
  }
}
