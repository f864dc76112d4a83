/** Security groups and IAM: plain data the AwsHosts component turns into resources. No Pulumi imports. */
import type { ResolvedAws } from "./spec";


/** The security groups AwsHosts makes (only those the settings need). */
export type SecurityGroupRole = "etcd" | "patroni" | "haproxy" | "nlb" | "bastion";

/** Where a rule's traffic may come from. */
export type RuleSource = { group: SecurityGroupRole } | { cidr: string } | { groupId: string };

/** One ingress rule. */
export interface SecurityGroupRule {
    /** Unique, stable: part of the rule resource's name (renaming it replaces the rule). */
    id: string;
    /** The group the rule belongs to. */
    group: SecurityGroupRole;
    /** "tcp", or an IP protocol number as text ("112" for VRRP). */
    protocol: string;
    /** Port range (TCP only). */
    fromPort?: number;
    toPort?: number;
    source: RuleSource;
    description: string;
}

function sourceLabel(source: RuleSource): string {
    if ("group" in source) return source.group;
    if ("cidr" in source) return source.cidr.replace(/[./]/g, "-");
    return source.groupId;
}

/**
 * Every ingress rule of the cluster's security groups: each service open only to the roles that use
 * it, the front door to the client CIDRs and groups, SSH only from the bastion (or the admin CIDRs
 * with public access), VRRP only between the HAProxy pair. Egress is open (packages, the AWS API).
 */
export function securityGroupRules(a: ResolvedAws, ports: { etcdClient: number; etcdPeer: number; postgres: number; restApi: number; primary: number; replica: number; stats: number }): SecurityGroupRule[] {
    const rules: SecurityGroupRule[] = [];
    const tcp = (group: SecurityGroupRole, port: number, source: RuleSource, description: string) =>
        rules.push({ id: `${group}-${port}-from-${sourceLabel(source)}`, group, protocol: "tcp", fromPort: port, toPort: port, source, description });
    const front: SecurityGroupRole = a.frontDoor === "vip" ? "haproxy" : "nlb";

    tcp("etcd", ports.etcdClient, { group: "etcd" }, "etcd client API between members");
    tcp("etcd", ports.etcdPeer, { group: "etcd" }, "etcd peer traffic between members");
    tcp("etcd", ports.etcdClient, { group: "patroni" }, "etcd client API for Patroni (the DCS)");
    tcp("patroni", ports.postgres, { group: "patroni" }, "PostgreSQL replication and gates between members");
    tcp("patroni", ports.restApi, { group: "patroni" }, "Patroni REST API between members");
    tcp("patroni", ports.postgres, { group: front }, `PostgreSQL from the front door (${front})`);
    tcp("patroni", ports.restApi, { group: front }, `Patroni health checks from the front door (${front})`);
    for (const port of [ports.primary, ports.replica]) {
        const what = port === ports.primary ? "writer" : "reader";
        for (const cidr of a.clientCidrs) tcp(front, port, { cidr }, `${what} endpoint for clients`);
        for (const groupId of a.clientSecurityGroupIds) tcp(front, port, { groupId }, `${what} endpoint for clients`);
    }
    // The deploy-time gate runs on the first Patroni member and connects through the front door.
    tcp(front, ports.primary, { group: "patroni" }, `the ${a.frontDoor === "vip" ? "VIP" : "NLB"} gate, run on the first Patroni member`);
    if (a.frontDoor === "vip") {

        // Admins reach the stats page the way they reach SSH: from their CIDRs to public balancers,
        // or through the bastion (a tunnel) to private ones, which their CIDRs can never reach.
        if (a.ssh.access === "bastion") tcp("haproxy", ports.stats, { group: "bastion" }, "HAProxy statistics page for admins, through the bastion");
        else for (const cidr of a.adminCidrs) tcp("haproxy", ports.stats, { cidr }, "HAProxy statistics page for admins");
        tcp("haproxy", ports.stats, { group: "haproxy" }, "the balancer list each Keepalived check asks its peers for");
        rules.push({ id: "haproxy-vrrp-from-haproxy", group: "haproxy", protocol: "112", source: { group: "haproxy" }, description: "VRRP (unicast) between the HAProxy pair" });
    }
    const hostGroups: SecurityGroupRole[] = a.frontDoor === "vip" ? ["etcd", "patroni", "haproxy"] : ["etcd", "patroni"];
    for (const group of hostGroups) {
        if (a.ssh.access === "bastion") tcp(group, 22, { group: "bastion" }, "SSH from the bastion");
        else for (const cidr of a.adminCidrs) tcp(group, 22, { cidr }, "SSH from admins");
    }
    if (a.ssh.access === "bastion") for (const cidr of a.adminCidrs) tcp("bastion", 22, { cidr }, "SSH to the bastion from admins");
    return rules;
}

/** The security groups the settings need. */
export function securityGroupRoles(a: Pick<ResolvedAws, "frontDoor" | "ssh">): SecurityGroupRole[] {
    return ["etcd", "patroni", a.frontDoor === "vip" ? "haproxy" : "nlb", ...(a.ssh.access === "bastion" ? ["bastion" as const] : [])];
}

/**
 * The writes the notify_master script makes, and nothing else: it takes the VIP from the peer with
 * `assign-private-ip-addresses --allow-reassignment` and never calls unassign.
 */
export const MOVE_VIP_ACTIONS = ["ec2:AssignPrivateIpAddresses"] as const;

/** The reads it makes: DescribeNetworkInterfaces supports no resource-level scoping (Service Authorization Reference, Amazon EC2), so `*`. */
export const CHECK_VIP_ACTIONS = ["ec2:DescribeNetworkInterfaces"] as const;

/**
 * The HAProxy instances' policy: assign only on the pair's two ENIs (their ARNs are known
 * because AwsHosts creates the ENIs itself); describe on `*` (it only reads).
 */
export function moveVipPolicy(eniArns: string[]): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "MoveVipBetweenHaproxyEnis", Effect: "Allow", Action: [...MOVE_VIP_ACTIONS], Resource: eniArns },
            { Sid: "CheckVipAssignment", Effect: "Allow", Action: [...CHECK_VIP_ACTIONS], Resource: "*" },
        ],
    };
}

export const EC2_ASSUME_ROLE_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
};
