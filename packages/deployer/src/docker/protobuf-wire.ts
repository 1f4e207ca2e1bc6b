/** One field of a protobuf message as it is on the wire: a varint (wire type 0) or bytes (wire type 2). */
export type WireField =
  | { field: number; type: 'varint'; value: bigint }
  | { field: number; type: 'bytes'; value: Buffer }
  | { field: number; type: 'fixed'; value: Buffer };

/** A protobuf message that cannot be read: truncated, or using a wire type that no BuildKit message uses. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

/**
 * The fields of one protobuf message, in wire order, without a schema: varints as `bigint`, length-delimited
 * fields (strings, bytes, embedded messages, packed lists) as the raw bytes, 32- and 64-bit fixed fields as
 * their bytes. Pure.
 * @throws WireFormatError when the buffer ends inside a field or holds a group (wire types 3 and 4).
 */
export function readFields(buffer: Uint8Array): WireField[] {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const fields: WireField[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (offset >= bytes.length) throw new WireFormatError('message ends inside a varint');
      const byte = bytes[offset++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      if (shift > 63n) throw new WireFormatError('varint longer than 10 bytes');
    }
  };
  const take = (length: number): Buffer => {
    if (offset + length > bytes.length) throw new WireFormatError('message ends inside a field');
    const slice = bytes.subarray(offset, offset + length);
    offset += length;
    return slice;
  };
  while (offset < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) fields.push({ field, type: 'varint', value: varint() });
    else if (wire === 2) fields.push({ field, type: 'bytes', value: take(Number(varint())) });
    else if (wire === 1) fields.push({ field, type: 'fixed', value: take(8) });
    else if (wire === 5) fields.push({ field, type: 'fixed', value: take(4) });
    else throw new WireFormatError(`unsupported wire type ${wire} in field ${field}`);
  }
  return fields;
}

/** A length-delimited field (string, bytes or embedded message) encoded for the wire. Pure. */
export function bytesField(field: number, value: Uint8Array | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return Buffer.concat([encodeVarint(BigInt(field << 3) | 2n), encodeVarint(BigInt(data.length)), data]);
}

/** A varint field encoded for the wire. Pure. */
export function varintField(field: number, value: number): Buffer {
  return Buffer.concat([encodeVarint(BigInt(field << 3)), encodeVarint(BigInt(value))]);
}

function encodeVarint(value: bigint): Buffer {
  const out: number[] = [];
  let rest = value;
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Buffer.from(out);
}
