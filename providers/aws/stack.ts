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

/** What the AWS provider planned from a stack's settings. */
export interface AwsStackSettings {
    /** `pulumi-patroni:aws`, resolved. */
    aws: ResolvedAws;
    /** Subnets, addresses and the VIP planned from it. */
    plan: AwsPlan;
}

/** SSH settings the program chooses itself on AWS. */
const CHOSEN_SSH_KEYS = ["proxy", "user", "port"];

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
};

/** The AWS settings and plan of a stack on AWS; undefined on any other provider. */
export function awsStackSettings(s: ProgramSettings): AwsStackSettings | undefined {
    return s.machines?.provider === AWS_STACK ? (s.machines.plan as AwsStackSettings) : undefined;
}
