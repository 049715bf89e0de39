/**
 * Simulated-host harness: runs the real generated bash scripts as root inside a private mount namespace, with stub
 * tools first on PATH (tests/host/stubs) and every system directory a script writes overlaid on a private tmpfs.
 * See tests/host/README.md.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test, type TestContext } from "node:test";
import { renderInitConfig, renderJoinConfig, type ClusterSettings, type KubeVipSettings } from "../../components/kubeadm/config";
import { ciliumCheckScript, ciliumCliScript } from "../../components/cilium/scripts";
import { meshCheckScript } from "../../components/istio/scripts";
import type { IstioMode } from "../../components/cilium/values";
import {
    credentialsScript,
    ensureTokenScript,
    initScript,
    joinScript,
    leaveScript,
    membershipScript,
    preflightScript,
    prepareScript,
    resetScript,
    uploadCertsScript,
} from "../../components/kubeadm/scripts";
import { runInline, runStaged, STAGING_DIR } from "../../components/remote/script";

/** Directory of the stub tools put first on PATH. */
export const STUBS_DIR = path.join(__dirname, "stubs");
const SETUP_SCRIPT = path.join(__dirname, "sim-host.sh");
const SNAPSHOT_SCRIPT = path.join(__dirname, "snapshot.sh");
/** Directories overlaid on the simulated host: the only real paths scripts can write to. */
export const OVERLAID_DIRS = ["/etc", "/var/lib", "/var/log", "/opt", "/usr/local", "/run"] as const;

/** Exit status and output of one command run on a simulated host. */
export interface RunResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Options of a command run. */
export interface RunOptions {
    /** Text written to the command's stdin (default: none, stdin is empty). */
    readonly stdin?: string;
    /** Kill the command after this long (default 60 s). */
    readonly timeoutMs?: number;
}

/** One recorded stub call. */
export interface Call {
    /** `mut` when the call changes the host (or fetches over the network), `ro` when it only reads. */
    readonly kind: "mut" | "ro";
    readonly tool: string;
    readonly args: readonly string[];
    /** `tool arg1 arg2 ...`, for messages and matching. */
    readonly line: string;
}

/** Path → `TYPE MODE [sha256 | -> target]` of everything a script run can change (see snapshot.sh). */
export type Snapshot = ReadonlyMap<string, string>;

/** A fixture file: content, or content and mode. */
export type FixtureFile = string | { readonly content: string; readonly mode: number };

/** Everything that makes a simulated host differ from the default fresh control-plane host. */
export interface SimHostOptions {
    /** `hostname` (default `cp1`). */
    readonly hostname?: string;
    /** `/etc/machine-id` content without newline (default: 32 hex derived from the hostname). */
    readonly machineId?: string;
    /** `uname -r` (default `6.1.0-18-amd64`). */
    readonly kernel?: string;
    /** `uname -m` (default `x86_64`). */
    readonly machine?: string;
    /** `nproc` (default 2). */
    readonly cpus?: number;
    /** MemTotal in MiB (default 3934, a 4 GB VM). */
    readonly memoryMiB?: number;
    /** cgroup v2 (cgroup2fs on /sys/fs/cgroup, the default) or v1 (a tmpfs there). */
    readonly cgroup?: "v1" | "v2";
    /**
     * Kernel modules built into the kernel: in /sys/module but never in /proc/modules (default none; the modules
     * /proc/modules lists are in /sys/module too).
     */
    readonly builtinModules?: readonly string[];
    /**
     * The release series of the containerd package (`db/containerd-series`): what `containerd config default` prints
     * and a running containerd's built-in defaults (default 1.7, Debian 12's).
     */
    readonly containerdSeries?: "1.7" | "2.1";
    /** Swap active and in /etc/fstab (default true). */
    readonly swap?: boolean;
    /** TCP ports something listens on (default [22]). */
    readonly listening?: readonly number[];
    /** Installed packages and versions (default only ca-certificates). */
    readonly packages?: Readonly<Record<string, string>>;
    /** Extra files by absolute path (under OVERLAID_DIRS). */
    readonly files?: Readonly<Record<string, FixtureFile>>;
    /** Extra stub state, by path under `$SIM_STATE/db`. */
    readonly state?: Readonly<Record<string, string>>;
    /** A cluster shared with other simulated hosts; by default the host has a private one. */
    readonly cluster?: SimCluster;
}

/** How namespaces are obtained: directly as root, or through a user namespace for a non-root runner. */
export type NamespaceMode = "root" | "userns";

const DEFAULT_FSTAB = [
    "# /etc/fstab: static file system information.",
    "# <file system> <mount point>   <type>  <options>       <dump>  <pass>",
    "UUID=6d1f6c1e-3b0a-4d4e-9a43-2f4f4d8f6f01 /               ext4    errors=remount-ro 0       1",
    "UUID=0b9a7d2c-51f5-4c8e-8d0e-7e1b2a3c4d5e /boot/efi       vfat    umask=0077      0       1",
    "",
].join("\n");
const SWAP_FSTAB_LINE = "/swapfile                                 none            swap    sw              0       0\n";
const BASE_MODULES = [
    "nf_tables 311296 0 - Live 0x0000000000000000",
    "ext4 1003520 1 - Live 0x0000000000000000",
    "virtio_net 69632 0 - Live 0x0000000000000000",
    "",
].join("\n");

/** The mode used on this machine: root runs namespaces directly, other users need a user namespace. */
export function namespaceMode(): NamespaceMode {
    return process.getuid?.() === 0 ? "root" : "userns";
}

/** A simulated cluster (what the API server and etcd hold) shared by several simulated hosts. */
export class SimCluster {
    /** Directory on the real file system, visible at the same path inside every host's namespace. */
    public readonly dir: string;

    constructor() {
        this.dir = mkdtempSync(path.join(tmpdir(), "homelab-sim-cluster-"));
    }

    dispose(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}

function writeTree(base: string, files: Readonly<Record<string, FixtureFile>>): void {
    for (const [file, spec] of Object.entries(files)) {
        const target = path.join(base, file);
        mkdirSync(path.dirname(target), { recursive: true });
        const { content, mode } = typeof spec === "string" ? { content: spec, mode: 0o644 } : spec;
        writeFileSync(target, content);
        chmodSync(target, mode);
    }
}

/** Quotes a value for bash. */
export function sh(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** One simulated host: a namespace held open by a `sim-host.sh` process, plus the files the harness prepared. */
export class SimHost {
    /** Home of the SSH user; staged files go in `<home>/.homelab`. */
    public readonly home: string;
    private readonly root: string;
    private readonly clusterDir: string;
    private stopped = false;

    private constructor(
        private readonly simDir: string,
        private readonly holder: ChildProcessWithoutNullStreams,
        private readonly mode: NamespaceMode,
        cluster: SimCluster | undefined,
    ) {
        this.home = path.join(simDir, "home");
        this.root = path.join(simDir, "mnt");
        this.clusterDir = cluster?.dir ?? path.join(this.root, "state", "db", "cluster");
    }

    /** Builds a fresh host (by default: a Debian 12 VM with 2 CPUs, 4 GB, swap on, nothing of Kubernetes). */
    static async start(options: SimHostOptions = {}): Promise<SimHost> {
        const hostname = options.hostname ?? "cp1";
        const machineId = options.machineId ?? createHash("sha256").update(hostname).digest("hex").slice(0, 32);
        const swap = options.swap ?? true;
        const simDir = mkdtempSync(path.join(tmpdir(), "homelab-sim-host-"));
        for (const dir of ["home", "mnt", "proc", "fixture", "state"]) {
            mkdirSync(path.join(simDir, dir), { mode: 0o755 });
        }
        chmodSync(simDir, 0o755);
        writeTree(path.join(simDir, "fixture"), {
            "/etc/fstab": DEFAULT_FSTAB + (swap ? SWAP_FSTAB_LINE : ""),
            "/etc/machine-id": { content: `${machineId}\n`, mode: 0o444 },
            ...options.files,
        });
        const packages = options.packages ?? { "ca-certificates": "20230311" };
        writeTree(path.join(simDir, "state"), {
            hostname: `${hostname}\n`,
            kernel: `${options.kernel ?? "6.1.0-18-amd64"}\n`,
            ...(options.machine !== undefined ? { machine: `${options.machine}\n` } : {}),
            nproc: `${options.cpus ?? 2}\n`,
            swap: swap ? "/swapfile file   2G   0B   -2\n" : "",
            listening: (options.listening ?? [22]).map((p) => `${p}\n`).join(""),
            "sysctl/net.ipv4.ip_forward": "0\n",
            "sysctl/net.ipv6.conf.all.forwarding": "0\n",
            ...Object.fromEntries(Object.entries(packages).map(([pkg, version]) => [`dpkg/${pkg}`, `${version} installed\n`])),
            ...(options.containerdSeries !== undefined ? { "containerd-series": `${options.containerdSeries}\n` } : {}),
            ...options.state,
        });
        writeFileSync(path.join(simDir, "cgroup"), `${options.cgroup ?? "v2"}\n`);
        const memKiB = (options.memoryMiB ?? 3934) * 1024;
        writeFileSync(
            path.join(simDir, "proc", "meminfo"),
            `MemTotal:       ${memKiB} kB\nMemFree:        ${Math.floor(memKiB / 2)} kB\nMemAvailable:   ${Math.floor((memKiB * 3) / 4)} kB\n`,
        );
        writeFileSync(path.join(simDir, "proc", "modules"), BASE_MODULES);
        // Every loaded module has its /sys/module directory; built-in ones have only that.
        const sysModules = [...BASE_MODULES.split("\n").map((line) => line.split(" ")[0] ?? ""), ...(options.builtinModules ?? [])];
        writeFileSync(path.join(simDir, "sys-module"), sysModules.filter((m) => m !== "").map((m) => `${m}\n`).join(""));
        mkdirSync(path.join(simDir, "home", STAGING_DIR), { mode: 0o700 });

        const mode = namespaceMode();
        const unshare =
            mode === "root"
                ? ["--mount", "--propagation", "private"]
                : ["--user", "--map-root-user", "--mount", "--cgroup", "--propagation", "private"];
        const holder = spawn("unshare", [...unshare, "bash", SETUP_SCRIPT, simDir], { stdio: "pipe" });
        const host = new SimHost(simDir, holder, mode, options.cluster);
        try {
            await new Promise<void>((resolve, reject) => {
                let stdout = "";
                let stderr = "";
                holder.stdout.on("data", (chunk: Buffer) => {
                    stdout += chunk.toString();
                    if (stdout.includes("ready\n")) resolve();
                });
                holder.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
                holder.on("error", reject);
                holder.on("exit", (code) =>
                    reject(new Error(`could not build the simulated host (sim-host.sh exited ${code}): ${stderr.trim()}`)),
                );
            });
        } catch (error) {
            await host.stop();
            throw error;
        }
        return host;
    }

    /** Runs `bash -c command` as root on the host, in $HOME, with the stubs first on PATH. */
    run(command: string, options: RunOptions = {}): Promise<RunResult> {
        if (this.stopped) throw new Error("the simulated host is stopped");
        const pid = this.holder.pid;
        if (pid === undefined) throw new Error("the simulated host has no holder process");
        const enter =
            this.mode === "root"
                ? ["--target", String(pid), "--mount"]
                : ["--target", String(pid), "--user", "--mount", "--cgroup", "--preserve-credentials"];
        // The command runs in its own bash (as `bash -c "$(runStaged(...))"` does on a real host); afterwards any
        // harness gap a stub logged is passed to us on fd 3.
        const wrapper =
            'bash -c "$1"; status=$?; if [ -s "$SIM_STATE/gaps.log" ]; then cat "$SIM_STATE/gaps.log" >&3; : >"$SIM_STATE/gaps.log"; fi; exit "$status"';
        const child = spawn("nsenter", [...enter, `--wd=${this.home}`, "--", "bash", "-c", wrapper, "sim-run", command], {
            env: {
                PATH: `${STUBS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
                HOME: this.home,
                LANG: "C.UTF-8",
                SIM_ROOT: this.root,
                SIM_STATE: path.join(this.root, "state"),
                SIM_CLUSTER: this.clusterDir,
                // The cilium stub runs from /usr/local/bin once installed and finds _lib.sh through this.
                SIM_STUBS: STUBS_DIR,
                TMPDIR: path.join(this.root, "tmp"),
            },
            stdio: ["pipe", "pipe", "pipe", "pipe"],
            detached: true,
        });
        const [stdin, stdoutStream, stderrStream, gapsStream] = child.stdio;
        if (!stdin || !stdoutStream || !stderrStream || !gapsStream) throw new Error("nsenter pipes missing");
        return new Promise<RunResult>((resolve, reject) => {
            let stdout = "";
            let stderr = "";
            let gaps = "";
            const timer = setTimeout(() => {
                if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
                reject(new Error(`timed out after ${options.timeoutMs ?? 60000} ms: ${command}\n${stderr}`));
            }, options.timeoutMs ?? 60000);
            stdoutStream.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            stderrStream.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            gapsStream.on("data", (chunk: Buffer) => (gaps += chunk.toString()));
            child.on("error", (error) => {
                clearTimeout(timer);
                reject(error);
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                if (gaps !== "") {
                    reject(new Error(`a stub was used in a way the harness does not simulate:\n${gaps}\nwhile running: ${command}`));
                    return;
                }
                resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr });
            });
            // A command that does not read its stdin may exit before the write completes.
            stdin.on("error", () => undefined);
            stdin.end(options.stdin ?? "");
        });
    }

    /** Like `run`, but throws (with the output) unless the command succeeds; returns stdout. */
    async check(command: string, options: RunOptions = {}): Promise<string> {
        const result = await this.run(command, options);
        if (result.status !== 0) {
            throw new Error(`\`${command}\` exited ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
        }
        return result.stdout;
    }

    /** Runs a staged script the way the program does: `cd $HOME && bash -c "$(runStaged(script, args))"`. */
    runStaged(script: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
        return this.run(runStaged(script, args), options);
    }

    /** Runs an inline script the way the program's `delete` does. */
    runInline(script: string, marker: string, options: RunOptions = {}): Promise<RunResult> {
        return this.run(runInline(script, marker), options);
    }

    /** Writes files into `$HOME/.homelab` as the program's uploads do. */
    stage(files: Readonly<Record<string, string>>): void {
        for (const [name, content] of Object.entries(files)) {
            writeFileSync(path.join(this.home, STAGING_DIR, name), content, { mode: 0o644 });
        }
    }

    /** Reads a file on the host (throws when it is missing). */
    readFile(file: string): Promise<string> {
        return this.check(`cat -- ${sh(file)}`);
    }

    /** Whether a path exists on the host. */
    async exists(file: string): Promise<boolean> {
        return (await this.run(`test -e ${sh(file)} || test -L ${sh(file)}`)).status === 0;
    }

    /** Writes a file on the host (through the overlay, as root). */
    async writeFile(file: string, content: string, mode = 0o644): Promise<void> {
        await this.check(`mkdir -p "$(dirname ${sh(file)})" && cat >${sh(file)} && chmod ${mode.toString(8)} ${sh(file)}`, {
            stdin: content,
        });
    }

    /** Reads stub state (`$SIM_STATE/db/<key>`), or undefined when absent. */
    async readState(key: string): Promise<string | undefined> {
        const result = await this.run(`cat -- "$SIM_STATE/db/"${sh(key)}`);
        return result.status === 0 ? result.stdout : undefined;
    }

    /** Writes stub state (`$SIM_STATE/db/<key>`). */
    async writeState(key: string, value: string): Promise<void> {
        await this.check(`mkdir -p "$(dirname "$SIM_STATE/db/"${sh(key)})" && cat >"$SIM_STATE/db/"${sh(key)}`, { stdin: value });
    }

    /** Reads a file of the host's cluster (`$SIM_CLUSTER/<file>`), or undefined when absent. */
    async readCluster(file: string): Promise<string | undefined> {
        const result = await this.run(`cat -- "$SIM_CLUSTER/"${sh(file)}`);
        return result.status === 0 ? result.stdout : undefined;
    }

    /** Writes a file of the host's cluster. */
    async writeCluster(file: string, content: string): Promise<void> {
        await this.check(`mkdir -p "$(dirname "$SIM_CLUSTER/"${sh(file)})" && cat >"$SIM_CLUSTER/"${sh(file)}`, { stdin: content });
    }

    /**
     * Injects a fault: calls matching `name` (`tool`, `tool-op` or `tool-op-subop`, e.g. `kubeadm-init`,
     * `systemctl-restart`, `kubeadm-token-create`) fail until cleared. With `pattern`, only calls whose
     * `tool arg1 arg2...` line contains it.
     */
    async injectFault(name: string, pattern = ""): Promise<void> {
        await this.check(`cat >"$SIM_STATE/fail/"${sh(name)}`, { stdin: pattern });
    }

    /** Makes the n-th mutating stub call from now (1 = the next one) fail. */
    async failAtMutation(n: number): Promise<void> {
        await this.check(`echo $(( $(cat "$SIM_STATE/mutations") + ${n} )) >"$SIM_STATE/fail-at-mutation"`);
    }

    /** Makes the n-th stub call of any kind from now (1 = the next one) fail, read-only calls included. */
    async failAtCall(n: number): Promise<void> {
        await this.check(`echo $(( $(cat "$SIM_STATE/call-count" 2>/dev/null || echo 0) + ${n} )) >"$SIM_STATE/fail-at-call"`);
    }

    /** Removes every injected fault. */
    async clearFaults(): Promise<void> {
        await this.check(`rm -f "$SIM_STATE/fail-at-mutation" "$SIM_STATE/fail-at-call" "$SIM_STATE"/fail/*`);
    }

    /** Installs a hook: bash run right before the stub handles `tool-op` (a concurrent actor). */
    async hook(name: string, script: string): Promise<void> {
        await this.check(`cat >"$SIM_STATE/hooks/"${sh(name)}`, { stdin: script });
    }

    /** The stub calls recorded since the host was built or `clearCalls` was last called. */
    async calls(): Promise<Call[]> {
        const log = await this.check(`cat "$SIM_STATE/calls.log"`);
        return log
            .split("\n")
            .filter((line) => line !== "")
            .map((line) => {
                const [kind, tool, ...rawArgs] = line.split("\t");
                if ((kind !== "mut" && kind !== "ro") || tool === undefined) throw new Error(`bad call log line: ${line}`);
                const args = rawArgs.map((a) => a.replace(/\\(.)/g, (_m, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : c)));
                return { kind, tool, args, line: [tool, ...args].join(" ") };
            });
    }

    /** The mutating calls among `calls()`. */
    async mutatingCalls(): Promise<Call[]> {
        return (await this.calls()).filter((c) => c.kind === "mut");
    }

    /** Forgets the recorded calls (the mutation counter keeps counting). */
    async clearCalls(): Promise<void> {
        await this.check(`: >"$SIM_STATE/calls.log"`);
    }

    /** Everything a script run can change: overlay upper layers, fake /proc files, stub state, cluster, $HOME. */
    async snapshot(): Promise<Snapshot> {
        const out = await this.check(`bash ${sh(SNAPSHOT_SCRIPT)}`);
        const entries = new Map<string, string>();
        for (const line of out.split("\n")) {
            if (line === "") continue;
            const tab = line.indexOf("\t");
            entries.set(line.slice(0, tab), line.slice(tab + 1));
        }
        return entries;
    }

    /** Ends the namespace (everything written on the host vanishes) and removes the harness's files. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        if (this.holder.exitCode === null && this.holder.signalCode === null) {
            const exited = new Promise<void>((resolve) => this.holder.once("exit", () => resolve()));
            this.holder.stdin.end();
            const timer = setTimeout(() => {
                if (this.holder.pid !== undefined) process.kill(this.holder.pid, "SIGKILL");
            }, 5000);
            await exited;
            clearTimeout(timer);
        }
        rmSync(this.simDir, { recursive: true, force: true });
    }
}

/** Starts hosts, runs `fn`, and stops them (and disposes the clusters) whatever happens. */
export async function withHosts<T>(
    specs: readonly SimHostOptions[],
    fn: (hosts: SimHost[]) => Promise<T>,
): Promise<T> {
    const hosts: SimHost[] = [];
    try {
        for (const spec of specs) hosts.push(await SimHost.start(spec));
        return await fn(hosts);
    } finally {
        await Promise.all(hosts.map((h) => h.stop()));
    }
}

/** Starts one host, runs `fn`, and stops it whatever happens. */
export async function withHost<T>(options: SimHostOptions, fn: (host: SimHost) => Promise<T>): Promise<T> {
    return withHosts([options], ([host]) => fn(host));
}

/** Options of `diffSnapshots`. */
export interface DiffOptions {
    /** Paths left out of the comparison entirely. */
    readonly ignore?: readonly RegExp[];
    /** Paths compared by presence and type/mode only, not by content (random keys, certificates). */
    readonly presenceOnly?: readonly RegExp[];
}

/** Differences between two snapshots, one readable line each (empty when equal). */
export function diffSnapshots(before: Snapshot, after: Snapshot, options: DiffOptions = {}): string[] {
    const ignored = (p: string): boolean => (options.ignore ?? []).some((re) => re.test(p));
    const normalise = (p: string, v: string): string =>
        (options.presenceOnly ?? []).some((re) => re.test(p)) ? v.replace(/ [0-9a-f]{64}$/, " <content ignored>") : v;
    const diffs: string[] = [];
    for (const p of new Set([...before.keys(), ...after.keys()])) {
        if (ignored(p)) continue;
        const a = before.get(p);
        const b = after.get(p);
        if (a === undefined) diffs.push(`+ ${p} (${b})`);
        else if (b === undefined) diffs.push(`- ${p} (${a})`);
        else if (normalise(p, a) !== normalise(p, b)) diffs.push(`~ ${p}: ${a} -> ${b}`);
    }
    return diffs.sort();
}

/** `sha256:<hex>` of a certificate's SubjectPublicKeyInfo, computed with node's crypto (not openssl). */
export function caCertHashOf(pem: string): string {
    const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
    return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

let support: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Whether simulated hosts can be built here (namespaces, overlayfs, tmpfs, cgroup2): tried once per process. */
export function namespaceSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
    support ??= (async () => {
        try {
            const host = await SimHost.start();
            try {
                await host.check("true");
            } finally {
                await host.stop();
            }
            return { ok: true as const };
        } catch (error) {
            return { ok: false as const, reason: `${namespaceMode()} mode: ${(error as Error).message}` };
        }
    })();
    return support;
}

/**
 * A node:test test that needs simulated hosts. Where namespaces are unavailable it is skipped with the reason, except
 * under CI=true, where it fails: CI must run these tests.
 */
export function hostTest(name: string, fn: (t: TestContext) => Promise<void>, options: { concurrency?: number } = {}): void {
    test(name, { concurrency: options.concurrency ?? 1 }, async (t) => {
        const available = await namespaceSupport();
        if (!available.ok) {
            if (process.env.CI === "true") {
                throw new Error(`simulated-host tests cannot run (CI=true, so this fails instead of skipping): ${available.reason}`);
            }
            t.skip(`simulated hosts unavailable: ${available.reason}`);
            return;
        }
        await fn(t);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster objects.

/** The taint kubeadm puts on a control plane (with effect NoSchedule) unless its config says `taints: []`. */
export const CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane";

/**
 * A ConfigMap's data as the stubs store it (`objects/NS/configmap/NAME`): a `KEY=VALUE` line per one-line value, and
 * `KEY<<DELIM`, the value's lines, `DELIM` per multi-line value (a value ending in a newline has an empty last line).
 */
export function configMapData(data: Readonly<Record<string, string>>): string {
    return Object.entries(data)
        .map(([key, value]) => {
            if (!/^[-._A-Za-z0-9]+$/.test(key)) throw new Error(`ConfigMap key ${JSON.stringify(key)} is not valid`);
            if (!value.includes("\n")) return `${key}=${value}\n`;
            const lines = value.split("\n");
            let delim = "EOF";
            for (let n = 1; lines.includes(delim); n++) delim = `EOF${n}`;
            return `${key}<<${delim}\n${value}\n${delim}\n`;
        })
        .join("");
}

// ---------------------------------------------------------------------------------------------------------------
// Staging: the files the program uploads to $HOME/.homelab, rendered by the program's own builders.

/** Cluster settings the tests use. */
export const CLUSTER = {
    kubernetesVersion: "1.33.10",
    clusterName: "lab",
    controlPlaneEndpoint: "k8s.lab.internal:6443",
    endpointHost: "k8s.lab.internal",
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    token: "abcdef.0123456789abcdef",
    certificateKey: "0123456789abcdef".repeat(4),
} as const;

/** Cluster settings a stack config can change (the tests' `CLUSTER` values and a schedulable control plane by default). */
export type ClusterOverrides = Partial<
    Pick<ClusterSettings, "clusterName" | "controlPlaneEndpoint" | "podSubnet" | "serviceSubnet" | "schedulableControlPlane" | "kubeVip">
>;

/** The kube-vip settings the HA tests use (the address is the tests' endpoint host as far as the stubs care). */
export const KUBE_VIP: KubeVipSettings = { address: "10.0.0.100", version: "v1.2.3" };

/** The kubeadm-init.yaml the program writes for a control plane with these settings. */
export function initConfigFor(nodeName = "cp1", token: string = CLUSTER.token, overrides: ClusterOverrides = {}): string {
    return renderInitConfig({
        nodeName,
        nodeIp: "10.0.0.10",
        kubernetesVersion: CLUSTER.kubernetesVersion,
        clusterName: CLUSTER.clusterName,
        controlPlaneEndpoint: CLUSTER.controlPlaneEndpoint,
        endpointHost: CLUSTER.endpointHost,
        podSubnet: CLUSTER.podSubnet,
        serviceSubnet: CLUSTER.serviceSubnet,
        schedulableControlPlane: true,
        ...overrides,
        token,
        certificateKey: CLUSTER.certificateKey,
    });
}

/** The ClusterConfiguration document of a kubeadm config, as kubeadm init stores it in the kubeadm-config ConfigMap. */
export function clusterConfigurationOf(config: string): string {
    const doc = config.split(/^---\n/m).find((d) => /^kind: ClusterConfiguration$/m.test(d));
    if (doc === undefined) throw new Error("no ClusterConfiguration document in the config");
    return doc;
}

/**
 * Stages what the program uploads to a control plane (`mode: "init"`); `overrides` changes the stack config's
 * cluster settings (the kubeadm config and init.sh).
 */
export function stageControlPlane(
    host: SimHost,
    nodeName = "cp1",
    token: string = CLUSTER.token,
    overrides: ClusterOverrides = {},
): void {
    host.stage({
        "preflight.sh": preflightScript({ role: "control-plane" }),
        "prepare.sh": prepareScript({ kubernetesVersion: CLUSTER.kubernetesVersion }),
        "kubeadm-init.yaml": initConfigFor(nodeName, token, overrides),
        "init.sh": initScript({
            nodeName,
            schedulableControlPlane: overrides.schedulableControlPlane ?? true,
            controlPlaneEndpoint: overrides.controlPlaneEndpoint ?? CLUSTER.controlPlaneEndpoint,
            kubeVip: overrides.kubeVip,
        }),
        "upload-certs.sh": uploadCertsScript(),
        "credentials.sh": credentialsScript({ controlPlaneEndpoint: overrides.controlPlaneEndpoint ?? CLUSTER.controlPlaneEndpoint }),
        "ensure-token.sh": ensureTokenScript(),
    });
}

/** Stages what the program uploads to a worker (`mode: "join"`). */
export function stageWorker(host: SimHost, nodeName: string, caCertHash: string, token: string = CLUSTER.token): void {
    stageJoin(host, nodeName, caCertHash, token);
}

/** Stages a joining node: a worker, or with `controlPlane` another control plane. */
function stageJoin(host: SimHost, nodeName: string, caCertHash: string, token: string, controlPlane?: ControlPlaneJoinOptions): void {
    const schedulable = controlPlane?.schedulable ?? true;
    host.stage({
        "preflight.sh": preflightScript({ role: controlPlane ? "control-plane" : "worker" }),
        "prepare.sh": prepareScript({ kubernetesVersion: CLUSTER.kubernetesVersion }),
        "kubeadm-join.yaml": renderJoinConfig({
            nodeName,
            apiServerEndpoint: CLUSTER.controlPlaneEndpoint,
            token,
            caCertHash,
            ...(controlPlane ? { controlPlane: { certificateKey: CLUSTER.certificateKey, schedulable } } : {}),
        }),
        "join.sh": joinScript(controlPlane ? { controlPlane: { nodeName, schedulable, kubeVip: controlPlane.kubeVip } } : {}),
    });
}

/** What another control plane's join needs: its taint policy and kube-vip, as the program renders them. */
export interface ControlPlaneJoinOptions {
    /** Default true, like the tests' primary. */
    readonly schedulable?: boolean;
    /** kube-vip, when the stack manages the endpoint's address. */
    readonly kubeVip?: KubeVipSettings;
}

/** Stages what the program uploads to a control plane that joins (`mode: "join"`, `role: "control-plane"`). */
export function stageControlPlaneJoin(host: SimHost, nodeName: string, caCertHash: string, options: ControlPlaneJoinOptions = {}): void {
    stageJoin(host, nodeName, caCertHash, CLUSTER.token, options);
}

// ---------------------------------------------------------------------------------------------------------------
// Flows.

/** Throws with the command's output unless it succeeded. */
export function expectSuccess(result: RunResult, what: string): RunResult {
    if (result.status !== 0) {
        throw new Error(`${what} exited ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    }
    return result;
}

/** Runs the membership step (the `create` of the node's membership resource) the way the program does. */
export function runMembership(host: SimHost, nodeName: string): Promise<RunResult> {
    return host.runInline(membershipScript({ nodeName }), "HOMELAB_MEMBER");
}

/** Runs the reset (the `delete` of the node's membership resource) the way the program does. */
export function runReset(host: SimHost, nodeName: string): Promise<RunResult> {
    return host.runInline(resetScript({ nodeName }), "HOMELAB_RESET");
}

/** Runs the leave step (the `delete` of the node's leave resource) on the primary control plane, as the program does. */
export function runLeave(primary: SimHost, nodeName: string, controlPlane: boolean): Promise<RunResult> {
    return primary.runInline(leaveScript({ nodeName, controlPlane }), "HOMELAB_LEAVE");
}

/** Stages, then runs preflight, prepare, membership and init on a fresh host, in the program's order. */
export async function bootControlPlane(host: SimHost, nodeName = "cp1", overrides: ClusterOverrides = {}): Promise<void> {
    stageControlPlane(host, nodeName, CLUSTER.token, overrides);
    for (const script of ["preflight.sh", "prepare.sh"]) {
        expectSuccess(await host.runStaged(script), `${nodeName}: ${script}`);
    }
    expectSuccess(await runMembership(host, nodeName), `${nodeName}: membership`);
    expectSuccess(await host.runStaged("init.sh"), `${nodeName}: init.sh`);
}

/** `ca-cert-hash` as the program reads it from the control plane. */
export async function readCaCertHash(controlPlane: SimHost): Promise<string> {
    return expectSuccess(await controlPlane.runStaged("credentials.sh", ["ca-cert-hash"]), "credentials.sh ca-cert-hash").stdout.trim();
}

/** The `machine-id=` the host's preflight reports. */
export function machineIdFrom(preflightStdout: string): string {
    return /^machine-id=(.*)$/m.exec(preflightStdout)?.[1] ?? "";
}

/** What ensure-token reads on stdin: token, node name and machine-id, one per line. */
export function ensureTokenInput(nodeName: string, machineId: string, token: string = CLUSTER.token): string {
    return `${token}\n${nodeName}\n${machineId}\n`;
}

/**
 * Takes a fresh worker through the program's steps: stage, preflight, prepare and membership (on the worker),
 * ensure-token (on the control plane, fed the worker's identity), join (on the worker).
 */
export async function bootWorker(controlPlane: SimHost, worker: SimHost, nodeName: string): Promise<void> {
    stageWorker(worker, nodeName, await readCaCertHash(controlPlane));
    const preflight = expectSuccess(await worker.runStaged("preflight.sh"), `${nodeName}: preflight.sh`);
    expectSuccess(await worker.runStaged("prepare.sh"), `${nodeName}: prepare.sh`);
    expectSuccess(await runMembership(worker, nodeName), `${nodeName}: membership`);
    expectSuccess(
        await controlPlane.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput(nodeName, machineIdFrom(preflight.stdout)) }),
        `ensure-token.sh for ${nodeName}`,
    );
    expectSuccess(await worker.runStaged("join.sh"), `${nodeName}: join.sh`);
}

/**
 * Takes a fresh control plane through the program's join steps: stage, preflight, prepare and membership (on the node),
 * upload-certs and ensure-token (on the primary), join (on the node).
 */
export async function bootControlPlaneJoin(primary: SimHost, host: SimHost, nodeName: string, options: ControlPlaneJoinOptions = {}): Promise<void> {
    stageControlPlaneJoin(host, nodeName, await readCaCertHash(primary), options);
    const preflight = expectSuccess(await host.runStaged("preflight.sh"), `${nodeName}: preflight.sh`);
    expectSuccess(await host.runStaged("prepare.sh"), `${nodeName}: prepare.sh`);
    expectSuccess(await runMembership(host, nodeName), `${nodeName}: membership`);
    expectSuccess(await primary.runStaged("upload-certs.sh", [], { stdin: `${nodeName}\n` }), `upload-certs.sh for ${nodeName}`);
    expectSuccess(
        await primary.runStaged("ensure-token.sh", [], { stdin: ensureTokenInput(nodeName, machineIdFrom(preflight.stdout)) }),
        `ensure-token.sh for ${nodeName}`,
    );
    expectSuccess(await host.runStaged("join.sh"), `${nodeName}: join.sh`);
}

/** The iptables rules of a node Cilium ran on (filter and nat, as iptables-save prints them), plus one rule of the host's own. */
export const CILIUM_IPTABLES = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":CILIUM_FORWARD - [0:0]",
    ":CILIUM_INPUT - [0:0]",
    ":CILIUM_OUTPUT - [0:0]",
    ":KUBE-FIREWALL - [0:0]",
    ":KUBE-KUBELET-CANARY - [0:0]",
    '-A INPUT -m comment --comment "cilium-feeder: CILIUM_INPUT" -j CILIUM_INPUT',
    "-A INPUT -j KUBE-FIREWALL",
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    '-A FORWARD -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD',
    '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT" -j CILIUM_OUTPUT',
    '-A CILIUM_FORWARD -o cilium_host -m comment --comment "cilium: any->cluster on cilium_host forward accept" -j ACCEPT',
    '-A CILIUM_INPUT -m mark --mark 0x200/0xf00 -m comment --comment "cilium: ACCEPT for proxy traffic" -j ACCEPT',
    '-A CILIUM_OUTPUT -m mark --mark 0xa00/0xfffffeff -m comment --comment "cilium: ACCEPT for proxy return traffic" -j ACCEPT',
    '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -j DROP',
    "COMMIT",
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":CILIUM_POST_nat - [0:0]",
    '-A POSTROUTING -m comment --comment "cilium-feeder: CILIUM_POST_nat" -j CILIUM_POST_nat',
    '-A CILIUM_POST_nat -s 10.244.1.0/24 ! -d 10.244.0.0/16 ! -o cilium_+ -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE',
    "COMMIT",
    "",
].join("\n");

/** The same rules once Cilium's and the kubelet's chains are gone: the host's own rule stays. */
export const HOST_IPTABLES = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    "COMMIT",
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    "COMMIT",
    "",
].join("\n");

/**
 * Leaves on a host what a running Cilium agent leaves there: its iptables chains (IPv4 and IPv6), the cilium_host,
 * cilium_net and cilium_vxlan links, pinned maps under /sys/fs/bpf (tc/globals and cilium/) and /run/cilium state.
 */
export async function writeCiliumDatapath(host: SimHost): Promise<void> {
    await host.writeState("iptables/v4", CILIUM_IPTABLES);
    await host.writeState("iptables/v6", CILIUM_IPTABLES.replace(/10\.244\.\S+ /g, "fd00::/104 "));
    for (const link of ["cilium_host", "cilium_net", "cilium_vxlan"]) {
        await host.writeState(`links/${link}`, "");
    }
    await host.check(
        "mkdir -p /sys/fs/bpf/tc/globals /sys/fs/bpf/cilium/devices /run/cilium/state && " +
            "touch /sys/fs/bpf/tc/globals/cilium_lxc /sys/fs/bpf/tc/globals/cilium_ipcache /sys/fs/bpf/tc/globals/other_tool_map " +
            "/sys/fs/bpf/cilium/devices/cilium_host /run/cilium/state/bpf_features.h",
    );
}

/**
 * Options of a host that already is an initialised control plane as far as init's later runs, ensure-token and the
 * Cilium scripts can tell (curl, gpg, kubeadm and kubectl installed, admin.conf, a running API server with node cp1
 * registered, and what kubeadm init stored: the kubeadm-config ConfigMap of the config `stageControlPlane` writes and
 * the control-plane taint unless `schedulableControlPlane`), built directly as a fixture so these tests need not run
 * prepare and init.
 */
export function initialisedControlPlaneOptions(
    extra: { nodes?: Readonly<Record<string, string>>; schedulableControlPlane?: boolean } = {},
): SimHostOptions {
    const machineId = createHash("sha256").update("cp1").digest("hex").slice(0, 32);
    const nodes = { cp1: machineId, ...extra.nodes };
    const schedulableControlPlane = extra.schedulableControlPlane ?? true;
    const clusterConfiguration = clusterConfigurationOf(initConfigFor());
    return {
        hostname: "cp1",
        machineId,
        swap: false,
        packages: {
            "ca-certificates": "20230311",
            curl: "7.88.1-10+deb12u12",
            gpg: "2.2.40-1.1",
            kubeadm: "1.33.10-1.1",
            kubectl: "1.33.10-1.1",
            kubelet: "1.33.10-1.1",
        },
        files: {
            "/etc/kubernetes/admin.conf": {
                content: `apiVersion: v1\nclusters:\n- cluster:\n    server: https://${CLUSTER.controlPlaneEndpoint}\n  name: ${CLUSTER.clusterName}\nkind: Config\n`,
                mode: 0o600,
            },
            ...Object.fromEntries(
                ["etcd", "kube-apiserver"].map((c) => [
                    `/etc/kubernetes/manifests/${c}.yaml`,
                    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${c}\n  namespace: kube-system\nspec:\n  containers:\n  - command:\n    - ${c}\n    image: registry.k8s.io/${c}:v${CLUSTER.kubernetesVersion}\n`,
                ]),
            ),
        },
        state: {
            "node-name": "cp1\n",
            // cp1's etcd member, as kubeadm init leaves it (its static pod answers kubectl exec).
            "cluster/etcd/cp1": `${createHash("sha256").update("cp1").digest("hex").slice(0, 16)} started\n`,
            ...Object.fromEntries(Object.keys(nodes).map((name) => [`cluster/kubelet-version/${name}`, `v${CLUSTER.kubernetesVersion}\n`])),
            "cluster/endpoint": `${CLUSTER.controlPlaneEndpoint}\n`,
            ...Object.fromEntries(Object.entries(nodes).map(([name, id]) => [`cluster/nodes/${name}`, `${id} Ready\n`])),
            "cluster/objects/kube-system/configmap/kubeadm-config": configMapData({ ClusterConfiguration: clusterConfiguration }),
            ...(schedulableControlPlane ? {} : { "cluster/taints/cp1": `${CONTROL_PLANE_TAINT}:NoSchedule\n` }),
        },
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Cilium.

/** The cilium CLI release the tests pin (the program's default). */
export const CILIUM_CLI_VERSION = "v0.18.9";

/** Stages what the program uploads for Cilium to the first control plane: the CLI installer and the check. */
export function stageCilium(
    host: SimHost,
    options: { cliVersion?: string; istio?: IstioMode; waitDuration?: string } = {},
): void {
    host.stage({
        "cilium-cli.sh": ciliumCliScript({ version: options.cliVersion ?? CILIUM_CLI_VERSION }),
        "cilium-check.sh": ciliumCheckScript({ istio: options.istio ?? "sidecar", waitDuration: options.waitDuration ?? "10m" }),
    });
}

/**
 * cilium-config as the 1.18 chart renders it for the test cluster with Istio off (the keys besides the ones the check
 * looks at are there to make the ConfigMap realistic, not because anything reads them).
 */
export const CILIUM_CONFIG: Readonly<Record<string, string>> = {
    "cluster-name": CLUSTER.clusterName,
    "cluster-id": "0",
    ipam: "cluster-pool",
    "cluster-pool-ipv4-cidr": CLUSTER.podSubnet,
    "cluster-pool-ipv4-mask-size": "24",
    "routing-mode": "tunnel",
    "tunnel-protocol": "vxlan",
    "kube-proxy-replacement": "true",
    "kube-proxy-replacement-healthz-bind-address": "",
    "k8s-service-host": CLUSTER.endpointHost,
    "k8s-service-port": "6443",
    "cni-exclusive": "true",
    "enable-ipv4": "true",
    "enable-ipv6": "false",
    "enable-ipv4-masquerade": "true",
    "enable-hubble": "true",
};

/** What `installCilium` puts in the cluster. */
export interface CiliumInstallOptions {
    /** cilium-config data; `undefined` values are left out of the ConfigMap (default `CILIUM_CONFIG`). */
    readonly config?: Readonly<Record<string, string | undefined>>;
    /** Nodes whose agent (and envoy) is ready: every registered node (`true`, the default), none, or these names. */
    readonly ready?: boolean | readonly string[];
    /** The cilium DaemonSet's `cilium-agent` image (default `CILIUM_IMAGE`, the 1.18.0 chart's). */
    readonly image?: string;
}

/** The agent image the 1.18.0 chart renders (values.yaml `image`: tag plus digest, `useDigest: true`). */
export const CILIUM_IMAGE = "quay.io/cilium/cilium:v1.18.0@sha256:dfea023972d06ec183cfa3c9e7809716f85daaff042e573ef366e9ec6a0c0ab2";

/**
 * Puts in the host's cluster what the Cilium Helm release creates (the cilium and cilium-envoy DaemonSets, the
 * cilium-operator Deployment, the cilium-config ConfigMap) and marks agents ready (`cilium/ready/NODE`), all in one
 * command.
 */
export async function installCilium(host: SimHost, options: CiliumInstallOptions = {}): Promise<void> {
    const data = configMapData(
        Object.fromEntries(
            Object.entries(options.config ?? CILIUM_CONFIG).filter((entry): entry is [string, string] => entry[1] !== undefined),
        ),
    );
    const ready = options.ready ?? true;
    const readyNodes =
        ready === true
            ? `for node in "$SIM_CLUSTER"/nodes/*; do [ ! -f "$node" ] || : >"$SIM_CLUSTER/cilium/ready/\${node##*/}"; done`
            : (ready === false ? [] : ready).map((node) => `: >"$SIM_CLUSTER/cilium/ready/"${sh(node)}`).join("\n");
    await host.check(
        [
            `set -e`,
            `objects="$SIM_CLUSTER/objects/kube-system"`,
            `mkdir -p "$objects/daemonset" "$objects/deployment" "$objects/configmap" "$SIM_CLUSTER/cilium/ready"`,
            `: >"$objects/deployment/cilium-operator"`,
            `mkdir -p "$SIM_CLUSTER/images/kube-system/daemonset"`,
            `printf 'cilium-agent=%s\n' ${sh(options.image ?? CILIUM_IMAGE)} >"$SIM_CLUSTER/images/kube-system/daemonset/cilium"`,
            `printf '%s' ${sh(data)} >"$objects/configmap/cilium-config"`,
            readyNodes,
            // The DaemonSets' pods are available where the agent is ready (what `kubectl rollout status` reads).
            `ls "$SIM_CLUSTER/cilium/ready" >"$objects/daemonset/cilium"`,
            `cp "$objects/daemonset/cilium" "$objects/daemonset/cilium-envoy"`,
        ].join("\n"),
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Istio and the node's CNI configuration.

/** What `installIstio` puts in the cluster: the Istio releases of a mode, and how they treat a new pod. */
export interface IstioInstallOptions {
    /** The data plane the releases were installed for. */
    readonly mode: "sidecar" | "ambient";
    /**
     * Whether istio-cni-node's pod is available on every registered node (default true). When false it is available
     * on every node but the last one by name (with only cp1 registered: on none).
     */
    readonly cniReadyOnAllNodes?: boolean;
    /**
     * The init containers istiod's injector gives a new pod of a namespace labelled istio-injection=enabled (with
     * native sidecars, the default since Istio 1.27, istio-proxy is one of them): `istio-validation` (pilot.cni.enabled,
     * the default), `istio-init` (pilot.cni.enabled not in effect) or `none` (the injector leaves the pod alone).
     */
    readonly injects?: "istio-validation" | "istio-init" | "none";
    /**
     * Whether istio-cni's node agent enrolls a new pod of a namespace labelled istio.io/dataplane-mode=ambient with
     * ztunnel, annotating it `ambient.istio.io/redirection: enabled` (default true; only with `mode: "ambient"`, where
     * istio-cni runs with ambient enabled).
     */
    readonly captures?: boolean;
    /** Whether a new pod of a meshed namespace becomes Ready (default true). */
    readonly podReady?: boolean;
    /** istiod's `discovery` image (default `ISTIOD_IMAGE`). */
    readonly image?: string;
}

/** istiod's image as the 1.31.1 istiod chart renders it (`hub`/`image`/`tag` after release-builder's rewrite). */
export const ISTIOD_IMAGE = "docker.io/istio/pilot:1.31.1";

/** The init containers istiod's injector adds, per `IstioInstallOptions.injects` (native sidecars). */
const INJECTED_INIT_CONTAINERS: Readonly<Record<NonNullable<IstioInstallOptions["injects"]>, string | undefined>> = {
    "istio-validation": "istio-validation istio-proxy",
    "istio-init": "istio-init istio-proxy",
    none: undefined,
};

/**
 * Puts in the host's cluster what the Istio releases of `mode` leave there, replacing a previous `installIstio`'s:
 * the istio-system namespace, the istiod Deployment, the istio-cni-node DaemonSet (its file lists the nodes where its
 * pod is available) and, in ambient, the ztunnel DaemonSet; and under `istio/` how admission and istio-cni treat a
 * new pod (`inject`, `capture`, `pods-not-ready`; see the kubectl stub's `run`). All in one command.
 */
export async function installIstio(host: SimHost, options: IstioInstallOptions): Promise<void> {
    const inject = INJECTED_INIT_CONTAINERS[options.injects ?? "istio-validation"];
    const cniNodes =
        options.cniReadyOnAllNodes ?? true
            ? `ls "$SIM_CLUSTER/nodes"`
            : `ls "$SIM_CLUSTER/nodes" | sed '$d'`;
    await host.check(
        [
            `set -eo pipefail`,
            `objects="$SIM_CLUSTER/objects/istio-system"`,
            `rm -rf "$objects" "$SIM_CLUSTER/istio" "$SIM_CLUSTER/images/istio-system"`,
            `mkdir -p "$objects/daemonset" "$objects/deployment" "$SIM_CLUSTER/namespaces" "$SIM_CLUSTER/istio" "$SIM_CLUSTER/images/istio-system/deployment"`,
            `printf 'discovery=%s\n' ${sh(options.image ?? ISTIOD_IMAGE)} >"$SIM_CLUSTER/images/istio-system/deployment/istiod"`,
            `printf 'kubernetes.io/metadata.name=istio-system\n' >"$SIM_CLUSTER/namespaces/istio-system"`,
            `: >"$objects/deployment/istiod"`,
            `${cniNodes} >"$objects/daemonset/istio-cni-node"`,
            options.mode === "ambient" ? `ls "$SIM_CLUSTER/nodes" >"$objects/daemonset/ztunnel"` : ``,
            inject === undefined ? `` : `printf '%s\n' ${sh(inject)} >"$SIM_CLUSTER/istio/inject"`,
            options.mode === "ambient" && (options.captures ?? true) ? `: >"$SIM_CLUSTER/istio/capture"` : ``,
            options.podReady ?? true ? `` : `: >"$SIM_CLUSTER/istio/pods-not-ready"`,
        ].join("\n"),
    );
}

/** The node's CNI configuration directory, where kubelet's runtime takes the first file by name. */
export const CNI_NET_DIR = "/etc/cni/net.d";
/** The conflist the Cilium agent writes. */
export const CILIUM_CONFLIST = `${CNI_NET_DIR}/05-cilium.conflist`;

/** 05-cilium.conflist as the Cilium agent writes it (its own template: cilium-cni only). */
const CILIUM_OWN_CONFLIST = `{
  "cniVersion": "0.3.1",
  "name": "cilium",
  "plugins": [
    {
       "type": "cilium-cni",
       "enable-debug": false,
       "log-file": "/var/run/cilium/cilium-cni.log"
    }
  ]
}
`;

/** The istio-cni plugin entry istio-cni's installer appends, for a mode (the chart's defaults). */
function istioCniPlugin(mode: "sidecar" | "ambient"): Record<string, unknown> {
    return {
        type: "istio-cni",
        name: "istio-cni",
        plugin_log_level: "info",
        cni_agent_run_dir: "/var/run/istio-cni",
        ambient_enabled: mode === "ambient",
        enablement_selectors: [
            { podSelector: { matchLabels: { "istio.io/dataplane-mode": "ambient" } } },
            {
                namespaceSelector: { matchLabels: { "istio.io/dataplane-mode": "ambient" } },
                podSelector: { matchExpressions: [{ key: "istio.io/dataplane-mode", operator: "NotIn", values: ["none"] }] },
            },
        ],
        exclude_namespaces: ["kube-system"],
        pod_namespace: "istio-system",
        native_nftables: false,
        dns: {},
        ipam: {},
    };
}

/** JSON with every object's keys sorted and two-space indentation, as Go's encoding/json MarshalIndent writes a map. */
function goJson(value: unknown): string {
    const sorted = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(sorted)
            : v !== null && typeof v === "object"
              ? Object.fromEntries(
                    Object.entries(v as Record<string, unknown>)
                        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                        .map(([k, x]) => [k, sorted(x)]),
                )
              : v;
    return `${JSON.stringify(sorted(value), null, 2)}\n`;
}

/**
 * 05-cilium.conflist: as Cilium writes it, or (`istioCni`: the mode istio-cni runs in) as istio-cni's chained
 * installer rewrites it, re-marshalled with its plugin appended after cilium-cni.
 */
export function ciliumConflist(istioCni: false | "sidecar" | "ambient" = false): string {
    if (istioCni === false) return CILIUM_OWN_CONFLIST;
    return goJson({
        cniVersion: "0.3.1",
        name: "cilium",
        plugins: [{ type: "cilium-cni", "enable-debug": false, "log-file": "/var/run/cilium/cilium-cni.log" }, istioCniPlugin(istioCni)],
    });
}

/** A conflist another CNI left behind (a bridge network with port mapping), whose last plugin is portmap. */
export const OTHER_CONFLIST = `{
  "cniVersion": "1.0.0",
  "name": "other",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.88.0.0/16" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    {
      "type": "portmap",
      "capabilities": { "portMappings": true }
    }
  ]
}
`;

/** What `writeCniConfig` leaves in /etc/cni/net.d. */
export interface CniConfigOptions {
    /** 05-cilium.conflist: as Cilium writes it (`false`), with istio-cni appended for a mode, or absent (`"absent"`). */
    readonly cilium: false | "sidecar" | "ambient" | "absent";
    /** Other files in the directory, by name (e.g. `{ "00-other.conflist": OTHER_CONFLIST }`, which sorts first). */
    readonly others?: Readonly<Record<string, string>>;
}

/** Replaces the node's /etc/cni/net.d with the files Cilium (and istio-cni) would have written there. */
export async function writeCniConfig(host: SimHost, options: CniConfigOptions): Promise<void> {
    const files: Record<string, string> = { ...options.others };
    if (options.cilium !== "absent") files["05-cilium.conflist"] = ciliumConflist(options.cilium);
    await host.check(`rm -rf ${sh(CNI_NET_DIR)} && mkdir -p ${sh(CNI_NET_DIR)}`);
    for (const [name, content] of Object.entries(files)) {
        if (!/^[-.\w]+$/.test(name)) throw new Error(`bad CNI config file name ${name}`);
        await host.writeFile(`${CNI_NET_DIR}/${name}`, content);
    }
}

/** The image the program gives the mesh check's probe pod (containerd's sandbox image, on every node). */
export const PROBE_IMAGE = "registry.k8s.io/pause:3.10";

/** Stages mesh-check.sh as the program uploads it (`.homelab/mesh-check.sh`; the program waits `5m`). */
export function stageMeshCheck(host: SimHost, mode: "sidecar" | "ambient", waitDuration = "5m"): void {
    host.stage({ "mesh-check.sh": meshCheckScript({ mode, waitDuration, probeImage: PROBE_IMAGE }) });
}
