// The archive lag the backup bench reports (bench/stats.ts archiveLags), from samples of the primary's
// current WAL segment and pg_stat_archiver's last archived file.
import { describe, expect, it } from "vitest";
import { archiveLags } from "../bench/stats";

describe("archiveLags", () => {
    it("times each segment from the sample where a later one is current to the sample where it is archived", () => {
        const samples = [
            "100 000000010000000000000005 000000010000000000000004",
            "101 000000010000000000000006 000000010000000000000004", // 05 complete at 101
            "102 000000010000000000000006 000000010000000000000005", // 05 archived at 102
            "103 000000010000000000000008 000000010000000000000005", // 06 complete at 103 (07 skipped between samples)
            "106 000000010000000000000008 000000010000000000000006", // 06 archived at 106
            "107 000000010000000000000009 000000010000000000000006", // 08 complete, never archived in the samples
        ];
        expect(archiveLags(samples)).toEqual({ lagsSec: [1, 3], segments: 3 });
    });

    it("ignores a history file as the last archived (it sorts below its timeline's segments) and blank lines", () => {
        const samples = ["1 000000020000000000000003 ", "2 000000020000000000000004 00000002.history", "", "3 000000020000000000000004 000000020000000000000003"];
        expect(archiveLags(samples)).toEqual({ lagsSec: [1], segments: 1 });
    });
});
