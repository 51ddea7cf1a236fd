/**
 * `make` run once per `key` object, its value kept for as long as the key lives (a WeakMap): for
 * what an isolate derives from its `env` or configuration (the parsed configuration, imported
 * keys, the JWKS cache, the CORS handler) and reuses across requests. A `make` that throws
 * caches nothing, so the next call tries again.
 */
export function memo<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const values = new WeakMap<K, V>();
  return (key) => {
    if (values.has(key)) return values.get(key) as V;
    const value = make(key);
    values.set(key, value);
    return value;
  };
}
