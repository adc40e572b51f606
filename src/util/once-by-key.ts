/**
 * The promise `make()` gives for `key`, made once and shared by every caller; a promise that
 * rejects is forgotten, so the next call makes it again (a file not there yet, a module that threw).
 */
export function onceByKey<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let found = cache.get(key);
  if (!found) {
    const made = make();
    found = made;
    cache.set(key, made);
    made.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
  }
  return found;
}
