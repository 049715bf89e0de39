/**
 * Small, dependency-free IPv4 helpers used by config validation. IPv4 only: the cluster this program builds is
 * single-stack IPv4 (dual-stack needs matching kubeadm, Cilium and Istio settings that are not wired yet).
 */

/** An IPv4 CIDR block as numbers: the network address and the prefix length. */
export interface Ipv4Cidr {
    /** Network address as an unsigned 32-bit integer. */
    readonly network: number;
    /** Prefix length, 0–32. */
    readonly prefix: number;
}

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses dotted-quad IPv4 text into an unsigned 32-bit integer, or `undefined` when it is not one. */
export function parseIpv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || !parts.every((p) => IPV4_OCTET.test(p))) {
        return undefined;
    }
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats an unsigned 32-bit integer as dotted-quad IPv4 text. */
export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Result of parsing a CIDR: the block, or the reason it is not usable. */
export type CidrParse = { ok: true; cidr: Ipv4Cidr } | { ok: false; reason: string; suggestion?: string };

/** Parses `a.b.c.d/n`, rejecting host bits set below the prefix (and suggesting the aligned network). */
export function parseIpv4Cidr(text: string): CidrParse {
    const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
    if (!match) {
        return { ok: false, reason: "is not in a.b.c.d/n form" };
    }
    const address = parseIpv4(match[1]);
    const prefix = Number(match[2]);
    if (address === undefined) {
        return { ok: false, reason: `has "${match[1]}", which is not an IPv4 address` };
    }
    if (prefix > 32) {
        return { ok: false, reason: `has prefix /${prefix}; an IPv4 prefix is 0–32` };
    }
    const size = 2 ** (32 - prefix);
    const network = address - (address % size);
    if (network !== address) {
        return {
            ok: false,
            reason: "has host bits set below the prefix",
            suggestion: `${formatIpv4(network)}/${prefix}`,
        };
    }
    return { ok: true, cidr: { network, prefix } };
}

/** Number of addresses in the block. */
export function cidrSize(cidr: Ipv4Cidr): number {
    return 2 ** (32 - cidr.prefix);
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    return a.network < b.network + cidrSize(b) && b.network < a.network + cidrSize(a);
}

/** True when the address lies inside the block. */
export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
    return address >= cidr.network && address < cidr.network + cidrSize(cidr);
}

/** RFC 1123 host name (labels of letters, digits and hyphens, not starting or ending with a hyphen). */
export function isDnsName(text: string): boolean {
    if (text.length === 0 || text.length > 253) {
        return false;
    }
    return text
        .split(".")
        .every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}
