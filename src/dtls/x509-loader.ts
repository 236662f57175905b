/**
 * Loads @peculiar/x509 on demand. Its dependency tsyringe insists on a Reflect metadata polyfill
 * (`Reflect.getMetadata`) at import; when none is installed, the three functions it calls are
 * installed here (metadata kept in a WeakMap), never replacing a polyfill the application has.
 * @module
 */

type Metadata = Map<unknown, Map<string | symbol | undefined, unknown>>;
const store = new WeakMap<object, Metadata>();

function table(
  target: object,
  key: string | symbol | undefined,
  create: boolean,
): Map<unknown, unknown> | undefined {
  let byKey = store.get(target);
  if (byKey === undefined) {
    if (!create) return undefined;
    byKey = new Map();
    store.set(target, byKey);
  }
  let entries = byKey.get(key);
  if (entries === undefined && create) {
    entries = new Map();
    byKey.set(key, entries as never);
  }
  return entries as Map<unknown, unknown> | undefined;
}

function installReflectMetadata(): void {
  const r = Reflect as unknown as Record<string, unknown>;
  if (typeof r.getMetadata === 'function') return;
  r.defineMetadata = (metadataKey: unknown, value: unknown, target: object, key?: string | symbol) => {
    table(target, key, true)!.set(metadataKey, value);
  };
  r.getOwnMetadata = (metadataKey: unknown, target: object, key?: string | symbol) =>
    table(target, key, false)?.get(metadataKey);
  r.getMetadata = (metadataKey: unknown, target: object, key?: string | symbol): unknown => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const entries = table(t, key, false);
      if (entries?.has(metadataKey)) return entries.get(metadataKey);
    }
    return undefined;
  };
}

let loading: Promise<typeof import('@peculiar/x509')> | undefined;

/** The @peculiar/x509 module (imported once). */
export function loadX509(): Promise<typeof import('@peculiar/x509')> {
  if (loading === undefined) {
    installReflectMetadata();
    loading = import('@peculiar/x509');
  }
  return loading;
}
