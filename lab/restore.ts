/**
 * `npm run lab -- restore --to <time|latest>`: the restore procedure every member carries
 * (/usr/local/sbin/pgha-restore, templates/pgha-restore.sh.hbs), run on the lab's hosts in its order, as an
 * operator would on real ones: pause on the primary (its WAL archived first), stop the members (the
 * primary last), clear the cluster's keys in etcd, restore on the member that led, a fresh full backup
 * of the new timeline, then every other member cloned anew from it.
 */
import { FULL_BACKUP_SERVICE, RESTORE_SCRIPT } from "../render/pgbackrest";
import type { LabHost } from "./cli";

export interface RestoreStep {
    step: string;
    host: string;
    sec: number;
}

/** A command on a lab host as root: its exit code and its output (stdout and stderr). */
export type LabSsh = (host: string, command: string) => { status: number; output: string };

const shq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** The member that leads now, as Patroni says (the first member when none does). */
function leaderOf(ssh: LabSsh, members: string[], patroniConfig: string): string {
    for (const host of members) {
        const r = ssh(host, `patronictl -c ${shq(patroniConfig)} list -f json`);
        if (r.status !== 0) continue;
        const leader = (JSON.parse(r.output.slice(r.output.indexOf("["))) as { Member: string; Role: string }[]).find((m) => m.Role === "Leader");
        if (leader) return leader.Member;
    }
    return members[0];
}

/**
 * Restores the lab's cluster to `target` ("latest" or a time PostgreSQL reads, with its zone) and
 * returns each step's time; throws, naming the step and host, at the first that fails.
 */
export function restoreLab(ssh: LabSsh, target: string, hosts: LabHost[], scope: string, patroniConfig: string, echo = true): RestoreStep[] {
    const members = hosts.filter((h) => h.roles.includes("patroni")).map((h) => h.name);
    if (members.length === 0) throw new Error("lab restore: the lab has no Patroni member");
    const repositoryHost = hosts.find((h) => h.roles.includes("backup"))?.name;
    const leader = leaderOf(ssh, members, patroniConfig);
    const others = members.filter((m) => m !== leader);
    const steps: RestoreStep[] = [];
    const run = (step: string, host: string, command: string) => {
        if (echo) console.error(`lab restore: ${step} on ${host}`);
        const t0 = Date.now();
        const r = ssh(host, command);
        if (echo) process.stderr.write(r.output);
        if (r.status !== 0) throw new Error(`lab restore: ${step} on ${host} failed (exit ${r.status})${echo ? "" : `:\n${r.output}`}`);
        steps.push({ step, host, sec: Math.round((Date.now() - t0) / 100) / 10 });
    };
    run("pause", leader, `${RESTORE_SCRIPT} pause`);
    for (const host of [...others, leader]) run("stop", host, `${RESTORE_SCRIPT} stop`);
    run("clear-dcs", leader, `${RESTORE_SCRIPT} clear-dcs ${shq(scope)}`);
    run("restore", leader, `${RESTORE_SCRIPT} restore ${shq(target)}`);
    // Backups run on the repository host when there is one, else on the primary.
    if (repositoryHost) run("backup", repositoryHost, `systemctl start ${FULL_BACKUP_SERVICE}`);
    else run("backup", leader, `${RESTORE_SCRIPT} backup`);
    for (const host of others) run("reclone", host, `${RESTORE_SCRIPT} reclone`);
    return steps;
}
