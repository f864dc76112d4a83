/**
 * What differs between operating system families: package names, paths, services and where
 * packages come from. One table, read by the resolver; templates only see the resolved layout.
 */
import type { DistroFamily, DistroLayout, OsRelease, PackageSource } from "./types";

interface ReleaseFacts {
    family: DistroFamily;
    /** How the release names itself in /etc/os-release: ID, and VERSION_ID (or its major part). */
    osRelease: { id: string; versionId: string };
    /** apt suite codename, used for the PGDG apt repository. */
    codename?: string;
    /** PostgreSQL major versions the release's own repositories ship. */
    distroPostgresVersions: number[];
    /**
     * Version ("major.minor[.patch]") of the Patroni the release's own repositories ship (none on
     * RHEL: PGDG's). Debian's are measured (3.0.2 on Debian 12, 4.0.7 in the lab's Debian 13);
     * Ubuntu's are the series its archive lists, not checked from here.
     */
    distroPatroniVersion?: string;
    /**
     * Version of the pgBackRest the release's own repositories ship (none on RHEL: PGDG's). Debian's
     * are checked (2.45 on this Debian 12 machine, 2.55.1 in the lab's Debian 13); Ubuntu's are as
     * its archive lists them, not checked from here.
     */
    distroPgbackrestVersion?: string;
}

export const RELEASES: Record<OsRelease, ReleaseFacts> = {
    debian12: { family: "debian", osRelease: { id: "debian", versionId: "12" }, codename: "bookworm", distroPostgresVersions: [15], distroPatroniVersion: "3.0.2", distroPgbackrestVersion: "2.45" },
    debian13: { family: "debian", osRelease: { id: "debian", versionId: "13" }, codename: "trixie", distroPostgresVersions: [17], distroPatroniVersion: "4.0.7", distroPgbackrestVersion: "2.55.1" },
    "ubuntu22.04": { family: "debian", osRelease: { id: "ubuntu", versionId: "22.04" }, codename: "jammy", distroPostgresVersions: [14], distroPatroniVersion: "2.1", distroPgbackrestVersion: "2.38" },
    "ubuntu24.04": { family: "debian", osRelease: { id: "ubuntu", versionId: "24.04" }, codename: "noble", distroPostgresVersions: [16], distroPatroniVersion: "3.2", distroPgbackrestVersion: "2.50" },
    // Rocky/Alma ship PostgreSQL in AppStream but neither Patroni nor etcd: those come from PGDG.
    rocky9: { family: "rhel", osRelease: { id: "rocky", versionId: "9" }, distroPostgresVersions: [] },
    alma9: { family: "rhel", osRelease: { id: "almalinux", versionId: "9" }, distroPostgresVersions: [] },
};

/** Versions PGDG builds for every supported release. */
export const PGDG_POSTGRES_VERSIONS = [13, 14, 15, 16, 17, 18];

/** The PostgreSQL versions available for a release and package source. */
export function availablePostgresVersions(release: OsRelease, source: PackageSource): number[] {
    return source === "pgdg" ? PGDG_POSTGRES_VERSIONS : RELEASES[release].distroPostgresVersions;
}

/** PGDG's repositories carry Patroni 4. */
const PGDG_PATRONI_VERSION = "4.0";

/** The Patroni a release installs from a package source, as "major.minor[.patch]". */
export function patroniVersion(release: OsRelease, source: PackageSource): string {
    return source === "pgdg" ? PGDG_PATRONI_VERSION : (RELEASES[release].distroPatroniVersion ?? PGDG_PATRONI_VERSION);
}

/** The major version of Patroni a release installs from a package source. */
export function patroniMajorVersion(release: OsRelease, source: PackageSource): number {
    return Number(patroniVersion(release, source).split(".")[0]);
}

/**
 * The first Patroni whose etcd3 leader update is conditional (patroni/patroni#2689 and #2693):
 * before it, a primary whose Patroni was frozen (SIGSTOP, a stalled VM) for longer than the ttl
 * writes the leader key back from its stale view when it resumes, over the member promoted in the
 * meantime, and the new primary is demoted and rewound (measured in the lab on Debian 12's 3.0.2:
 * 268 acknowledged writes lost in 1 of 3 runs).
 */
export const PATRONI_FROZEN_LEADER_FIX = "3.0.3";

/** PGDG's repositories carry a current pgBackRest (2.55 or newer). */
const PGDG_PGBACKREST_VERSION = "2.55";

/** The pgBackRest version a release installs from a package source, as "major.minor[.patch]". */
export function pgbackrestVersion(release: OsRelease, source: PackageSource): string {
    return source === "pgdg" ? PGDG_PGBACKREST_VERSION : (RELEASES[release].distroPgbackrestVersion ?? PGDG_PGBACKREST_VERSION);
}

/** Whether `version` ("2.45", "2.55.1") is `at least` ("2.53") or newer. */
export function versionAtLeast(version: string, atLeast: string): boolean {
    const a = version.split(".").map(Number);
    const b = atLeast.split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    }
    return true;
}

/** The version used when the user names none: the release's own, or 16 from PGDG. */
export function defaultPostgresVersion(release: OsRelease, source: PackageSource): number {
    return source === "pgdg" ? 16 : (RELEASES[release].distroPostgresVersions[0] ?? 16);
}

const PGDG_APT_KEY_URL = "https://www.postgresql.org/media/keys/ACCC4CF8.asc";
const PGDG_RPM_URL =
    "https://download.postgresql.org/pub/repos/yum/reporpms/EL-9-x86_64/pgdg-redhat-repo-latest.noarch.rpm";

/** The layout of one release, package source and PostgreSQL version. */
export function distroLayout(release: OsRelease, source: PackageSource, pgVersion: number): DistroLayout {
    const facts = RELEASES[release];
    if (facts.family === "debian") {
        return {
            family: "debian",
            release,
            packageManager: "apt",
            packages: {
                etcd: ["etcd-server", "etcd-client", "curl"],
                // patroni's etcd3 client is built on python-etcd's client classes.
                patroni: [`postgresql-${pgVersion}`, "patroni", "python3-etcd", "curl", "postgresql-client"],
                haproxy: ["haproxy", "keepalived", "curl", "socat"],
                backup: ["pgbackrest"],
            },
            pgBinDir: `/usr/lib/postgresql/${pgVersion}/bin`,
            pgDataDir: `/var/lib/postgresql/${pgVersion}/main`,
            postgresHome: "/var/lib/postgresql",
            socketDir: "/var/run/postgresql",
            patroniConfigPath: "/etc/patroni/config.yml",
            patroniService: "patroni",
            etcdConfigPath: "/etc/default/etcd",
            etcdDataDir: "/var/lib/etcd/default",
            etcdService: "etcd",
            repoSetup:
                source === "pgdg"
                    ? [
                          "apt-get install -y -q curl ca-certificates",
                          "install -d /usr/share/postgresql-common/pgdg",
                          `curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc ${PGDG_APT_KEY_URL}`,
                          `echo 'deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${facts.codename}-pgdg main' > /etc/apt/sources.list.d/pgdg.list`,
                      ]
                    : [],
        };
    }
    return {
        family: "rhel",
        release,
        packageManager: "dnf",
        packages: {
            etcd: ["etcd", "curl"],
            patroni: [`postgresql${pgVersion}-server`, `postgresql${pgVersion}-contrib`, "patroni", "patroni-etcd", "curl"],
            haproxy: ["haproxy", "keepalived", "curl", "socat"],
            backup: ["pgbackrest"],
        },
        pgBinDir: `/usr/pgsql-${pgVersion}/bin`,
        pgDataDir: `/var/lib/pgsql/${pgVersion}/data`,
        postgresHome: "/var/lib/pgsql",
        socketDir: "/run/postgresql",
        patroniConfigPath: "/etc/patroni/patroni.yml",
        patroniService: "patroni",
        etcdConfigPath: "/etc/etcd/etcd.conf",
        etcdDataDir: "/var/lib/etcd/default",
        etcdService: "etcd",
        repoSetup: [
            "dnf install -y -q dnf-plugins-core epel-release",
            "dnf config-manager --set-enabled crb",
            `rpm -q pgdg-redhat-repo >/dev/null || dnf install -y -q ${PGDG_RPM_URL}`,
            "dnf config-manager --set-enabled pgdg-rhel9-extras",
            // AppStream's postgresql module would shadow PGDG's packages.
            "dnf -qy module disable postgresql",
        ],
    };
}
