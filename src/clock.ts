/**
 * The time source of the core. Injected everywhere (tests move time by hand); its own module so that
 * anything can take a clock without importing `AppDeps` (docs/adr/0060-one-layering.md).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
