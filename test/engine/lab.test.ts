// Lab mode against a real, throwaway sshd on 127.0.0.1 (Debian package openssh-server).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { utils } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError, EngineEvent, runProgram } from "../../tools/engine";
import { SshPool } from "../../tools/engine/ssh";

const SSHD = "/usr/sbin/sshd";
const PROGRAM = path.resolve(__dirname, "../fixtures/engine-program/lab-program.ts");
/** The only variable the test sshd accepts from clients (AcceptEnv). */
const ACCEPTED_ENV = "LAB_ACCEPTED";
const MAX_SESSIONS = 3;

interface TestSshd {
  port: number;
  user: string;
  privateKey: string;
  dir: string;
  process: ChildProcess;
  log: () => string;
}

let sshd: TestSshd;

beforeAll(async () => {
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server`);
  sshd = await startSshd();
}, 30_000);

afterAll(() => {
  // Only the sshd this test started, by its PID.
  if (sshd?.process.pid) process.kill(sshd.process.pid, "SIGTERM");
  if (sshd) fs.rmSync(sshd.dir, { recursive: true, force: true });
});

function labConfig(scenario: string, remoteDir: string): Record<string, unknown> {
  return {
    "engine-fixture:scenario": scenario,
    "engine-fixture:port": sshd.port,
    "engine-fixture:user": sshd.user,
    "engine-fixture:privateKey": sshd.privateKey,
    "engine-fixture:remoteDir": remoteDir,
  };
}

describe("lab mode over SSH", () => {
  it("runs commands with stdin, env requests, SFTP copies, a bastion hop and real random values", async () => {
    const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-remote-"));
    const events: EngineEvent[] = [];
    const result = await runProgram({
      programPath: PROGRAM,
      stack: "lab",
      config: labConfig("ok", remoteDir),
      secretKeys: ["engine-fixture:privateKey"],
      mode: "lab",
      timeoutMs: 60_000,
      // One session of headroom: sshd frees a closed session a moment after the client sees it close.
      maxSessionsPerConnection: MAX_SESSIONS - 1,
      onEvent: (e) => events.push(e),
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n--- sshd log ---\n${sshd.log()}`);
    });
    const out = result.outputs;

    // stdin is written then closed (cat ends); one trailing newline is trimmed.
    expect(out.stdin).toBe("hello from stdin\nsecond-line");
    // Environment goes as SSH env requests: sshd passes only what AcceptEnv allows.
    expect(out.env).toBe("accepted=yes rejected=");
    // StringAsset and FileAsset arrive; the file keeps its mode.
    expect(out.copies).toBe("text asset\nfile asset\n755");
    expect(fs.readFileSync(path.join(remoteDir, "text.txt"), "utf8")).toBe("text asset\n");
    // 8 concurrent commands over a connection that allows 3 sessions all succeed.
    expect(out.parallel).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    // ...because the pool queued them, not because refusals were retried: without
    // the cap sshd would refuse at least 5 of them at once.
    expect(sshd.log().match(/no more sessions/g)?.length ?? 0).toBeLessThan(3);
    expect(out.proxy).toBe("through the bastion");

    const password = out.password as string;
    expect(password).toHaveLength(24);
    expect(password.replace(/[^A-Z]/g, "").length).toBeGreaterThanOrEqual(2);
    expect(password.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(2);
    expect(password).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(password).not.toMatch(/^plan-placeholder/);
    expect(result.secretOutputs).toEqual(["password"]);
    expect(out.randomHex).toMatch(/^[0-9a-f]{16}$/);

    const finished = events.filter((e) => e.kind === "finish").map((e) => e.name);
    expect(finished).toEqual(expect.arrayContaining(["stdin", "env", "copy-text", "copy-file", "check-copies", "via-proxy", "pw", "rid"]));
    fs.rmSync(remoteDir, { recursive: true, force: true });
  }, 90_000);

  it("fails on a non-zero exit, naming resource, host, exit code and the output tail, after the steps already running finish", async () => {
    const started = Date.now();
    const error = await runProgram({
      programPath: PROGRAM,
      stack: "lab",
      config: labConfig("fail", os.tmpdir()),
      mode: "lab",
      timeoutMs: 60_000,
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(EngineError);
    const details = (error as EngineError).details;
    expect(details.kind).toBe("resource-failed");
    expect(details.resource).toBe("boom");
    expect(details.host).toBe(`${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(details.message).toContain("exited with code 3");
    // Last 30 lines of stdout+stderr: line-12 … line-40 and "oops".
    const tail = details.outputTail!.split("\n");
    expect(tail).toHaveLength(30);
    expect(tail[0]).toBe("line-12");
    expect(tail[29]).toBe("oops");
    // slow-sibling (3 s) was running when boom failed: the engine starts nothing new after a failure but
    // lets running steps finish and records them (pulumi/pulumi step_executor.go cancelDueToError;
    // provider calls in step.go take context.TODO()).
    const sibling = details.resources.find((r) => r.name === "slow-sibling")!;
    expect(sibling.status).toBe("done");
    expect(sibling.outputs.stdout).toBe("sibling-done");
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});

describe("a connection that drops while a command runs", () => {
  it("runs the command once more on a fresh connection, and says so", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-drop-"));
    const pool = new SshPool();
    const logs: string[] = [];
    const endpoint = { host: "127.0.0.1", port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, dialErrorLimit: 3, perDialTimeoutSec: 5 };
    // First run: leaves a marker and waits; the second run (after the drop) finds the marker.
    const command = `if [ -e ${dir}/marker ]; then echo second run; else touch ${dir}/marker; sleep 30; fi`;
    const running = pool.exec(endpoint, command, { timeoutMs: 60_000, signal: new AbortController().signal, log: (m) => logs.push(m) });
    await waitFor(() => fs.existsSync(path.join(dir, "marker")));
    // Drop the transport: kill this connection's sshd process (a child of the listening sshd), by PID.
    const children = fs.readFileSync(`/proc/${sshd.process.pid}/task/${sshd.process.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    expect(children.length).toBeGreaterThan(0);
    for (const pid of children) process.kill(Number(pid), "SIGKILL");
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe("second run");
    expect(logs.join("\n")).toMatch(/dropped while the command ran; running it again/);
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startSshd(): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-sshd-"));
  const hostKey = utils.generateKeyPairSync("ed25519");
  const clientKey = utils.generateKeyPairSync("ed25519");
  fs.writeFileSync(path.join(dir, "host_key"), hostKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "authorized_keys"), `${clientKey.public}\n`, { mode: 0o600 });
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `ListenAddress 127.0.0.1`,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      `PasswordAuthentication no`,
      `KbdInteractiveAuthentication no`,
      `PermitRootLogin prohibit-password`,
      `UsePAM no`,
      // The temp dir's permissions are not sshd's business here.
      `StrictModes no`,
      `AcceptEnv ${ACCEPTED_ENV}`,
      `MaxSessions ${MAX_SESSIONS}`,
      `AllowTcpForwarding yes`,
      `Subsystem sftp internal-sftp`,
      "",
    ].join("\n"),
  );
  // Privilege separation needs this directory; without systemd nobody creates it.
  fs.mkdirSync("/run/sshd", { recursive: true });
  const child = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config"), "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  await waitForBanner(port, () => log);
  return { port, user: os.userInfo().username, privateKey: clientKey.private, dir, process: child, log: () => log };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitForBanner(port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const banner = await new Promise<string>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.setTimeout(1000);
      socket.once("data", (data) => (socket.destroy(), resolve(data.toString())));
      socket.once("error", () => resolve(""));
      socket.once("timeout", () => (socket.destroy(), resolve("")));
    });
    if (banner.startsWith("SSH-")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the test sshd did not start on 127.0.0.1:${port}:\n${log()}`);
}
