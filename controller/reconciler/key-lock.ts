/** Serialises async sections per key (here: a site's annotation writes), so a request and a run never interleave. */
// Module-level, not a closure per call: tsx names each closure it creates, at a cost per request.
const NOOP = (): void => {};

export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = NOOP;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      // Forget the key once nobody queued behind us, so the map does not grow with every site ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
