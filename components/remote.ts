/**
 * Small remote building blocks on @pulumi/command: a script run on a host, and a file written on a
 * host from standard input. Scripts are fixed text (no secrets ever in a command line); secrets
 * travel on standard input.
 *
 * How a later `pulumi up` treats them (pulumi-command v1.2.1; see tools/engine/diff.ts): a step whose
 * inputs (script, standard input, connection) are unchanged runs nothing; a changed one runs its
 * `update`, which is the same script. No step has `triggers`: a trigger change *replaces* the
 * resource, and a replacement runs the old resource's `delete` after the new one's `create` — for a
 * step that starts a service, or writes a file, that would stop the service, or remove the file,
 * right after applying it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { sha256 } from "../render/files";
import type { PlannedVolume } from "../render/plan";

export type ConnectionArgs = command.types.input.remote.ConnectionArgs;

/**
 * How long an SSH connection keeps dialing a host that refuses it (a machine still booting): up to
 * 30 failed dials of at most 15 s each (pulumi-command's own defaults are 10 and 15). The connection
 * is an input of every step: changing these numbers makes the next `pulumi up` run every step again.
 */
export const SSH_DIAL_PATIENCE = { dialErrorLimit: 30, perDialTimeout: 15 } as const;

/** A machine as the components see it: its place in the model and how to reach it. */
export interface ClusterHost {
    /** Host name as in the cluster spec. */
    name: string;
    /** SSH connection (the address, user, key and optional bastion `proxy`). */
    connection: pulumi.Input<ConnectionArgs>;
    /**
     * Resources that must exist before the host is usable (a cloud instance, a volume attachment).
     * @default []
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * A block volume holding the role's data, formatted once and mounted before anything is
     * installed (put the attachment in `dependsOn`).
     * @default - none: data lives on the root disk
     */
    dataVolume?: DataVolume;
}

/**
 * A data volume attached to a host, as its provider hands it over: its id once it exists, and the
 * mount step (only the provider knows how the volume shows on the host), rendered from that id.
 */
export interface DataVolume extends PlannedVolume {
    /** The volume's id in its provider; known once the volume exists. */
    volumeId: pulumi.Input<string>;
}

export interface RemoteScriptArgs {
    host: ClusterHost;
    /** The script, run by the login shell. It must be safe to run twice. */
    script: pulumi.Input<string>;
    /** Standard input: where secrets go. A change re-runs the script. */
    stdin?: pulumi.Input<string>;
    /**
     * Run when the step is deleted (`pulumi destroy`, or the step left the program): undo what
     * `script` set up. Never runs on an update.
     * @default - nothing runs on delete
     */
    onDelete?: string;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Steps this one checks (a gate): it waits for them and runs again whenever any of them runs
     * again (their scripts and standard input are part of it, as a hash).
     * @default []
     */
    after?: command.remote.Command[];
    /** @default "20m" */
    timeout?: string;
    /**
     * Run when created only: changes to the script or the connection are ignored (`ignoreChanges`),
     * so nothing runs it again. Another run is another resource.
     * @default false
     */
    runOnce?: boolean;
}

/**
 * What a run-once step ignores. The engine diffs the old values of these paths in place of the new ones
 * (pulumi/pkg/resource/deploy/step_generator.go, processIgnoreChanges); a replacement would take
 * them too, which is why a run-once step has no `triggers`.
 */
export const RUN_ONCE_IGNORED = ["connection", "create", "update"];

/** Run a script on a host; run it again (an update, never a replacement) when the script or its stdin change. */
export function remoteScript(name: string, args: RemoteScriptArgs, parent: pulumi.Resource): command.remote.Command {
    const after = args.after ?? [];
    const script =
        after.length === 0
            ? pulumi.output(args.script)
            : pulumi.all([args.script, revision(after)]).apply(([text, rev]) => `${text}# Checks steps at revision ${rev}: it runs again when any of them does.\n`);
    const step = new command.remote.Command(
        name,
        {
            connection: args.host.connection,
            create: script,
            update: script,
            delete: args.onDelete,
            stdin: args.stdin,
            logging: "stdoutAndStderr",
            // The provider would pass the previous stdout/stderr as SSH env requests, which sshd
            // refuses by default (a warning on every update and delete).
            addPreviousOutputInEnv: false,
        },
        {
            parent,
            dependsOn: [...(args.host.dependsOn ?? []), ...(args.dependsOn ?? []), ...after],
            customTimeouts: { create: args.timeout ?? "20m", update: args.timeout ?? "20m", delete: "10m" },
            ...(args.runOnce ? { ignoreChanges: RUN_ONCE_IGNORED } : {}),
        },
    );
    stepContent.set(step, pulumi.all([script, args.stdin ?? ""]).apply((values) => sha256(JSON.stringify(values))));
    return step;
}

/**
 * What each step runs (a hash of its script and standard input), from the values it was given: a
 * resource's own outputs would be unknown in a preview when absent (an unset stdin).
 */
const stepContent = new WeakMap<command.remote.Command, pulumi.Output<string>>();

/** A hash of what the steps run: it changes whenever any of them runs again. */
function revision(steps: command.remote.Command[]): pulumi.Output<string> {
    return pulumi.all(steps.map((s) => stepContent.get(s) ?? pulumi.output("external"))).apply((hashes) => sha256(hashes.join(",")));
}
