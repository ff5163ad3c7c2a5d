import net from 'node:net';

/**
 * Whether an IP address is a public unicast one, the only kind a request on someone else's behalf
 * (a callback) may go to. Deny by default: IPv6 must be global unicast (2000::/3) and outside the
 * special-purpose blocks; an IPv4 address carried inside an IPv6 one (mapped, translated,
 * compatible, NAT64, 6to4) is judged as that IPv4 address, so `::ffff:127.0.0.1`, `::7f00:1` and
 * `64:ff9b::7f00:1` are loopback. Ranges from the IANA special-purpose address registries.
 */
type Range = readonly [base: bigint, bits: number, reason: string];

const V4: readonly Range[] = (
  [
    ['0.0.0.0', 8, 'unspecified ("this network")'],
    ['10.0.0.0', 8, 'private'],
    ['100.64.0.0', 10, 'shared address space (CGNAT)'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local'],
    ['172.16.0.0', 12, 'private'],
    ['192.0.0.0', 24, 'IETF protocol assignments'],
    ['192.0.2.0', 24, 'documentation'],
    ['192.88.99.0', 24, '6to4 relay anycast'],
    ['192.168.0.0', 16, 'private'],
    ['198.18.0.0', 15, 'benchmarking'],
    ['198.51.100.0', 24, 'documentation'],
    ['203.0.113.0', 24, 'documentation'],
    ['224.0.0.0', 4, 'multicast'],
    ['240.0.0.0', 4, 'reserved (and broadcast)'],
  ] as const
).map(([ip, bits, reason]) => [v4Bits(ip), bits, reason] as const);

/** Checked after the forms that carry an IPv4 address; anything outside 2000::/3 is refused as well. */
const V6: readonly Range[] = (
  [
    ['::', 128, 'unspecified'],
    ['::1', 128, 'loopback'],
    ['64:ff9b:1::', 48, 'NAT64 local use'],
    ['100::', 64, 'discard-only'],
    ['2001::', 23, 'IETF protocol assignments (Teredo, benchmarking, ORCHID)'],
    ['2001:db8::', 32, 'documentation'],
    ['3fff::', 20, 'documentation'],
    ['5f00::', 16, 'segment routing (SRv6)'],
    ['fc00::', 7, 'unique-local'],
    ['fe80::', 10, 'link-local'],
    ['fec0::', 10, 'site-local'],
    ['ff00::', 8, 'multicast'],
  ] as const
).map(([ip, bits, reason]) => [v6Bits(ip)!, bits, reason] as const);

/** IPv6 forms with an IPv4 address inside: the prefix, its length, and where the IPv4 address sits (bits from the right). */
const EMBEDDING: readonly [base: bigint, bits: number, shift: bigint, form: string][] = [
  [v6Bits('::ffff:0:0')!, 96, 0n, 'IPv4-mapped'],
  [v6Bits('::ffff:0:0:0')!, 96, 0n, 'IPv4-translated'],
  [v6Bits('64:ff9b::')!, 96, 0n, 'NAT64'],
  [v6Bits('2002::')!, 16, 80n, '6to4'],
  [v6Bits('::')!, 96, 0n, 'IPv4-compatible'],
];

const GLOBAL_UNICAST: Range = [v6Bits('2000::')!, 3, 'global unicast'];

/** Why `ip` is not a public unicast address (e.g. "loopback", "private (IPv4-mapped)"), or null when it is one. */
export function nonPublicReason(ip: string): string | null {
  const address = ip.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface, not another address
  if (net.isIPv4(address)) return match(V4, v4Bits(address), 32);
  if (!net.isIPv6(address)) return 'not an IP address';
  const n = v6Bits(address);
  if (n === null) return 'not an IP address';
  const direct = match(V6, n, 128);
  if (direct) return direct; // :: and ::1 before the IPv4-compatible form they also fit
  for (const [base, bits, shift, form] of EMBEDDING) {
    if (!within(n, base, bits, 128)) continue;
    const inner = match(V4, (n >> shift) & 0xffffffffn, 32);
    if (inner) return `${inner} (${form})`;
    // Compatible and translated forms are deprecated or only meaningful inside a translator: never a public destination.
    return form === 'IPv4-compatible' || form === 'IPv4-translated' ? `${form} address` : null;
  }
  if (!within(n, GLOBAL_UNICAST[0], GLOBAL_UNICAST[1], 128)) return 'not global unicast';
  return null;
}

export function isPublicAddress(ip: string): boolean {
  return nonPublicReason(ip) === null;
}

function match(ranges: readonly Range[], n: bigint, width: number): string | null {
  for (const [base, bits, reason] of ranges) if (within(n, base, bits, width)) return reason;
  return null;
}

function within(n: bigint, base: bigint, bits: number, width: number): boolean {
  const shift = BigInt(width - bits);
  return n >> shift === base >> shift;
}

function v4Bits(ip: string): bigint {
  return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

/**
 * An IPv6 address as a 128-bit number. The WHATWG URL parser normalises it first (a dotted IPv4
 * tail becomes two hex groups, leading zeros and case go), so only "::" is left to expand.
 */
function v6Bits(ip: string): bigint | null {
  let host: string;
  try {
    host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [left, right] = host.split('::') as [string, string | undefined];
  const head = left ? left.split(':') : [];
  const tail = right === undefined ? [] : right ? right.split(':') : [];
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return null;
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
