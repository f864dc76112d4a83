/**
 * `npm run bench:backup -- [--stack lab-backup] [--data-gb 1] [--runs 3] [--minutes 60] [--rate 200] [--out backup]`:
 * backups with pgBackRest on the lab (a repository host), measured:
 *  - a full backup of a --data-gb database (pgbench -i), --runs times, beside a baseline in the same
 *    run: tar | gzip -1 of the same data directory on the primary (reading and compressing the files
 *    alone, with no repository, no TLS, no checksums);
 *  - the restore procedure to the latest point (lab/restore.ts), --runs times: the restore on the
 *    member that leads, the fresh full backup, the re-clones, and in all;
 *  - a steady write load for --minutes (pgbench at --rate transactions/s on the primary): the archive's
 *    lag (from the moment a WAL segment is complete to the moment pg_stat_archiver says it is archived,
 *    sampled every 0.2 s on the primary: the archive's RPO) and the WAL rate; then the repository's
 *    size (backups and archive) against the database's, after the scheduled backups of that time.
 * Writes bench/results/<out>.{json,md}.
 */
import * as fs from "fs";
import * as path from "path";
import { labCluster, labLayout, labSsh, runningHosts } from "../lab/cli";
import { restoreLab, type RestoreStep } from "../lab/restore";
import { FULL_BACKUP_SERVICE } from "../render/pgbackrest";
import { loadData, repositoryBackups } from "./day2-lib";
import { lab, patroniMembers, sleep } from "./failover-lib";
import { archiveLags, round, spread, type Spread } from "./stats";

function arg(argv: string[], name: string, fallback: string): string {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
}

function ssh(host: string, command: string): string {
    const r = labSsh(host, command);
    if (r.status !== 0) throw new Error(`${host}: ${command}: exit ${r.status}\n${r.output}`);
    return r.output;
}

const leader = (): string => {
    const name = (patroniMembers() ?? []).find((m) => m.role === "leader")?.name;
    if (!name) throw new Error("no leader");
    return name;
};

/** A query on the primary over its own socket, as postgres. */
function sql(host: string, query: string): string {
    const l = labLayout();
    return ssh(host, `runuser -u postgres -- ${l.pgBinDir}/psql -h ${l.socketDir} -XAtc "${query}"`).trim();
}

const timed = (f: () => void): number => {
    const t0 = Date.now();
    f();
    return (Date.now() - t0) / 1000;
};


async function main(argv: string[]): Promise<void> {
    const stack = arg(argv, "--stack", "lab-backup");
    const dataGb = Number(arg(argv, "--data-gb", "1"));
    const runs = Number(arg(argv, "--runs", "3"));
    const minutes = Number(arg(argv, "--minutes", "60"));
    const rate = Number(arg(argv, "--rate", "200"));
    const out = arg(argv, "--out", "backup");
    const started = new Date().toISOString();
    if (!runningHosts().some((h) => h.roles.includes("backup"))) lab("up", "--stack", stack);
    const repository = runningHosts().find((h) => h.roles.includes("backup"))!.name;
    const layout = labLayout();

    loadData(dataGb);
    const primary = leader();
    const databaseBytes = Number(sql(primary, "select sum(pg_database_size(datname)) from pg_database"));
    console.error(`database: ${(databaseBytes / 2 ** 20).toFixed(0)} MiB on ${primary}`);

    const backupSec: number[] = [];
    const baselineSec: number[] = [];
    for (let i = 1; i <= runs; i++) {
        baselineSec.push(timed(() => ssh(primary, `tar -C ${layout.pgDataDir} -cf - . 2>/dev/null | gzip -1 | wc -c`)));
        backupSec.push(timed(() => ssh(repository, `systemctl start ${FULL_BACKUP_SERVICE}`)));
        console.error(`full backup ${i}/${runs}: ${backupSec.at(-1)!.toFixed(1)} s (baseline tar | gzip -1: ${baselineSec.at(-1)!.toFixed(1)} s)`);
    }
    const fullBackup = repositoryBackups(repository).filter((b) => b.type === "full").length;

    const restores: Array<{ totalSec: number; steps: RestoreStep[] }> = [];
    for (let i = 1; i <= runs; i++) {
        const t0 = Date.now();
        const steps = restoreLab(labSsh, "latest", runningHosts(), labCluster().scope, layout.patroniConfigPath, false);
        restores.push({ totalSec: (Date.now() - t0) / 1000, steps });
        console.error(`restore ${i}/${runs}: ${restores.at(-1)!.totalSec.toFixed(1)} s (${steps.map((s) => `${s.step} ${s.host} ${s.sec} s`).join(", ")})`);
    }
    const stepSpread = (pick: (steps: RestoreStep[]) => number): Spread | undefined => spread(restores.map((r) => pick(r.steps)), 1);
    const sum = (steps: RestoreStep[], name: string) => steps.filter((s) => s.step === name).reduce((a, s) => a + s.sec, 0);

    // The steady load, and the archiver sampled on the primary itself (no ssh per sample).
    const writer = leader();
    const du = () => Number(ssh(repository, `du -sb ${labCluster().backup.repository.path} | cut -f1`).trim());
    const repoBefore = du();
    const l = layout;
    // One psql session on the primary, asking every 0.2 s (\watch), its lines written to a file.
    const sampler = `echo "select extract(epoch from clock_timestamp()), pg_walfile_name(pg_current_wal_lsn()), coalesce(last_archived_wal, '') from pg_stat_archiver \\\\watch 0.2" | runuser -u postgres -- ${l.pgBinDir}/psql -h ${l.socketDir} -XAtF' '\n`;
    ssh(writer, `echo ${Buffer.from(sampler).toString("base64")} | base64 -d > /tmp/pgha-archive-lag.sh; rm -f /tmp/pgha-archive-lag.log; setsid nohup bash /tmp/pgha-archive-lag.sh > /tmp/pgha-archive-lag.log 2>/dev/null & echo $! > /tmp/pgha-archive-lag.pid`);
    const lsnStart = sql(writer, "select pg_current_wal_lsn()");
    console.error(`steady writes for ${minutes} min at ${rate} tps (pgbench -R) on ${writer}`);
    const t0 = Date.now();
    ssh(writer, `cd /tmp && runuser -u postgres -- ${l.pgBinDir}/pgbench -n -c 4 -j 2 -R ${rate} -T ${Math.round(minutes * 60)} postgres > /tmp/pgha-pgbench.log 2>&1; tail -5 /tmp/pgha-pgbench.log`);
    const loadSec = (Date.now() - t0) / 1000;
    const walBytes = Number(sql(writer, `select pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsnStart}')`));
    await sleep(5000);
    // The sampler's process group (its own session): the shell and its psql.
    ssh(writer, "kill -- -$(cat /tmp/pgha-archive-lag.pid) 2>/dev/null; rm -f /tmp/pgha-archive-lag.sh /tmp/pgha-archive-lag.pid; true");
    const lags = archiveLags(ssh(writer, "cat /tmp/pgha-archive-lag.log").split("\n"));
    const databaseAfter = Number(sql(writer, "select sum(pg_database_size(datname)) from pg_database"));
    const repoAfter = du();
    const [backupsBytes, archiveBytes] = ssh(repository, `du -sb ${labCluster().backup.repository.path}/backup ${labCluster().backup.repository.path}/archive | cut -f1`).trim().split("\n").map(Number);
    const sorted = [...lags.lagsSec].sort((a, b) => a - b);

    const result = {
        started,
        stack,
        runs,
        database: { dataGb, bytes: databaseBytes },
        fullBackup: { sec: spread(backupSec, 1), baselineTarGzipSec: spread(baselineSec, 1), ratioToBaseline: round(spread(backupSec)!.median / spread(baselineSec)!.median, 2), fullBackupsKept: fullBackup },
        restoreLatest: {
            totalSec: spread(restores.map((r) => r.totalSec), 1),
            restoreOnLeaderSec: stepSpread((s) => sum(s, "restore")),
            freshFullBackupSec: stepSpread((s) => sum(s, "backup")),
            recloneEachSec: stepSpread((s) => sum(s, "reclone") / Math.max(1, s.filter((x) => x.step === "reclone").length)),
            stopAndClearSec: stepSpread((s) => sum(s, "pause") + sum(s, "stop") + sum(s, "clear-dcs")),
        },
        steadyWrites: {
            minutes: round(loadSec / 60, 1),
            ratePerSec: rate,
            walMiBPerMin: round(walBytes / 2 ** 20 / (loadSec / 60), 1),
            segments: lags.segments,
            archiveLagSec: spread(lags.lagsSec, 1),
            archiveLagP95Sec: sorted.length ? round(sorted[Math.floor(sorted.length * 0.95)], 1) : undefined,
        },
        repository: {
            bytesBefore: repoBefore,
            bytesAfter: repoAfter,
            backupsBytes,
            archiveBytes,
            databaseBytesAfter: databaseAfter,
            ratioToDatabase: round(repoAfter / databaseAfter, 2),
        },
    };
    const dir = path.join(__dirname, "results");
    fs.writeFileSync(path.join(dir, `${out}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const s = (x: Spread | undefined) => (x ? `${x.median} (${x.min}–${x.max})` : "–");
    const md = [
        `# Backups with pgBackRest (\`npm run bench:backup\`, stack ${stack})`,
        "",
        `${started}; ${runs} runs each; medians (min–max), seconds. Database: ${mib(databaseBytes)} (pgbench, --data-gb ${dataGb}).`,
        "",
        "| measure | result |",
        "|---|---|",
        `| full backup (repository host, through the primary's pgBackRest server, zst, process-max 2) | ${s(result.fullBackup.sec)} s |`,
        `| baseline: tar \\| gzip -1 of the data directory on the primary | ${s(result.fullBackup.baselineTarGzipSec)} s |`,
        `| full backup / baseline (medians) | ${result.fullBackup.ratioToBaseline} |`,
        `| restore to latest, in all (pause, stop, clear the DCS, restore, fresh full backup, 2 re-clones) | ${s(result.restoreLatest.totalSec)} s |`,
        `| of which: pause, stop, clear the DCS (a ttl for the member keys to expire) | ${s(result.restoreLatest.stopAndClearSec)} s |`,
        `| of which: restore on the member that leads, until it leads | ${s(result.restoreLatest.restoreOnLeaderSec)} s |`,
        `| of which: the fresh full backup | ${s(result.restoreLatest.freshFullBackupSec)} s |`,
        `| of which: each re-clone, until it streams | ${s(result.restoreLatest.recloneEachSec)} s |`,
        `| steady writes: ${result.steadyWrites.minutes} min of pgbench at ${rate} tps, WAL | ${result.steadyWrites.walMiBPerMin} MiB/min, ${lags.segments} segments |`,
        `| archive lag, segment complete → archived (the archive's RPO) | ${s(result.steadyWrites.archiveLagSec)} s, p95 ${result.steadyWrites.archiveLagP95Sec ?? "–"} s |`,
        `| repository after the writes: backups + archive | ${mib(repoAfter)} (${mib(backupsBytes)} + ${mib(archiveBytes)}); before: ${mib(repoBefore)} |`,
        `| repository / database after the writes | ${result.repository.ratioToDatabase} (database ${mib(databaseAfter)}) |`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, `${out}.md`), md);
    console.log(md);
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err: unknown) => {
        console.error(err);
        process.exit(1);
    });
}
