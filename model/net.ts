/** IPv4 helpers for validation. Pure, no dependencies. */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
    return IPV4.test(text);
}

/** `a.b.c.d/n` with 0 ≤ n ≤ 32. */
export function isIpv4Cidr(text: string): boolean {
    const [ip, prefix, ...rest] = text.split("/");
    return rest.length === 0 && prefix !== undefined && isIpv4(ip) && /^(3[0-2]|[12]?\d)$/.test(prefix);
}

export function ipv4ToInt(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** True when `ip` lies in the network `base/prefixLength`. */
export function inSubnet(ip: string, base: string, prefixLength: number): boolean {
    const size = 2 ** (32 - prefixLength);
    return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base) / size);
}
