/**
 * Every file each host receives, keyed by host: its configuration files at their real paths and the
 * scripts of its steps under `steps/`. Used by `npm run render` (and the tests that run the real
 * tools over it); the components create one remote command per entry from the same functions.
 */
import type { ClusterSecrets, HostRole, ResolvedCluster } from "../model/types";
import * as files from "./files";
import { renderRolesSql } from "./roles";

export interface BundleEntry {
    /** Path inside the host's folder: an absolute host path without its leading `/`, or `steps/...`. */
    path: string;
    content: string;
    /** What checks it: the file's own validator, or `shell` for step scripts. */
    validator: files.Validator | "sql";
}

const ROLES: HostRole[] = ["etcd", "patroni", "haproxy"];

/** Placeholder secrets for offline rendering: valid where the real ones would be, obviously fake. */
export function placeholderSecrets(c: ResolvedCluster): ClusterSecrets {
    return {
        superuserPassword: "<secret:superuserPassword>",
        replicationPassword: "<secret:replicationPassword>",
        rewindPassword: "<secret:rewindPassword>",
        adminPassword: "<secret:adminPassword>",
        restApiPassword: "<secret:restApiPassword>",
        keepalivedPassword: "SECRET00",
        userPasswords: Object.fromEntries(c.users.map((u) => [u.name, `<secret:userPasswords.${u.name}>`])),
    };
}

export function hostNames(c: ResolvedCluster): string[] {
    return [...new Set(ROLES.flatMap((role) => c.hosts[role].map((h) => h.name)))];
}

/** A data volume as the mount step sees it (on AWS: the EBS volume id and its attachment's device). */
export interface DataVolumeInfo {
    volumeId: string;
    mountPoint: string;
    deviceName: string;
}

/**
 * `dataVolumes`: the data volume of each host that has one, by host name (their ids exist only once
 * created: offline renders pass placeholders).
 */
export function renderHostBundle(c: ResolvedCluster, hostName: string, secrets: ClusterSecrets, dataVolumes: Record<string, DataVolumeInfo> = {}): BundleEntry[] {
    const entries: BundleEntry[] = [];
    const step = (n: number, name: string, content: string, onDelete?: string) => {
        entries.push({ path: `steps/${String(n).padStart(2, "0")}-${name}.sh`, content, validator: "shell" });
        // What the step runs when it is deleted (`pulumi destroy`, or it left the program).
        if (onDelete) entries.push({ path: `steps/${String(n).padStart(2, "0")}-${name}.on-delete.sh`, content: onDelete, validator: "shell" });
    };
    step(0, "host-ready", files.hostReadyScript(c));
    const volume = dataVolumes[hostName];
    const member = [...c.hosts.etcd, ...c.hosts.patroni].find((h) => h.name === hostName);
    if (volume && member) step(5, "mount-data", files.mountDataScript(c, member, volume));
    ROLES.forEach((role) => {
        const host = c.hosts[role].find((h) => h.name === hostName);
        if (host) step(10, `install-${role}`, files.installScript(c, role, host));
    });
    for (const file of files.hostConfigFiles(c, hostName, secrets)) {
        entries.push({ path: file.path.replace(/^\//, ""), content: file.content, validator: file.validator });
        step(20, `write-${file.id}`, files.writeFileScript(file), files.removeFileScript(file));
    }
    const etcd = c.hosts.etcd.find((h) => h.name === hostName);
    if (etcd) {
        step(30, "etcd-start", files.etcdStartScript(c, etcd, files.appliedFiles(files.etcdFiles(c, etcd))), files.etcdStopScript(c, etcd));
        if (etcd === c.hosts.etcd[0]) step(31, "etcd-health", files.etcdHealthScript(c));
    }
    const patroni = c.hosts.patroni.find((h) => h.name === hostName);
    if (patroni) {
        step(40, "patroni-start", files.patroniStartScript(c, patroni, files.appliedFiles(files.patroniFiles(c, patroni, secrets))), files.patroniStopScript(c, patroni));
        if (patroni === c.hosts.patroni[0]) {
            step(41, "patroni-leader-gate", files.patroniLeaderGateScript(c, patroni));
            step(42, "patroni-dcs-config", files.patroniDcsConfigScript(c));
            step(43, "patroni-replicas-gate", files.patroniReplicasGateScript(c, patroni));
            if (c.frontDoor === "vip") step(60, "vip-gate", files.vipGateScript(c));
            step(70, "roles", files.rolesScript(c));
            entries.push({ path: "steps/70-roles.sql", content: renderRolesSql(c, secrets), validator: "sql" });
        }
    }
    const proxy = c.hosts.haproxy.find((h) => h.name === hostName);
    if (proxy) step(50, "proxy-start", files.proxyStartScript(proxy, files.appliedFiles(files.proxyFiles(c, proxy, secrets))), files.proxyStopScript(proxy));
    return entries;
}
