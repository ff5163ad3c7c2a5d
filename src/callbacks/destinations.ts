import dns from 'node:dns';
import net from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { Config } from '../config';
import { nonPublicReason } from '../shared/ip-address';
import { checkCallbackUrl } from './url-policy';

/**
 * Where callbacks may connect, checked at send time. The URL policy (url-policy.ts) is applied
 * before every send, not only at registration. Then each new connection resolves the host once,
 * refuses it if any address it resolves to is not allowed (in production: anything but public
 * unicast — loopback, private, link-local, unique-local, site-local, CGNAT, multicast, IPv4-mapped
 * and NAT64 forms of those …) and connects to exactly the address it checked, with the host name
 * kept for the Host header, SNI and the certificate check. So a name on callbacks.allowedHosts that
 * resolves to 127.0.0.1, or answers a public address to the check and a private one to the connect
 * (DNS rebinding), never reaches the court's own network.
 */
export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

/** What an attempt records. Never the socket error: ECONNREFUSED against a TLS error maps ports. */
export const REFUSED_BY_POLICY = 'destination refused by policy';
export const DELIVERY_FAILED = 'delivery failed';

/** A destination the policy refuses; its message (for the log only) says why. */
export class DestinationRefused extends Error {
  readonly code = 'COURTPAY_DESTINATION_REFUSED';
}

export interface DestinationOptions {
  /** How host names are resolved: dns.lookup, all addresses, unless a test stubs it. */
  resolve?: Resolve;
  /** Why an address may not be connected to, or null when it may (default: by environment, see destinationsFor). */
  refuses?: (address: string) => string | null;
}

export interface Target {
  origin: string;
  path: string;
}

export interface Destinations {
  /** The URL policy as at registration: where to send, or why not. */
  target(url: string): Target | DestinationRefused;
  /** The one address a new connection to `hostname` goes to, after it was checked. */
  addressOf(hostname: string): Promise<ResolvedAddress>;
  /** Keep-alive connections whose every connect goes through addressOf. */
  agent(timeoutMs: number): Agent;
  close(): Promise<void>;
}

const systemResolve: Resolve = (hostname) => dns.promises.lookup(hostname, { all: true });

const cached = new WeakMap<Readonly<Config>, Destinations>();

/**
 * The policy of a configuration: production refuses every address that is not public unicast;
 * development and test allow any (a receiver on localhost). With options (tests: a stub resolver,
 * a stand-in for a public address) a new one, else the same one for the same config.
 */
export function destinationsFor(config: Readonly<Config>, opts: DestinationOptions = {}): Destinations {
  const plain = opts.resolve === undefined && opts.refuses === undefined;
  const known = plain ? cached.get(config) : undefined;
  if (known) return known;
  const d = build(config, opts.resolve ?? systemResolve, opts.refuses ?? (config.env === 'production' ? nonPublicReason : () => null));
  if (plain) cached.set(config, d);
  return d;
}

function build(config: Readonly<Config>, resolve: Resolve, refuses: (address: string) => string | null): Destinations {
  /** Checked URLs: a handful of endpoints, each sent thousands of messages; the policy is fixed with the config. */
  const targets = new Map<string, Target | DestinationRefused>();
  const agents = new Map<number, Agent>();

  async function addressOf(hostname: string): Promise<ResolvedAddress> {
    const host = hostname.replace(/^\[|\]$/g, '');
    const family = net.isIP(host);
    const addresses = family ? [{ address: host, family }] : await resolve(host);
    if (!addresses.length) throw new Error(`${host} resolves to no address`);
    for (const a of addresses) {
      const reason = refuses(a.address);
      if (reason) throw new DestinationRefused(`${host} resolves to ${a.address}: ${reason}`);
    }
    return addresses[0];
  }

  return {
    target(url) {
      let t = targets.get(url);
      if (t === undefined) {
        try {
          const u = new URL(checkCallbackUrl(config, url));
          t = { origin: u.origin, path: `${u.pathname}${u.search}` };
        } catch (e) {
          t = new DestinationRefused(`callback URL refused: ${(e as Error).message}`); // not the URL itself: it may carry a token
        }
        if (targets.size >= 1000) targets.clear();
        targets.set(url, t);
      }
      return t;
    },
    addressOf,
    agent(timeoutMs) {
      let a = agents.get(timeoutMs);
      if (!a) {
        const connectTo = buildConnector({ timeout: timeoutMs });
        const connect: buildConnector.connector = (o, callback) => {
          const host = o.hostname.replace(/^\[|\]$/g, '');
          addressOf(host).then(
            (pinned) => connectTo({ ...o, hostname: pinned.address, servername: o.servername || (net.isIP(host) ? undefined : host) }, callback),
            (e: Error) => callback(e, null),
          );
        };
        // No cap on connections per origin (the worker's in-flight limit is the cap), one request at a time on each.
        a = new Agent({ connections: null, pipelining: 1, connect });
        agents.set(timeoutMs, a);
      }
      return a;
    },
    async close() {
      await Promise.all([...agents.values()].map((a) => a.close()));
      agents.clear();
    },
  };
}
