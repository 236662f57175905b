/**
 * A RIST ingest for the source: a {@link RistReceiver} (Simple profile, TR-06-1: RTP on the even
 * port P, RTCP on P + 1, NACK recovery within `latencyMs`) as a {@link TsInput}. What the receiver
 * outputs in order is fed through the input's packet reader; a hole it could not recover is
 * counted in `lost` and resyncs the reader (the next payload starts a packet). Spec:
 * `rist://@ADDRESS:PORT` or `rist://@:PORT` (every address), PORT even.
 * @module
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors/index.ts';
import type { RistReceiver, RistReceiverOptions, RistReceiverStats } from '../rist/index.ts';
import { QueuedTsInput } from './source-input.ts';

/** Settings of {@link openRistInput}: where to listen, and the receiver's options. */
export interface RistInputOptions extends RistReceiverOptions {
  /** Local IPv4 address; `0.0.0.0` for every address. */
  readonly address: string;
  /** The even RTP port (RTCP is port + 1). */
  readonly port: number;
}

/** A RIST ingest; see the module doc. */
export class RistTsInput extends QueuedTsInput {
  readonly kind = 'rist';
  /** The receiver it reads (its ports, its RIST stats). */
  readonly receiver: RistReceiver;

  /** @internal Made by {@link openRistInput}. */
  constructor(receiver: RistReceiver) {
    super();
    this.receiver = receiver;
    void this.#pump();
  }

  /** The RTP port (even); RTCP is `port + 1`. */
  get port(): number {
    return this.receiver.ports.media;
  }

  /** The receiver's counters (recovered, unrecovered, RTT, …). */
  ristStats(): RistReceiverStats {
    return this.receiver.stats();
  }

  async #pump(): Promise<void> {
    try {
      for await (const item of this.receiver) {
        if (item.type === 'data') this.write(item.payload);
        else {
          this.lost += item.count;
          this.resync();
        }
      }
      this.end();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  protected async stop(): Promise<void> {
    await this.receiver.close();
  }
}

/**
 * Listens for RIST on `address:port` and returns the input.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`; PortBindError `ERR_PORT_IN_USE`, ….
 */
export async function openRistInput(options: RistInputOptions): Promise<RistTsInput> {
  const { address, port, ...receiverOptions } = options;
  // The rist layer (and the transport under it) loads with the first RIST input, not with the face.
  const { RistReceiver } = await import('../rist/index.ts');
  return new RistTsInput(await RistReceiver.listen(address, port, receiverOptions));
}

/**
 * Parses `rist://@ADDRESS:PORT` (or `rist://@:PORT`, or without the `@`); undefined for a spec of
 * another scheme.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `option` for a bad rist:// spec.
 */
export function parseRistInputSpec(
  text: string,
  option = 'input',
): { readonly kind: 'rist'; readonly address: string; readonly port: number } | undefined {
  if (!text.startsWith('rist://')) return undefined;
  const m = /^rist:\/\/@?([^:/?]*):([0-9]+)$/.exec(text);
  const address = m?.[1] === '' ? '0.0.0.0' : m?.[1];
  const port = Number(m?.[2]);
  if (
    m === null ||
    address === undefined ||
    isIP(address) !== 4 ||
    port < 2 ||
    port > 65_534 ||
    port % 2 !== 0
  ) {
    throw new InvalidOptionError(
      option,
      `${option}: "${text}" is no RIST input (rist://@ADDRESS:PORT, PORT even)`,
    );
  }
  return { kind: 'rist', address, port };
}
