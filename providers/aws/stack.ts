/**
 * The AWS provider as the program reads a stack (`pulumi-patroni:provider: aws`, settings under
 * `pulumi-patroni:aws`): checked, then planned into the cluster spec before anything exists. No Pulumi imports.
 */
import type { ProgramSettings, StackProvider } from "../../model/config";
import type { ClusterSpec } from "../../model/types";
import type { ValidationIssue } from "../../model/validate";
import { planAwsCluster, type AwsPlan } from "./plan";
import { resolveAwsSpec, type AwsSpec, type ResolvedAws } from "./spec";
import { validateAwsSpec } from "./validate";
import { AWS_SECONDARY_IP } from "./vip";
import { awsDataVolumes, ebsPlannedVolume } from "./volumes";

/** What the AWS provider planned from a stack's settings. */
export interface AwsStackSettings {
    /** `pulumi-patroni:aws`, resolved. */
    aws: ResolvedAws;
    /** Subnets, addresses and the VIP planned from it. */
    plan: AwsPlan;
}

/** SSH settings the program chooses itself on AWS. */
const CHOSEN_SSH_KEYS = ["proxy", "user", "port"];

/** A placeholder volume id for offline renders (`vol-` and 17 hex digits, from the host's name). */
const placeholderVolumeId = (host: string) => `vol-0${host.replace(/[^0-9a-f]/g, "").padStart(16, "0")}`;

export const AWS_STACK: StackProvider = {
    name: "aws",
    validate: ({ settings, cluster, ssh, defaultScope, at }) => [
        ...validateAwsSpec(settings, cluster, at.settings, at.cluster, defaultScope),
        ...CHOSEN_SSH_KEYS.filter((key) => ssh[key] !== undefined).map(
            (key): ValidationIssue => ({ setting: `${at.ssh}.${key}`, value: ssh[key], rule: "is chosen by the program on AWS (root on port 22, through the bastion or public IPs)", fix: `remove it; choose the way in with ${at.settings}.ssh.access` }),
        ),
    ],
    plan: (settings, cluster) => {
        const aws = resolveAwsSpec(settings as AwsSpec);
        const plan = planAwsCluster(aws, cluster as Omit<ClusterSpec, "hosts">);
        const machines: AwsStackSettings = { aws, plan };
        return { machines, clusterSpec: plan.clusterSpec };
    },
    vipMovers: [AWS_SECONDARY_IP],
    offlineDataVolumes: (c) =>
        Object.fromEntries(Object.entries(awsDataVolumes(c)).map(([host, layout]) => [host, { volumeId: placeholderVolumeId(host), ...ebsPlannedVolume(c, host, layout) }])),
};

/** The AWS settings and plan of a stack on AWS; undefined on any other provider. */
export function awsStackSettings(s: ProgramSettings): AwsStackSettings | undefined {
    return s.machines?.provider === AWS_STACK ? (s.machines.plan as AwsStackSettings) : undefined;
}
