// Every external wait has a timeout: the one helper for it, and a sleep.

/** Rejects with "<what>: no answer within <ms> ms" when op takes longer than ms. */
export function withTimeout<R>(op: Promise<R>, ms: number, what: string): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([op, timeout]).finally(() => clearTimeout(timer));
}

export class TimeoutError extends Error {}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
