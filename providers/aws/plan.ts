/**
 * The address plan (`planAwsCluster`): every subnet CIDR, host address and the VIP are chosen
 * here, before anything exists, so the cluster spec the rest of the model sees is complete and
 * static. No Pulumi imports.
 */
import { ipv4ToInt } from "../../model/net";
import type { ClusterHosts, ClusterSpec, HostSpec } from "../../model/types";
import type { AwsSubnetSpec, ResolvedAws } from "./spec";


/** A private subnet of the plan: created (CIDR carved from the VPC) or existing. */
export interface PlannedSubnet {
    /** 0, 1, 2: the availability zone index. */
    index: number;
    cidr: string;
    /** The existing subnet's id and AZ; absent for a subnet to create (its AZ is the index-th available one). */
    existing?: AwsSubnetSpec;
}

/** A host of the plan: its role, name, private address and subnet. */
export interface PlannedHost {
    role: "etcd" | "patroni" | "haproxy";
    /** `<base><i>`, with `-g<generation>` from the first replacement on (see `generationName`). */
    name: string;
    /** Its own AMI (`aws.hosts.<name>.image`). @default - aws.image, else the newest image */
    image?: string;
    address: string;
    /** Index into `AwsPlan.subnets`. */
    subnet: number;
}

export interface AwsPlan {
    /** The private subnets, one per availability zone. */
    subnets: PlannedSubnet[];
    /** The public subnet (bastion, NAT gateway) of a created VPC. @default - none for an existing VPC */
    publicSubnetCidr: string | undefined;
    /** Every cluster host, in role order. */
    hosts: PlannedHost[];
    /** The bastion's private address (with `ssh.access: bastion`). */
    bastionAddress: string | undefined;
    /** The VIP (front door vip). */
    vip: string | undefined;
    /** The cluster spec with its hosts, front door and VIP filled in: what the rest of the model sees. */
    clusterSpec: ClusterSpec;
    /**
     * The planned addresses (hosts, VIP, bastion) as CIDR blocks per subnet, for explicit subnet
     * CIDR reservations: AWS then never hands them to another interface (a NAT gateway, an NLB node,
     * a Lambda ENI). AwsHosts creates them in subnets it creates; existing subnets need them made
     * by their owner (see the README).
     */
    reservations: PlannedReservation[];
}

/** An address block to reserve (`aws.ec2.SubnetCidrReservation`, type explicit). */
export interface PlannedReservation {
    /** A private subnet's index in `AwsPlan.subnets`, or "public" (the bastion's subnet). */
    subnet: number | "public";
    /** The subnet's CIDR. */
    subnetCidr: string;
    /** The block, e.g. 10.40.0.30/31. */
    cidr: string;
}

/**
 * The fewest aligned CIDR blocks covering exactly `addresses`:
 * consecutive addresses merge into the largest blocks that fit, nothing else is covered.
 */
export function coveringBlocks(addresses: string[]): string[] {
    const ints = [...new Set(addresses.map(ipv4ToInt))].sort((x, y) => x - y);
    const blocks: string[] = [];
    let i = 0;
    while (i < ints.length) {
        let end = i;
        while (end + 1 < ints.length && ints[end + 1] === ints[end] + 1) end++;
        let at = ints[i];
        const last = ints[end];
        while (at <= last) {
            let size = 1;
            while (at % (size * 2) === 0 && at + size * 2 - 1 <= last) size *= 2;
            blocks.push(`${intToIpv4(at)}/${32 - Math.log2(size)}`);
            at += size;
        }
        i = end + 1;
    }
    return blocks;
}

/**
 * The zones a created VPC spreads over: the region's own availability zones only. Local Zones and
 * Wavelength Zones are listed too once a account opts in (`zone-type` local-zone/wavelength-zone,
 * `opt-in-status` opted-in), and the list's order would then shift every subnet, and with it every
 * host, into another zone. Filters of EC2 DescribeAvailabilityZones (EC2 API reference).
 */
export const REGION_ZONES_QUERY = {
    state: "available",
    filters: [
        { name: "opt-in-status", values: ["opt-in-not-required"] },
        { name: "zone-type", values: ["availability-zone"] },
    ],
};

/** Offsets of host addresses inside their subnet (AWS reserves the first four and the last). */
export const ADDRESS_OFFSETS = { etcd: 10, patroni: 20, haproxy: 30, vip: 50, bastion: 10 } as const;

/**
 * Where a host of an odd generation goes (`aws.hosts.<name>.generation`): beside its predecessor,
 * which still runs while the new host joins (etcd up to 5 members at 10–14, 15–19; Patroni up to 9
 * at 20–28, 35–43; the balancers 30–31, 32–33), inside the same base + 10 to + 50 window.
 */
export const ALTERNATE_OFFSETS = { etcd: 15, patroni: 35, haproxy: 32 } as const;

/** A host's name in its generation: the base name (`pg3`), then `pg3-g1`, `pg3-g2`, ... */
export function generationName(base: string, generation: number): string {
    return generation === 0 ? base : `${base}-g${generation}`;
}

export function intToIpv4(n: number): string {
    return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
}

export function cidrParts(cidr: string): { base: number; prefix: number } {
    const [ip, prefix] = cidr.split("/");
    const p = Number(prefix);
    const size = 2 ** (32 - p);
    return { base: Math.floor(ipv4ToInt(ip) / size) * size, prefix: p };
}

/** The `offset`-th address of a CIDR. */
export function addressAt(cidr: string, offset: number): string {
    return intToIpv4(cidrParts(cidr).base + offset);
}

/** A created VPC's CIDR in four equal subnets: private 0..2, public 3. */
export function carveSubnets(vpcCidr: string): { private: string[]; public: string } {
    const { base, prefix } = cidrParts(vpcCidr);
    const size = 2 ** (32 - (prefix + 2));
    const at = (i: number) => `${intToIpv4(base + i * size)}/${prefix + 2}`;
    return { private: [at(0), at(1), at(2)], public: at(3) };
}

/**
 * Where everything goes: etcd member i and Patroni member i in subnet i (mod the subnet count),
 * both HAProxy hosts in subnet 0 with the VIP, the bastion in the public subnet. Addresses are the
 * subnet's base + a fixed offset per role (+ the member's round when members outnumber subnets).
 * `cluster` is the user's `pulumi-patroni:cluster` without hosts; validate both first.
 */
export function planAwsCluster(aws: ResolvedAws, cluster: Omit<ClusterSpec, "hosts"> & { hosts?: unknown }): AwsPlan {
    const carved = aws.vpc.kind === "create" ? carveSubnets(aws.vpc.cidr) : undefined;
    const subnets: PlannedSubnet[] =
        aws.vpc.kind === "create"
            ? carved!.private.slice(0, aws.vpc.availabilityZones).map((cidr, index) => ({ index, cidr }))
            : aws.vpc.subnets.map((s, index) => ({ index, cidr: s.cidr, existing: s }));
    const n = subnets.length;
    const hosts: PlannedHost[] = [];
    const place = (role: PlannedHost["role"], prefix: string, count: number, offset: number, spread: boolean) => {
        for (let i = 0; i < count; i++) {
            const subnet = spread ? i % n : 0;
            const round = spread ? Math.floor(i / n) : i;
            const base = `${prefix}${i + 1}`;
            const { generation, image } = aws.hosts[base] ?? { generation: 0 };
            const at = generation % 2 === 0 ? offset : ALTERNATE_OFFSETS[role];
            hosts.push({ role, name: generationName(base, generation), address: addressAt(subnets[subnet].cidr, at + round), subnet, ...(image ? { image } : {}) });
        }
    };
    place("etcd", "etcd", aws.members.etcd, ADDRESS_OFFSETS.etcd, true);
    place("patroni", "pg", aws.members.patroni, ADDRESS_OFFSETS.patroni, true);
    if (aws.frontDoor === "vip") place("haproxy", "lb", 2, ADDRESS_OFFSETS.haproxy, false);
    const vip = aws.frontDoor === "vip" ? (aws.vip ?? addressAt(subnets[0].cidr, ADDRESS_OFFSETS.vip)) : undefined;

    const bastionCidr = aws.vpc.kind === "create" ? carved!.public : aws.vpc.bastionSubnet?.cidr;
    const bastionAddress = aws.ssh.access === "bastion" && bastionCidr ? addressAt(bastionCidr, ADDRESS_OFFSETS.bastion) : undefined;

    const asSpec = (role: PlannedHost["role"]): HostSpec[] => hosts.filter((h) => h.role === role).map((h) => ({ name: h.name, address: h.address }));
    const clusterHosts: ClusterHosts = { etcd: asSpec("etcd"), patroni: asSpec("patroni"), haproxy: asSpec("haproxy") };
    const { hosts: _userHosts, keepalived: userKeepalived, ...rest } = cluster;
    const clusterSpec: ClusterSpec = {
        ...rest,
        hosts: clusterHosts,
        ...(aws.frontDoor === "vip"
            ? {
                  frontDoor: "vip" as const,
                  keepalived: {
                      ...userKeepalived,
                      vip: vip!,
                      vipPrefixLength: cidrParts(subnets[0].cidr).prefix,
                      moveVipWith: "aws-secondary-ip" as const,
                  },
              }
            : {
                  frontDoor: "external" as const,
                  // The NLB connects from its own addresses in the private subnets (client IP
                  // preservation is off, so that clients named by security group work too).
                  clientCidrs: [...(cluster.clientCidrs ?? []), ...subnets.map((s) => s.cidr).filter((c) => !(cluster.clientCidrs ?? []).includes(c))],
              }),
    };
    const reservations: PlannedReservation[] = subnets.flatMap((sub) => {
        const addresses = [...hosts.filter((h) => h.subnet === sub.index).map((h) => h.address), ...(sub.index === 0 && vip ? [vip] : [])];
        return coveringBlocks(addresses).map((cidr) => ({ subnet: sub.index, subnetCidr: sub.cidr, cidr }));
    });
    if (bastionAddress) reservations.push(...coveringBlocks([bastionAddress]).map((cidr) => ({ subnet: "public" as const, subnetCidr: bastionCidr!, cidr })));
    return { subnets, publicSubnetCidr: carved?.public, hosts, bastionAddress, vip, clusterSpec, reservations };
}
