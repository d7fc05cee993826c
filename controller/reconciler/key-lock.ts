/** Serialises async sections per key (here: a site's annotation writes), so a request and a run never interleave. */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // Assigned by the executor, which runs at once.
    let release!: () => void;
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
