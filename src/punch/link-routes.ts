/**
 * The peer's links by link id, so a received punch frame finds its link in O(1) without
 * allocating: buckets keyed by the first four bytes of the id ({@link punchLinkHash}), the
 * full id confirmed with {@link hasPunchLinkId} (a bucket holds more than one link only when
 * two random ids share 32 bits).
 * @module
 */
import { hasPunchLinkId, linkIdHash, punchLinkHash } from './wire.ts';

/** What the table needs of a link. */
export interface RoutedLink {
  readonly linkId: Buffer;
}

/** Links by link id. */
export class LinkRoutes<L extends RoutedLink> {
  readonly #buckets = new Map<number, L[]>();
  #size = 0;

  /** Links held. */
  get size(): number {
    return this.#size;
  }

  add(link: L): void {
    const hash = linkIdHash(link.linkId);
    const bucket = this.#buckets.get(hash);
    if (bucket === undefined) this.#buckets.set(hash, [link]);
    else bucket.push(link);
    this.#size++;
  }

  /** Removes `link` (no-op when absent). */
  delete(link: L): void {
    const hash = linkIdHash(link.linkId);
    const bucket = this.#buckets.get(hash);
    const at = bucket?.indexOf(link) ?? -1;
    if (bucket === undefined || at < 0) return;
    bucket.splice(at, 1);
    if (bucket.length === 0) this.#buckets.delete(hash);
    this.#size--;
  }

  /** The link a punch frame belongs to, or undefined. Never throws. */
  find(data: Buffer): L | undefined {
    const bucket = this.#buckets.get(punchLinkHash(data));
    if (bucket === undefined) return undefined;
    for (const link of bucket) if (hasPunchLinkId(data, link.linkId)) return link;
    return undefined;
  }

  /** The link with id `linkId`, or undefined. */
  get(linkId: Buffer): L | undefined {
    const bucket = this.#buckets.get(linkIdHash(linkId));
    if (bucket === undefined) return undefined;
    for (const link of bucket) if (link.linkId.equals(linkId)) return link;
    return undefined;
  }

  /** Every link (a snapshot). */
  all(): L[] {
    const out: L[] = [];
    for (const bucket of this.#buckets.values()) out.push(...bucket);
    return out;
  }
}
