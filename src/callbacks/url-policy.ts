import net from 'node:net';
import type { Config } from '../config';
import { ValidationError } from '../shared/errors';
import { nonPublicReason } from '../shared/ip-address';

/**
 * Where a callback may go, by its URL: checked when an endpoint is registered or changed, and again
 * before every send (a URL stored under a looser policy is not sent once the policy tightens).
 * Production: https only, on a host from callbacks.allowedHosts (exact, or ".suffix" for any
 * subdomain), never an IP literal that is not public unicast nor "localhost" — no SSRF into the
 * court's own network. What a host name resolves to is checked at send time (destinations.ts).
 * Development and test: http(s) anywhere, localhost included (a local receiver).
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
  if (net.isIP(host) && nonPublicReason(host)) throw refuse(`must not point at a private, loopback, link-local or other non-public address (${nonPublicReason(host)})`, 'url_host_private');
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
