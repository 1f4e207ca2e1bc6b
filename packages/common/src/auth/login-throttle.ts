import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** How many failed logins {@link LoginThrottle} allows before it refuses, and how fast it forgives them. */
export interface ThrottleSettings {
  /** Failed logins one client address may make for one user in a burst. */
  burst: number;
  /** Failed logins one client address may make in a burst, whatever the users. */
  addressBurst: number;
  /** Milliseconds after which each counter forgives one failed login. */
  refillMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const SWEEP_ABOVE = 10_000;
const MAX_BUCKETS = 100_000;

/**
 * Throttles password guessing with two token buckets per login: one for the pair (client address, user) and one
 * for the client address. A login attempt takes a token from both before its password is checked, so concurrent
 * attempts count too; a successful login gives them back, so only failures use the budget up. Each bucket holds
 * `burst` (or `addressBurst`) tokens and regains one every `refillMs`. Once more than 10,000 buckets are held,
 * those that have refilled are forgotten (at most once per `refillMs`), and beyond 100,000 the oldest is, so memory
 * stays bounded whatever the number of addresses an attacker uses.
 */
export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes one attempt for `user` from `address` (as {@link addressKey} normalizes it). Returns undefined when the
   * attempt may go ahead, or the whole seconds (at least 1) after which one will be allowed again.
   */
  take(address: string, user: string): number | undefined {
    const now = this.now();
    const keys: [string, number][] = [
      [`a ${address}`, this.settings.addressBurst],
      [userKey(address, user), this.settings.burst],
    ];
    const buckets = keys.map(([key, capacity]) => this.current(key, capacity, now));
    const waitMs = Math.max(...buckets.map((bucket) => (1 - bucket.tokens) * this.settings.refillMs));
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    for (const bucket of buckets) bucket.tokens -= 1;
    return undefined;
  }

  /** Gives back the attempt {@link take} took for `user` from `address`, after it succeeded. */
  giveBack(address: string, user: string): void {
    const now = this.now();
    this.current(`a ${address}`, this.settings.addressBurst, now).tokens += 1;
    this.current(userKey(address, user), this.settings.burst, now).tokens += 1;
  }

  private current(key: string, capacity: number, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_ABOVE && now - this.sweptAt >= this.settings.refillMs) this.sweep(now);
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value ?? '');
      bucket = { tokens: capacity, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, now - bucket.at) / this.settings.refillMs);
    bucket.at = now;
    return bucket;
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    const fullAfter = Math.max(this.settings.burst, this.settings.addressBurst) * this.settings.refillMs;
    for (const [key, bucket] of this.buckets) if (now - bucket.at >= fullAfter) this.buckets.delete(key);
  }
}

/** The key of the (address, user) bucket; the user is hashed so a long name costs no more memory than a short one. */
function userKey(address: string, user: string): string {
  return `u ${address} ${createHash('sha256').update(user).digest('base64')}`;
}

/**
 * The client a socket's remote address stands for: an IPv4 address as it is (also when IPv4-mapped, `::ffff:…`),
 * an IPv6 address as its /64 network, which one host is usually given whole; `unknown` when the socket has none.
 */
export function addressKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIPv4(remoteAddress)) return remoteAddress;
  return `${expandIPv6(remoteAddress).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [''];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const width = (groups: string[]) => groups.reduce((sum, group) => sum + (group.includes('.') ? 2 : 1), 0);
  const zeros = Array.from({ length: Math.max(0, 8 - width(left) - width(right)) }, () => '0');
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
