/**
 * A point-in-time restore of the lab's cluster, as a user would need one: rows written with the writer
 * running, a point in time noted, more rows, a table dropped; then a restore to that point — `lab
 * restore --to` (lab/restore.ts), or whatever `restore` does (the e2e: the stack setting backup.restore).
 */
import { labCluster, labLayout, labSsh, runningHosts } from "../lab/cli";
import { restoreTargetMs } from "../model/backup";
import { restoreLab, type RestoreStep } from "../lab/restore";
import { query } from "./day2-lib";
import { sleep, Writer } from "./failover-lib";

export interface PointInTimeRestore {
    /** The point restored to, as the primary's clock said it (UTC, as pgBackRest reads it). */
    target: string;
    restoreSec: number;
    steps: RestoreStep[];
    /** Rows the writer had acknowledged before the target, and those of them not there after the restore. */
    ackedBeforeTarget: number;
    missingBeforeTarget: number[];
    /** Rows acknowledged more than a second after the target (gone by design), and rows begun after the target that are still there. */
    ackedAfterTarget: number;
    presentAfterTarget: number;
    /** The table dropped after the target: its rows after the restore (it had `droppedRows`). */
    droppedRows: number;
    droppedTableRows: number;
}

/** Restores the lab's cluster to a target; returns each step's time. */
export type Restore = (target: string) => Promise<RestoreStep[]>;

/** `lab restore --to <target>`: the procedure run over SSH, step by step (lab/restore.ts). */
export const labRestore =
    (echo = true): Restore =>
    async (target) =>
        restoreLab(labSsh, target, runningHosts(), labCluster().scope, labLayout().patroniConfigPath, echo);

export async function pointInTimeRestore(password: string, restore: Restore = labRestore()): Promise<PointInTimeRestore> {
    const droppedRows = 1000;
    await Writer.prepare(password);
    const writer = new Writer();
    const run = `pitr-${Date.now()}`;
    writer.start(run);
    let target: string;
    try {
        await query(5000, "drop table if exists pitr_dropped", "postgres", password);
        await query(5000, `create table pitr_dropped as select g as id from generate_series(1, ${droppedRows}) g`, "postgres", password);
        await sleep(5000);
        // As pgBackRest reads a target: YYYY-MM-DD HH:MM:SS[.fraction] and a zone.
        target = await query(5000, `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US"+00"')`, "postgres", password);
        await sleep(5000);
        await query(5000, "drop table pitr_dropped", "postgres", password);
        await sleep(1000);
    } finally {
        await writer.stop();
    }

    const started = Date.now();
    const steps = await restore(target);
    const restoreSec = (Date.now() - started) / 1000;

    const targetMs = restoreTargetMs(target);
    const rows = (await query(5000, `select id from failover_writes_v2 where run = '${run}'`, "postgres", password)).split("\n").filter(Boolean).map(Number);
    const present = new Set(rows);
    const before = writer.acks.filter((a) => a.at < targetMs);
    // acked_by_client is the inserting transaction's now(): a row begun after the target committed after it.
    const presentAfterTarget = Number(await query(5000, `select count(*) from failover_writes_v2 where run = '${run}' and acked_by_client > '${target}'`, "postgres", password));
    const droppedTableRows = Number(await query(5000, "select count(*) from pitr_dropped", "postgres", password).catch(() => "-1"));
    return {
        target,
        restoreSec: Math.round(restoreSec * 10) / 10,
        steps,
        ackedBeforeTarget: before.length,
        missingBeforeTarget: before.filter((a) => !present.has(a.id)).map((a) => a.id),
        ackedAfterTarget: writer.acks.filter((a) => a.at > targetMs + 1000).length,
        presentAfterTarget,
        droppedRows,
        droppedTableRows,
    };
}
