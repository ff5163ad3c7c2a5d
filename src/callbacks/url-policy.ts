import net from 'node:net';
import type { Config } from '../config';
import { ValidationError } from '../shared/errors';

/**
 * Where a callback may go. Production: https only, on a host from callbacks.allowedHosts (exact,
 * or ".suffix" for any subdomain), never an IP literal in a private, loopback or link-local range
 * nor "localhost" — no SSRF into the court's own network. Development and test: http(s) anywhere,
 * localhost included (a local receiver).
 */
export function checkCallbackUrl(config: Readonly<Config>, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('is not a valid URL', 'invalid_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('must be an http(s) URL', 'url_scheme_not_allowed');
  if (url.username || url.password) throw refuse('must not carry credentials', 'url_credentials_not_allowed');
  if (url.hash) throw refuse('must not have a #fragment', 'invalid_url');
  if (config.env !== 'production') return url.toString();

  if (url.protocol !== 'https:') throw refuse('must use https in production', 'url_scheme_not_allowed');
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) throw refuse('must not point at localhost', 'url_host_private');
  if (net.isIP(host) && isPrivateAddress(host)) throw refuse('must not point at a private, loopback or link-local address', 'url_host_private');
  if (!isAllowedHost(config.callbacks.allowedHosts, host)) throw refuse(`host ${host} is not on the allow-list (callbacks.allowedHosts)`, 'url_host_not_allowed');
  return url.toString();
}

function refuse(message: string, code: string): ValidationError {
  return ValidationError.field('url', message, code);
}

export function isAllowedHost(allowed: readonly string[], host: string): boolean {
  return allowed.some((a) => {
    const rule = a.toLowerCase();
    return rule.startsWith('.') ? host.endsWith(rule) && host.length > rule.length : host === rule;
  });
}

const PRIVATE_V4: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

export function isPrivateAddress(ip: string): boolean {
  if (net.isIPv4(ip)) {
    const n = v4(ip);
    return PRIVATE_V4.some(([base, bits]) => (n >>> (32 - bits)) === (v4(base) >>> (32 - bits)));
  }
  const a = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return isPrivateAddress(mapped[1]);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(a)) return true; // IPv4-mapped in hex form: refuse rather than decode
  return a === '::' || a === '::1' || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || /^ff/.test(a);
}

function v4(ip: string): number {
  return ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}
