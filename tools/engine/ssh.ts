// SSH for lab mode: a pool of ssh2 connections, one per (proxy, host, port, user),
// each capped in concurrent sessions, with dial retries like @pulumi/command's.

import * as fs from "fs";
import * as path from "path";
import type { Duplex } from "stream";
import { Client, ConnectConfig, SFTPWrapper } from "ssh2";
import { Semaphore, sleep } from "./semaphore";

/** One hop's connection settings, from @pulumi/command's ConnectionArgs with defaults applied. */
export interface SshEndpoint {
  host: string;
  /** @default 22 */
  port: number;
  /** @default "root" */
  user: string;
  privateKey?: string;
  privateKeyPassword?: string;
  password?: string;
  /** Expected server key ("ssh-ed25519 AAAA..."); when set, any other key is refused. @default - not checked */
  hostKey?: string;
  /** Failed dials allowed before giving up; -1 for no limit. @default 10 */
  dialErrorLimit: number;
  /** @default 15 */
  perDialTimeoutSec: number;
  /** A bastion to hop through. @default - direct connection */
  proxy?: SshEndpoint;
}

export interface ExecOptions {
  stdin?: string;
  /** Sent as SSH "env" requests: sshd drops any variable not allowed by its AcceptEnv. */
  env?: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  log?: (message: string) => void;
}

export interface ExecResult {
  /** null when the process ended without an exit status (killed by a signal, or the connection dropped). */
  exitCode: number | null;
  exitSignal?: string;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order, for error reports. */
  combined: string;
}

/** Apply @pulumi/command's defaults to a `connection` input and check its types. */
export function endpointFromConnection(connection: unknown, what = "connection"): SshEndpoint {
  if (connection === null || typeof connection !== "object") {
    throw new Error(`${what} must be an object with at least "host", got ${JSON.stringify(connection)}.`);
  }
  const c = connection as Record<string, unknown>;
  if (typeof c.host !== "string" || c.host === "") throw new Error(`${what}.host must be a non-empty string, got ${JSON.stringify(c.host)}.`);
  const optionalString = (key: string) => {
    if (c[key] === undefined || c[key] === null) return undefined;
    if (typeof c[key] !== "string") throw new Error(`${what}.${key} must be a string.`);
    return c[key] as string;
  };
  return {
    host: c.host,
    port: c.port === undefined ? 22 : Number(c.port),
    user: optionalString("user") ?? "root",
    privateKey: optionalString("privateKey"),
    privateKeyPassword: optionalString("privateKeyPassword"),
    password: optionalString("password"),
    hostKey: optionalString("hostKey"),
    dialErrorLimit: c.dialErrorLimit === undefined ? 10 : Number(c.dialErrorLimit),
    perDialTimeoutSec: c.perDialTimeout === undefined ? 15 : Number(c.perDialTimeout),
    proxy: c.proxy ? endpointFromConnection(c.proxy, `${what}.proxy`) : undefined,
  };
}

/** "user@host:port" (and " via user@bastion:port"), for messages. */
export function describeEndpoint(e: SshEndpoint): string {
  const self = `${e.user}@${e.host}:${e.port}`;
  return e.proxy ? `${self} via ${describeEndpoint(e.proxy)}` : self;
}

interface PooledConnection {
  client: Client;
  /** sshd allows MaxSessions (default 10) sessions per connection; more fail to open. */
  sessions: Semaphore;
}

export interface SshPoolOptions {
  /** @default 8 (two below sshd's MaxSessions default) */
  maxSessionsPerConnection?: number;
}

export class SshPool {
  private readonly connections = new Map<string, Promise<PooledConnection>>();
  private readonly maxSessions: number;

  constructor(options: SshPoolOptions = {}) {
    // Two below sshd's default MaxSessions: sshd frees a closed session a moment after the client sees it close.
    this.maxSessions = options.maxSessionsPerConnection ?? 8;
  }

  /**
   * Run `command` and collect its output; a non-zero exit is a result, not an error.
   * When the connection drops while the command runs (its channel closes with neither an exit
   * status nor a signal), the command is run once more on a fresh connection: the steps this
   * engine runs are written to be idempotent, and a lost transport says nothing about the step.
   */
  async exec(endpoint: SshEndpoint, command: string, options: ExecOptions): Promise<ExecResult> {
    const first = await this.execPooled(endpoint, command, options);
    if (!connectionLost(first) || options.signal.aborted) return first;
    options.log?.(`connection to ${describeEndpoint(endpoint)} dropped while the command ran; running it again on a new connection`);
    this.connections.delete(describeEndpoint(endpoint));
    return this.execPooled(endpoint, command, options);
  }

  private async execPooled(endpoint: SshEndpoint, command: string, options: ExecOptions): Promise<ExecResult> {
    const connection = await this.connection(endpoint, options.signal, options.log);
    const release = await connection.sessions.acquire(options.signal);
    try {
      return await retryChannelOpen(() => execOnce(connection.client, command, options), options.signal);
    } finally {
      release();
    }
  }

  /** Write `content` (or the local file `localPath`) to `remotePath` over SFTP. */
  async upload(
    endpoint: SshEndpoint,
    source: { content: string } | { localPath: string },
    remotePath: string,
    signal: AbortSignal,
  ): Promise<void> {
    const connection = await this.connection(endpoint, signal);
    const release = await connection.sessions.acquire(signal);
    try {
      const sftp = await retryChannelOpen(() => openSftp(connection.client), signal);
      try {
        if ("content" in source) await sftpCall((cb) => sftp.writeFile(remotePath, source.content, cb));
        else await uploadPath(sftp, source.localPath, remotePath);
      } finally {
        sftp.end();
      }
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    const pending = [...this.connections.values()];
    this.connections.clear();
    for (const connection of pending) {
      try {
        (await connection).client.end();
      } catch {
        // a connection that never opened has nothing to close
      }
    }
  }

  private connection(endpoint: SshEndpoint, signal: AbortSignal, log?: (m: string) => void): Promise<PooledConnection> {
    const key = describeEndpoint(endpoint);
    let connection = this.connections.get(key);
    if (!connection) {
      connection = dialWithRetries(endpoint, signal, log).then((client) => {
        // A dropped connection leaves the pool, so the next command dials again.
        client.once("close", () => this.connections.delete(key));
        return { client, sessions: new Semaphore(this.maxSessions) };
      });
      connection.catch(() => this.connections.delete(key));
      this.connections.set(key, connection);
    }
    return connection;
  }
}

async function dialWithRetries(endpoint: SshEndpoint, signal: AbortSignal, log?: (m: string) => void): Promise<Client> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dialOnce(endpoint);
    } catch (err) {
      const message = (err as Error).message;
      const limit = endpoint.dialErrorLimit;
      if ((limit >= 0 && attempt >= limit) || signal.aborted) {
        throw new Error(`could not connect to ${describeEndpoint(endpoint)} after ${attempt} attempt(s): ${message}`);
      }
      log?.(`dial ${describeEndpoint(endpoint)} failed (attempt ${attempt}): ${message}; retrying`);
      // Hosts may still be booting: back off, but never longer than 5 s.
      await sleep(Math.min(500 * 2 ** (attempt - 1), 5000), signal);
    }
  }
}

async function dialOnce(endpoint: SshEndpoint): Promise<Client> {
  if (!endpoint.proxy) return connectClient(endpoint);
  const bastion = await connectClient(endpoint.proxy);
  try {
    const tunnel = await new Promise<Duplex>((resolve, reject) =>
      bastion.forwardOut("127.0.0.1", 0, endpoint.host, endpoint.port, (err, stream) => (err ? reject(err) : resolve(stream))),
    );
    const target = await connectClient(endpoint, tunnel);
    target.once("close", () => bastion.end());
    return target;
  } catch (err) {
    bastion.end();
    throw err;
  }
}

function connectClient(endpoint: SshEndpoint, sock?: Duplex): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      privateKey: endpoint.privateKey,
      passphrase: endpoint.privateKeyPassword,
      password: endpoint.password,
      tryKeyboard: endpoint.password !== undefined,
      readyTimeout: endpoint.perDialTimeoutSec * 1000,
      keepaliveInterval: 15_000,
      sock,
      hostVerifier: endpoint.hostKey ? (key: Buffer) => hostKeyMatches(endpoint.hostKey!, key) : undefined,
    };
    if (endpoint.password !== undefined) {
      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) =>
        finish(prompts.map(() => endpoint.password!)),
      );
    }
    client.once("ready", () => {
      client.removeListener("error", reject);
      // Errors after "ready" surface as a closed connection on the session using it.
      client.on("error", () => undefined);
      resolve(client);
    });
    client.once("error", reject);
    client.connect(config);
  });
}

/** Compare the server's key blob with an "algorithm base64 [comment]" line. */
function hostKeyMatches(expected: string, key: Buffer): boolean {
  const fields = expected.trim().split(/\s+/);
  const blob = fields.length > 1 ? fields[1] : fields[0];
  return key.toString("base64") === blob;
}

function execOnce(client: Client, command: string, options: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let combined = "";
    let exitCode: number | null = null;
    let exitSignal: string | undefined;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve({ exitCode, exitSignal, stdout, stderr, combined });
    };
    const timer = setTimeout(
      () => finish(new TimeoutError(`timed out after ${options.timeoutMs / 1000}s`, combined)),
      options.timeoutMs,
    );
    const onAbort = () => finish(new Error("aborted: the run stopped"));
    options.signal.addEventListener("abort", onAbort);
    if (options.signal.aborted) return onAbort();

    client.exec(command, { env: options.env }, (err, stream) => {
      if (err) return finish(err);
      // Closing the channel is the only stop ssh offers without a pty; the remote
      // process gets SIGPIPE/EOF when it next writes or reads.
      const stop = () => stream.close();
      options.signal.addEventListener("abort", stop, { once: true });
      stream.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        combined += chunk.toString();
      });
      stream.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        combined += chunk.toString();
      });
      stream.on("exit", (code: number | null, signalName?: string) => {
        exitCode = code ?? null;
        exitSignal = signalName;
      });
      stream.on("close", () => {
        options.signal.removeEventListener("abort", stop);
        finish();
      });
      stream.on("error", (streamErr: Error) => finish(streamErr));
      // Like the provider: stdin is written then closed, so readers see EOF.
      stream.end(options.stdin ?? "");
      if (settled) stream.close(); // timed out or aborted before the channel opened
    });
  });
}

/** The channel closed without the remote process reporting how it ended: the transport was lost. */
export function connectionLost(result: ExecResult): boolean {
  return result.exitCode === null && result.exitSignal === undefined;
}

export class TimeoutError extends Error {
  constructor(
    message: string,
    readonly outputSoFar: string,
  ) {
    super(message);
  }
}

/**
 * sshd counts a session until it has reaped it, a little after the client saw
 * the channel close; a new channel opened in that gap is refused ("no more
 * sessions" in sshd's log). Such refusals are retried briefly.
 */
async function retryChannelOpen<T>(open: () => Promise<T>, signal: AbortSignal): Promise<T> {
  const attempts = 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (err) {
      if (attempt >= attempts || !/Channel open failure/i.test((err as Error).message)) throw err;
      await sleep(100 * attempt, signal);
    }
  }
}

function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

function sftpCall(call: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}

/** Copy a file (keeping its permission bits) or, recursively, a directory's contents into remotePath. */
async function uploadPath(sftp: SFTPWrapper, localPath: string, remotePath: string): Promise<void> {
  const stat = fs.statSync(localPath);
  if (stat.isDirectory()) {
    await sftpCall((cb) => sftp.mkdir(remotePath, (err) => cb(err && !/exist/i.test(err.message) ? err : null)));
    for (const entry of fs.readdirSync(localPath)) {
      await uploadPath(sftp, path.join(localPath, entry), path.posix.join(remotePath, entry));
    }
    return;
  }
  await sftpCall((cb) => sftp.fastPut(localPath, remotePath, cb));
  await sftpCall((cb) => sftp.chmod(remotePath, stat.mode & 0o777, cb));
}

/** The last `count` lines of `text`. */
export function tailLines(text: string, count: number): string {
  const lines = text.replace(/\n$/, "").split("\n");
  return lines.slice(-count).join("\n");
}
