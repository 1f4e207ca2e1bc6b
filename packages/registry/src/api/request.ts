import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../errors.js';
import type { ChunkRange } from '../store/upload-store.js';

/**
 * Reads a request body of at most `limit` bytes.
 * @throws RegistryError `refusal` with the reason in its detail when the body is longer (as declared or as
 * received) or ends before its declared length (the client hung up or broke the framing).
 */
export async function readBody(
  request: IncomingMessage,
  limit: number,
  refusal: (reason: 'too large' | 'cut short') => RegistryError,
): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    throw refusal('too large');
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of request) {
      received += (chunk as Buffer).length;
      if (received > limit) {
        request.resume();
        throw refusal('too large');
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw refusal('cut short');
  }
  return Buffer.concat(chunks);
}

/**
 * Parses an upload chunk's `Content-Range` (`<start>-<end>`, inclusive, optionally prefixed `bytes=` or
 * `bytes `) and checks it against `Content-Length` when that is given. Undefined when the header is absent.
 * @throws RegistryError RANGE_INVALID (416) for a malformed or inconsistent range
 */
export function parseContentRange(
  header: string | undefined,
  contentLength: string | undefined,
): ChunkRange | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[= ])?(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (!match || end < start) {
    throw new RegistryError('RANGE_INVALID', { contentRange: header.slice(0, 100), reason: 'expected <start>-<end>' });
  }
  if (contentLength !== undefined && Number(contentLength) !== end - start + 1) {
    throw new RegistryError('RANGE_INVALID', {
      contentRange: header,
      reason: 'Content-Length does not match the range',
    });
  }
  return { start, end };
}

/** A satisfiable byte range of a blob, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a blob request's `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`; one range) against a blob of
 * `size` bytes. Undefined when there is no header.
 * @throws RegistryError RANGE_INVALID (416, with `Content-Range: bytes *\/size`) when malformed or unsatisfiable
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  const first = match?.[1] ?? '';
  const last = match?.[2] ?? '';
  let range: ByteRange | undefined;
  if (first !== '') range = { start: Number(first), end: Math.min(last === '' ? size - 1 : Number(last), size - 1) };
  else if (last !== '') range = { start: Math.max(size - Number(last), 0), end: size - 1 };
  if (!range || range.start > range.end || range.start >= size) {
    throw new RegistryError(
      'RANGE_INVALID',
      { range: header.slice(0, 100), size },
      { 'Content-Range': `bytes */${size}` },
      'requested range not satisfiable',
    );
  }
  return range;
}

/** Pagination parameters of a listing (`n`, `last`). */
export interface Page {
  n: number | undefined;
  last: string | undefined;
}

/**
 * Parses `n` and `last` query parameters. `n` must be a whole number from 0 to `max`.
 * @throws RegistryError PAGINATION_NUMBER_INVALID
 */
export function parsePage(query: Record<string, string | string[] | undefined>, max: number): Page {
  const n = single(query.n);
  const last = single(query.last);
  if (n === undefined) return { n: undefined, last };
  if (!/^\d{1,9}$/.test(n) || Number(n) > max) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', { n: n.slice(0, 20), max });
  }
  return { n: Number(n), last };
}

/**
 * Applies a page to a sorted list: entries after `last`, at most `n`. `next` is the `last` value of the next
 * page when more entries remain.
 */
export function paginate(
  entries: string[],
  page: Page,
  compare: (a: string, b: string) => number,
): { items: string[]; next?: string } {
  const after = page.last === undefined ? entries : entries.filter((entry) => compare(entry, page.last ?? '') > 0);
  if (page.n === undefined || after.length <= page.n) return { items: after };
  const items = after.slice(0, page.n);
  const lastItem = items.at(-1);
  return lastItem === undefined ? { items } : { items, next: lastItem };
}

/** The single value of a query parameter; the first when repeated. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
