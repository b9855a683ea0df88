import type { GatewayContext } from '../http.ts';
import type { DiskStore } from './disk-store.ts';

/** What every Storage route handler is given. */
export interface StorageContext {
  gateway: GatewayContext;
  store: DiskStore;
  /** Global upload cap; a bucket's file_size_limit can only lower it. */
  maxUploadBytes: number;
}
