/**
 * The connection IDs an endpoint gave out (RFC 9146): unique per endpoint, found from a received
 * tls12_cid record's header. A CID is random bytes of its session's configured length; the table
 * is keyed by the CID's bytes (latin1), one map per length in use.
 * @module
 */

/** How often allocation retries a random CID that is taken before it gives up. */
const ALLOCATE_ATTEMPTS = 64;

/** See the module doc. */
export class ConnectionIds<T> {
  /** CID length → (CID bytes as latin1 → owner). */
  readonly #byLength = new Map<number, Map<string, T>>();
  #size = 0;

  /** CIDs held. */
  get size(): number {
    return this.#size;
  }

  /**
   * A fresh CID of `length` bytes (1–255) for `owner`. When the space is so full that
   * {@link ALLOCATE_ATTEMPTS} random picks are all taken, the last pick is returned without being
   * registered: the session still works, records to it are found by address only.
   */
  allocate(length: number, owner: T, random: (bytes: number) => Buffer): Buffer {
    let table = this.#byLength.get(length);
    if (table === undefined) {
      table = new Map();
      this.#byLength.set(length, table);
    }
    let cid = random(length);
    for (let i = 0; i < ALLOCATE_ATTEMPTS; i++) {
      const key = cid.toString('latin1');
      if (!table.has(key)) {
        table.set(key, owner);
        this.#size++;
        return cid;
      }
      cid = random(length);
    }
    return cid;
  }

  /** Forgets `cid` (when it belongs to `owner`). */
  release(cid: Buffer, owner: T): void {
    const table = this.#byLength.get(cid.length);
    const key = cid.toString('latin1');
    if (table?.get(key) !== owner) return;
    table.delete(key);
    this.#size--;
    if (table.size === 0) this.#byLength.delete(cid.length);
  }

  /** The owner of the CID in the tls12_cid record header at the start of `data`, if any. Never throws. */
  find(data: Buffer): T | undefined {
    for (const [length, table] of this.#byLength) {
      if (data.length < 13 + length) continue;
      const owner = table.get(data.toString('latin1', 11, 11 + length));
      if (owner !== undefined) return owner;
    }
    return undefined;
  }
}
