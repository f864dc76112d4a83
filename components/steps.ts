/**
 * Turns the plan's steps (render/plan.ts) into remote commands: one `command.remote.Command` per step,
 * named `<prefix>-<step name>`, on the step's host, waiting for what the plan says.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import { clusterPlan, type Component, type PlanStep, type PlannedVolume, type StepText } from "../render/plan";
import { remoteScript, type ClusterHost } from "./remote";
import { hostByName } from "./hosts";

/** Plans already made, by cluster and host list: the components of one cluster share one. */
const plans = new WeakMap<ResolvedCluster, WeakMap<ClusterHost[], PlanStep[]>>();

/** The plan of a cluster on these hosts: a host with a data volume mounts it before installing. */
export function planFor(c: ResolvedCluster, hosts: ClusterHost[]): PlanStep[] {
    const forCluster = plans.get(c) ?? new WeakMap<ClusterHost[], PlanStep[]>();
    plans.set(c, forCluster);
    let plan = forCluster.get(hosts);
    if (!plan) {
        const volumes: Record<string, PlannedVolume> = {};
        for (const h of hosts) if (h.dataVolume) volumes[h.name] = { mountScript: h.dataVolume.mountScript };
        plan = clusterPlan(c, volumes);
        forCluster.set(hosts, plan);
    }
    return plan;
}

export interface CreateStepsArgs {
    /** The steps of one component, from the plan. */
    steps: PlanStep[];
    hosts: ClusterHost[];
    secrets?: pulumi.Output<ClusterSecrets>;
    /** What stands for the steps of other components this component's steps wait for or check. */
    upstream?: Partial<Record<Component, pulumi.Input<pulumi.Resource>[]>>;
}

/** Creates the commands; returns them by plan key. */
export function createSteps(prefix: string, args: CreateStepsArgs, parent: pulumi.Resource): Map<string, command.remote.Command> {
    const created = new Map<string, command.remote.Command>();
    const resolve = (key: string): pulumi.Input<pulumi.Resource>[] => {
        const own = created.get(key);
        if (own) return [own];
        const component = key.split("/")[0] as Component;
        const upstream = args.upstream?.[component];
        if (!upstream) throw new Error(`plan: step ${key} is neither created before its dependents nor given as upstream ${component}`);
        return upstream;
    };
    for (const step of args.steps) {
        const host = hostByName(args.hosts, step.host);
        const text = (t: StepText): pulumi.Input<string> => {
            if (typeof t === "string") return t;
            if ("secret" in t) {
                if (!args.secrets) throw new Error(`plan: step ${step.key} needs the cluster's secrets`);
                return args.secrets.apply(t.secret);
            }
            if (!host.dataVolume) throw new Error(`plan: step ${step.key} needs host ${host.name}'s data volume`);
            return pulumi.output(host.dataVolume.volumeId).apply(t.volumeId);
        };
        const resource = remoteScript(
            `${prefix}-${step.name}`,
            {
                host,
                script: text(step.script),
                // A file's content is its step's standard input: secret when rendered from the secrets.
                stdin: step.stdin === undefined ? undefined : text(step.stdin),
                onDelete: step.onDelete,
                dependsOn: step.dependsOn.flatMap(resolve),
                after: step.after.flatMap(resolve).filter((r): r is command.remote.Command => pulumi.Resource.isInstance(r)),
                timeout: step.timeout,
                runOnce: step.runOnce,
            },
            parent,
        );
        created.set(step.key, resource);
    }
    return created;
}

/** The created step of `key`; a missing one is a programming error in the plan. */
export function stepOf(steps: Map<string, command.remote.Command>, key: string): command.remote.Command {
    const step = steps.get(key);
    if (!step) throw new Error(`plan: no step ${key}`);
    return step;
}
