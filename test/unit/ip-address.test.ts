import { expect } from 'chai';
import { isPublicAddress, nonPublicReason } from '../../src/shared/ip-address';

describe('which addresses are public unicast (callback destinations)', () => {
  it('when an address is loopback, private, link-local, CGNAT, multicast, reserved or unspecified IPv4, then it is not public', () => {
    const refused: Record<string, string> = {
      '127.0.0.1': 'loopback', '127.255.255.254': 'loopback', '10.0.0.1': 'private', '172.16.0.1': 'private', '172.31.255.255': 'private',
      '192.168.1.1': 'private', '169.254.169.254': 'link-local', '100.64.0.1': 'shared address space (CGNAT)', '100.127.255.255': 'shared address space (CGNAT)',
      '0.0.0.0': 'unspecified ("this network")', '224.0.0.1': 'multicast', '239.255.255.250': 'multicast', '240.0.0.1': 'reserved (and broadcast)',
      '255.255.255.255': 'reserved (and broadcast)', '192.0.2.1': 'documentation', '198.18.0.1': 'benchmarking', '192.0.0.8': 'IETF protocol assignments',
    };
    for (const [ip, reason] of Object.entries(refused)) expect(nonPublicReason(ip), ip).to.equal(reason);
  });

  it('when an IPv4 address is public, including the neighbours of private ranges, then it is public', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '11.0.0.1', '126.255.255.255', '128.0.0.1', '169.253.255.255', '192.169.0.1', '223.255.255.255']) {
      expect(nonPublicReason(ip), ip).to.equal(null);
    }
  });

  it('when an IPv6 address is loopback, unspecified, unique-local, link-local, site-local, multicast or special-purpose, then it is not public', () => {
    const refused: Record<string, string> = {
      '::1': 'loopback', '0:0:0:0:0:0:0:1': 'loopback', '::': 'unspecified', 'fc00::1': 'unique-local', 'fd12:3456::1': 'unique-local',
      'fe80::1': 'link-local', 'fe80::1%eth0': 'link-local', 'febf::1': 'link-local', 'fec0::1': 'site-local', 'feff::1': 'site-local', 'ff02::1': 'multicast',
      '2001:db8::1': 'documentation', '2001::1': 'IETF protocol assignments (Teredo, benchmarking, ORCHID)', '100::1': 'discard-only',
      '64:ff9b:1::1': 'NAT64 local use', '3fff::1': 'documentation', '4000::1': 'not global unicast', '::2:3:4:5:6': 'not global unicast',
    };
    for (const [ip, reason] of Object.entries(refused)) expect(nonPublicReason(ip), ip).to.equal(reason);
  });

  it('when an IPv4 address is carried inside IPv6 (mapped, translated, compatible, NAT64, 6to4), then it is judged as that IPv4 address', () => {
    const refused: Record<string, string> = {
      '::ffff:127.0.0.1': 'loopback (IPv4-mapped)', '::ffff:7f00:1': 'loopback (IPv4-mapped)', '::FFFF:10.1.2.3': 'private (IPv4-mapped)',
      '::ffff:169.254.169.254': 'link-local (IPv4-mapped)', '::ffff:0:127.0.0.1': 'loopback (IPv4-translated)', '::7f00:1': 'loopback (IPv4-compatible)',
      '::127.0.0.1': 'loopback (IPv4-compatible)', '::a00:1': 'private (IPv4-compatible)', '64:ff9b::7f00:1': 'loopback (NAT64)', '64:ff9b::127.0.0.1': 'loopback (NAT64)',
      '64:ff9b::a9fe:a9fe': 'link-local (NAT64)', '2002:7f00:1::': 'loopback (6to4)', '2002:c0a8:101::1': 'private (6to4)', '::ffff:0.0.0.0': 'unspecified ("this network") (IPv4-mapped)',
    };
    for (const [ip, reason] of Object.entries(refused)) expect(nonPublicReason(ip), ip).to.equal(reason);
    // Public IPv4 behind a translator is public; the deprecated compatible form never is.
    expect(isPublicAddress('::ffff:8.8.8.8')).to.equal(true);
    expect(isPublicAddress('64:ff9b::808:808')).to.equal(true);
    expect(isPublicAddress('2002:808:808::1')).to.equal(true);
    expect(nonPublicReason('::8.8.8.8')).to.equal('IPv4-compatible address');
  });

  it('when an IPv6 address is global unicast, then it is public; when it is not an address at all, then it is not', () => {
    for (const ip of ['2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001:80b::200e', '2001:200::1']) expect(isPublicAddress(ip), ip).to.equal(true);
    for (const ip of ['', 'localhost', '1.2.3', '127.0.0.1.', '::ffff:1.2.3.4.5', '[::1]', '12345::1']) expect(nonPublicReason(ip), ip).to.equal('not an IP address');
  });
});
