import { z } from 'zod';

const LISTEN_ADDRESS = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:[\]]*)):(?<port>\d{1,5})$/;

/** Where a server listens. `host` undefined means every interface. */
export interface ListenAddress {
  host: string | undefined;
  port: number;
}

/**
 * A zod schema for a listen address written `host:port`, `:port` or `[v6]:port` (the CNCF registry's `http.addr`
 * form), parsed into a {@link ListenAddress}. Port 0 asks the system for a free port.
 */
export const listenAddressSchema = z
  .string()
  .regex(LISTEN_ADDRESS, 'expected host:port, :port or [ipv6]:port')
  .transform((text): ListenAddress => {
    const groups = LISTEN_ADDRESS.exec(text)?.groups;
    const host = groups?.v6 ?? groups?.host;
    return { host: host === '' ? undefined : host, port: Number(groups?.port) };
  })
  .refine((address) => address.port <= 65535, 'port must be at most 65535');
