/**
 * Decoder for the `pgoutput` logical replication protocol, version 1 (the messages a walsender
 * sends inside XLogData when the slot uses the pgoutput plugin). Only what Realtime needs:
 * transactions arrive whole at commit (proto 1 never streams in-progress transactions), so the
 * reader can hand out one complete transaction at a time.
 */

/** Microseconds between the Unix epoch and Postgres' epoch (2000-01-01). */
export const PG_EPOCH_OFFSET_US = 946_684_800_000_000n;

export type Lsn = bigint;

export function lsnToText(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function lsnFromText(text: string): Lsn {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  /** Part of the replica identity key (with REPLICA IDENTITY FULL: every column). */
  isKey: boolean;
}

export interface RelationMessage {
  tag: 'relation';
  relationId: number;
  schema: string;
  name: string;
  /** d = default (primary key), n = nothing, f = full, i = index. */
  replicaIdentity: 'd' | 'n' | 'f' | 'i';
  columns: RelationColumn[];
}

/** A column value as pgoutput sends it: text form, SQL null, or TOASTed and unchanged (not sent). */
export type TupleValue = string | null | typeof UNCHANGED_TOAST;
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');

export type PgOutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTimeUs: bigint; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTimeUs: bigint }
  | RelationMessage
  | { tag: 'insert'; relationId: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationId: number; keyTuple?: TupleValue[]; oldTuple?: TupleValue[]; newTuple: TupleValue[] }
  | { tag: 'delete'; relationId: number; keyTuple?: TupleValue[]; oldTuple?: TupleValue[] }
  | { tag: 'truncate'; relationIds: number[] }
  | { tag: 'other'; code: string };

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  u8() {
    return this.buf.readUInt8(this.offset++);
  }
  i16() {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  i32() {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u32() {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64() {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  i64() {
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  cstring() {
    const end = this.buf.indexOf(0, this.offset);
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number) {
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  char() {
    return String.fromCharCode(this.u8());
  }
}

function readTuple(r: Reader): TupleValue[] {
  const count = r.i16();
  const values: TupleValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = r.char();
    if (kind === 'n') values[i] = null;
    else if (kind === 'u') values[i] = UNCHANGED_TOAST;
    else if (kind === 't' || kind === 'b') values[i] = r.bytes(r.i32()).toString('utf8');
    else throw new Error(`pgoutput: unknown tuple column kind ${kind}`);
  }
  return values;
}

export function decodePgOutput(buf: Buffer): PgOutputMessage {
  const r = new Reader(buf);
  const code = r.char();
  switch (code) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTimeUs: r.i64(), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTimeUs: r.i64() };
    }
    case 'R': {
      const relationId = r.u32();
      const schema = r.cstring();
      const name = r.cstring();
      const replicaIdentity = r.char() as RelationMessage['replicaIdentity'];
      const count = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < count; i++) {
        const flags = r.u8();
        columns.push({ isKey: (flags & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
    }
    case 'I': {
      const relationId = r.u32();
      r.char(); // 'N'
      return { tag: 'insert', relationId, newTuple: readTuple(r) };
    }
    case 'U': {
      const relationId = r.u32();
      let kind = r.char();
      let keyTuple: TupleValue[] | undefined;
      let oldTuple: TupleValue[] | undefined;
      if (kind === 'K') keyTuple = readTuple(r);
      if (kind === 'O') oldTuple = readTuple(r);
      if (kind !== 'N') kind = r.char();
      return { tag: 'update', relationId, keyTuple, oldTuple, newTuple: readTuple(r) };
    }
    case 'D': {
      const relationId = r.u32();
      const kind = r.char();
      const tuple = readTuple(r);
      return kind === 'K' ? { tag: 'delete', relationId, keyTuple: tuple } : { tag: 'delete', relationId, oldTuple: tuple };
    }
    case 'T': {
      const count = r.i32();
      r.u8(); // options
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(r.u32());
      return { tag: 'truncate', relationIds };
    }
    default:
      // 'Y' type, 'O' origin, 'M' logical message: nothing Realtime forwards.
      return { tag: 'other', code };
  }
}
