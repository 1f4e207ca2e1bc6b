import { listenAddressSchema } from './listen-address.js';

describe('listenAddressSchema', () => {
  it.each([
    [':5000', { host: undefined, port: 5000 }],
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['registry.local:443', { host: 'registry.local', port: 443 }],
  ])('parses %s', (text, expected) => {
    expect(listenAddressSchema.parse(text)).toEqual(expected);
  });

  it.each(['5000', 'host:', ':65536', '::1:5000', 'a:b'])('refuses %s', (text) => {
    expect(listenAddressSchema.safeParse(text).success).toBe(false);
  });
});
