// `npm test`'s first step (tools/test-prereqs.sh): on this machine every package is there and it
// says nothing; for a user who is not root and lacks the tools it stops at once with the one command
// to run, naming exactly the missing packages. (Installing, as root, is what CI's fresh machine does.)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";

const SCRIPT = path.resolve(__dirname, "..", "tools", "test-prereqs.sh");

describe("the test prerequisites", () => {
    it("are all present here: the step prints nothing and succeeds", () => {
        const r = spawnSync("bash", [SCRIPT], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout + r.stderr).toBe("");
    });

    it("missing for a user who is not root: fails at once with the apt-get command naming each missing package", () => {
        // Nothing on PATH: every tool found by name is missing; those checked by path are still there.
        // A copy nobody can read: the checkout may be under /root (0700), as on a fresh machine.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prereqs-"));
        fs.chmodSync(dir, 0o755);
        const copy = path.join(dir, "test-prereqs.sh");
        fs.copyFileSync(SCRIPT, copy);
        fs.chmodSync(copy, 0o755);
        const r = spawnSync("runuser", ["-u", "nobody", "--", "/usr/bin/env", "-i", "PATH=/nonexistent", "/bin/bash", copy], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("npm test needs these Debian packages for its real-tool tests: haproxy keepalived patroni shellcheck pgbackrest systemd postgresql-client openssh-client curl");
        expect(r.stderr).toContain("run: sudo apt-get update && sudo apt-get install -y --no-install-recommends haproxy keepalived patroni shellcheck pgbackrest systemd postgresql-client openssh-client curl");
        expect(r.stderr).not.toContain("postgresql-15");
    });
});
