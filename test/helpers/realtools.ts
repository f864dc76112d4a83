// Running the real tools (haproxy, keepalived, patroni, shellcheck, bash) over rendered files.
// A missing tool is a failure that names the apt package to install, never a skip.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parse, stringify } from "yaml";

/** PostgreSQL binaries of this (Debian 12) test machine: package postgresql-15 (tools/test-prereqs.sh installs it). */
export const LOCAL_PG_BIN_DIR = "/usr/lib/postgresql/15/bin";

export interface RunResult {
  status: number | null;
  /** stdout and stderr together, for failure messages. */
  output: string;
}

export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const result = spawnSync(command, args, { input: options.input, env: options.env ?? process.env, encoding: "utf8", timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}

/** The absolute path of `command`, or an error saying which apt package provides it. */
export function requireTool(command: string, aptPackage: string): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${command} is not installed: these tests run the real tool. Install it with \`apt-get install ${aptPackage}\`.`);
}

/**
 * Patroni with its etcd3 client. Patroni is a Python script: its own interpreter (from the
 * shebang, not whatever python3 is first on PATH) must import python-etcd.
 */
export function requirePatroniWithEtcd(): string {
  const patroni = requireTool("patroni", "patroni");
  const shebang = fs.readFileSync(patroni, "utf8").split("\n", 1)[0];
  const interpreter = shebang.startsWith("#!") ? shebang.slice(2).trim().split(/\s+/) : ["python3"];
  const probe = run(interpreter[0], [...interpreter.slice(1), "-c", "import etcd"]);
  if (probe.status !== 0) {
    throw new Error(`Patroni's interpreter ${interpreter.join(" ")} cannot import etcd: install it with \`apt-get install python3-etcd\`.\n${probe.output}`);
  }
  return patroni;
}

/** Files under `dir`, relative, with `/` separators, sorted. */
export function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join("/"))
    .sort();
}

/** A free TCP port on 127.0.0.1 (free when asked; the validator only checks that nothing listens). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP listener standing in for etcd. `patroni --validate-config` only checks that each etcd3
 * host accepts a connection; it never speaks the protocol.
 */
export async function openEtcdStandIn(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface PatroniCheckRewrite {
  restApiPort: number;
  postgresPort: number;
  etcdPort: number;
  /** Replaces `postgresql.bin_dir` when set. */
  binDir?: string;
}

/**
 * A copy of patroni.yml that Patroni 3.0.2's validator can check on this machine: it binds-checks
 * the listen addresses (the hosts' addresses do not exist here, and ports must be free) and
 * connects to every etcd3 host. Everything else is left exactly as rendered.
 */
export function patroniCheckCopy(text: string, rewrite: PatroniCheckRewrite): string {
  const config = parse(text, { version: "1.1" }) as {
    restapi: { listen: string };
    postgresql: { listen: string; bin_dir: string };
    etcd3: { hosts: string[] };
  };
  config.restapi.listen = `127.0.0.1:${rewrite.restApiPort}`;
  config.postgresql.listen = `127.0.0.1:${rewrite.postgresPort}`;
  config.etcd3.hosts = [`127.0.0.1:${rewrite.etcdPort}`];
  if (rewrite.binDir !== undefined) config.postgresql.bin_dir = rewrite.binDir;
  return stringify(config, { lineWidth: 0, version: "1.1" });
}

/** The interface of this machine's default route (or its first non-loopback one). */
export function localInterface(): string {
  const routes = fs.existsSync("/proc/net/route") ? fs.readFileSync("/proc/net/route", "utf8").split("\n").slice(1) : [];
  const defaultRoute = routes.map((l) => l.trim().split(/\s+/)).find((f) => f[1] === "00000000");
  if (defaultRoute) return defaultRoute[0];
  const any = fs.readdirSync("/sys/class/net").find((i) => i !== "lo");
  if (!any) throw new Error("no network interface besides lo: keepalived -t needs one");
  return any;
}

export function interfaceExists(name: string): boolean {
  return fs.existsSync(path.join("/sys/class/net", name));
}

export interface InstalledFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Puts files at their absolute paths (root-owned, as keepalived's script security wants) for the
 * duration of `body`, then puts back what was there: a file that existed gets its content, mode and
 * owner back; a file or directory that did not exist is removed.
 */
export function withInstalledFiles<T>(files: InstalledFile[], body: () => T): T {
  if (process.getuid?.() !== 0) throw new Error("keepalived -t checks that its scripts are root-owned: run these tests as root");
  const undo: Array<() => void> = [];
  try {
    for (const f of files) {
      const missingDirs: string[] = [];
      for (let dir = path.dirname(f.path); !fs.existsSync(dir); dir = path.dirname(dir)) missingDirs.push(dir);
      if (fs.existsSync(f.path)) {
        const before = { content: fs.readFileSync(f.path), stat: fs.statSync(f.path) };
        undo.push(() => {
          fs.writeFileSync(f.path, before.content);
          fs.chmodSync(f.path, before.stat.mode & 0o7777);
          fs.chownSync(f.path, before.stat.uid, before.stat.gid);
        });
      } else {
        undo.push(() => {
          fs.rmSync(f.path, { force: true });
          for (const dir of missingDirs) fs.rmdirSync(dir);
        });
      }
      fs.mkdirSync(path.dirname(f.path), { recursive: true, mode: 0o755 });
      fs.writeFileSync(f.path, f.content);
      fs.chmodSync(f.path, f.mode);
      fs.chownSync(f.path, 0, 0);
    }
    return body();
  } finally {
    for (const step of undo.reverse()) step();
  }
}
