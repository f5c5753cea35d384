// Per-key serialization: changes to one object run one at a time, others in parallel.
// Keys are "<kind>/<id>"; shared claims (names, ports) take one more key, after it.
export class KeyedMutex {
  #tails = new Map<string, Promise<unknown>>();

  run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    const tail = next.catch(() => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** Resolves once everything queued so far has finished (shutdown waits for it). */
  async settled(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }
}
