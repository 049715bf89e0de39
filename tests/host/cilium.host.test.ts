/**
 * The Cilium scripts, run for real on simulated control planes: cilium-cli (pinned, checksummed download and install;
 * second runs, version changes, tampered and failed downloads, arm64) and cilium-check (`cilium status --wait`, the
 * cilium-config keys each Istio mode depends on, no kube-proxy; read-only, every problem listed).
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { ciliumCheckScript } from "../../components/cilium/scripts";
import type { IstioMode } from "../../components/cilium/values";
import {
    bootControlPlane,
    CILIUM_CLI_VERSION,
    CILIUM_CONFIG,
    diffSnapshots,
    expectSuccess,
    hostTest,
    initialisedControlPlaneOptions,
    installCilium,
    stageCilium,
    withHost,
    type CiliumInstallOptions,
    type RunResult,
    type SimHost,
    type SimHostOptions,
    type Snapshot,
} from "./harness";

const CLI = "/usr/local/bin/cilium";
const RELEASES = "https://github.com/cilium/cilium-cli/releases/download";

/** The URLs of the calls to `tool` (a call's last argument). */
async function urlsOf(host: SimHost, tool = "curl"): Promise<string[]> {
    return (await host.calls()).filter((c) => c.tool === tool).map((c) => c.args[c.args.length - 1] ?? "");
}

/** The two downloads of one release, in the script's order. */
function releaseUrls(version: string, arch = "amd64"): string[] {
    return [`${RELEASES}/${version}/cilium-linux-${arch}.tar.gz`, `${RELEASES}/${version}/cilium-linux-${arch}.tar.gz.sha256sum`];
}

/** The files a snapshot holds under /usr/local and in $TMPDIR (where an install and its leftovers would show). */
function installedFiles(snapshot: Snapshot): string[] {
    return [...snapshot.entries()]
        .filter(([p, v]) => (p.startsWith("/usr/local:") || p.startsWith("tmp:")) && !v.startsWith("dir "))
        .map(([p, v]) => `${p} ${v.split(" ").slice(0, 2).join(" ")}`)
        .sort();
}

/** `cilium version --client` as the installed CLI answers it. */
async function cliVersion(host: SimHost): Promise<string> {
    return host.check(`${CLI} version --client`);
}

/** Runs cilium-cli.sh and throws unless it succeeded. */
async function installCli(host: SimHost, version = CILIUM_CLI_VERSION): Promise<RunResult> {
    stageCilium(host, { cliVersion: version });
    return expectSuccess(await host.runStaged("cilium-cli.sh"), `cilium-cli.sh ${version}`);
}

/** A control plane as prepare and init leave it, built directly as a fixture (no kubeadm run). */
function controlPlane(extra: SimHostOptions = {}): SimHostOptions {
    return { ...initialisedControlPlaneOptions(), ...extra };
}

describe("cilium-cli", { concurrency: 2 }, () => {
    hostTest("on a fresh control plane it downloads the pinned release, checks it and installs the CLI; a second run changes nothing", async () => {
        await withHost({}, async (host) => {
            await bootControlPlane(host);
            stageCilium(host);
            const before = await host.snapshot();
            await host.clearCalls();
            const first = expectSuccess(await host.runStaged("cilium-cli.sh"), "cilium-cli");
            assert.match(first.stderr, /installed cilium CLI v0\.18\.9 \(was absent\)/);

            const mutating = await host.mutatingCalls();
            assert.deepEqual(
                mutating.map((c) => c.tool),
                ["curl", "curl"],
                `only the two downloads change anything:\n${mutating.map((c) => c.line).join("\n")}`,
            );
            assert.deepEqual(await urlsOf(host), releaseUrls("v0.18.9"));
            for (const call of mutating) assert.deepEqual(call.args.slice(0, 3), ["-fsSL", "--retry", "3"]);

            assert.equal(
                await cliVersion(host),
                "cilium-cli: v0.18.9 compiled with go1.24.5 on linux/amd64\ncilium image (default): v1.18.0\n",
            );
            const after = await host.snapshot();
            assert.deepEqual(
                diffSnapshots(before, after).filter((d) => !/ \(dir \d+\)$/.test(d)).map((d) => d.replace(/ [0-9a-f]{64}\)$/, ")")),
                ["+ /usr/local:/bin/cilium (file 755)"],
                "the CLI is the only change, and no temporary file is left",
            );

            await host.clearCalls();
            const again = expectSuccess(await host.runStaged("cilium-cli.sh"), "second cilium-cli");
            assert.match(again.stderr, /cilium CLI v0\.18\.9 already installed/);
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.line), [], "a second run makes no mutating call");
            assert.deepEqual(await urlsOf(host), [], "a second run downloads nothing");
            assert.deepEqual(diffSnapshots(after, await host.snapshot()), [], "a second run changes nothing");
        });
    });

    hostTest("a different pinned version replaces the installed CLI", async () => {
        await withHost(controlPlane(), async (host) => {
            await installCli(host, "v0.18.8");
            assert.match(await cliVersion(host), /^cilium-cli: v0\.18\.8 /);
            await host.clearCalls();
            const upgrade = await installCli(host, "v0.18.9");
            assert.match(upgrade.stderr, /installed cilium CLI v0\.18\.9 \(was v0\.18\.8\)/);
            assert.deepEqual(await urlsOf(host), releaseUrls("v0.18.9"));
            assert.match(await cliVersion(host), /^cilium-cli: v0\.18\.9 /);
            assert.deepEqual(installedFiles(await host.snapshot()), ["/usr/local:/bin/cilium file 755"]);
        });
    });

    hostTest("a tampered tarball fails the checksum and installs nothing; without the tampering a re-run installs", async () => {
        await withHost(controlPlane(), async (host) => {
            stageCilium(host);
            const before = await host.snapshot();
            await host.injectFault("curl-tamper");
            const result = await host.runStaged("cilium-cli.sh");
            assert.notEqual(result.status, 0);
            assert.match(
                result.stderr,
                /ERROR: cilium-linux-amd64\.tar\.gz does not match cilium-linux-amd64\.tar\.gz\.sha256sum from the v0\.18\.9 release: download corrupted or tampered with/,
            );
            assert.equal(await host.exists(CLI), false, "a tampered CLI must not be installed");
            assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], "nothing installed, no temporary file left");

            await host.clearFaults();
            await installCli(host);
            assert.match(await cliVersion(host), /^cilium-cli: v0\.18\.9 /);
        });
    });

    hostTest("a tampered upgrade keeps the CLI already installed", async () => {
        await withHost(controlPlane(), async (host) => {
            await installCli(host, "v0.18.8");
            stageCilium(host);
            const before = await host.snapshot();
            await host.injectFault("curl-tamper");
            const result = await host.runStaged("cilium-cli.sh");
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /does not match cilium-linux-amd64\.tar\.gz\.sha256sum from the v0\.18\.9 release/);
            assert.match(await cliVersion(host), /^cilium-cli: v0\.18\.8 /);
            assert.deepEqual(diffSnapshots(before, await host.snapshot()), []);
        });
    });

    hostTest("after a failed download, a re-run converges to a clean install", async (t) => {
        const clean = await withHost(controlPlane(), async (host) => {
            await installCli(host);
            return host.snapshot();
        });
        const faults: readonly [string, (host: SimHost) => Promise<void>][] = [
            ["the network is down", (host) => host.injectFault("curl")],
            ["the tarball download fails", (host) => host.failAtMutation(1)],
            ["the .sha256sum download fails", (host) => host.injectFault("curl", ".sha256sum")],
        ];
        await Promise.all(
            faults.map(([what, inject]) =>
                t.test(what, async () => {
                    await withHost(controlPlane(), async (host) => {
                        stageCilium(host);
                        const before = await host.snapshot();
                        await inject(host);
                        const failed = await host.runStaged("cilium-cli.sh");
                        assert.notEqual(failed.status, 0);
                        assert.match(failed.stderr, /curl: \(28\) Failed to connect to github\.com port 443/);
                        assert.equal(await host.exists(CLI), false);
                        assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], "a failed run leaves nothing");

                        await host.clearFaults();
                        await host.clearCalls();
                        await installCli(host);
                        assert.deepEqual(await urlsOf(host), releaseUrls("v0.18.9"), "the re-run downloads both files again");
                        assert.deepEqual(diffSnapshots(clean, await host.snapshot()), [], "the re-run ends where a clean install does");
                    });
                }),
            ),
        );
    });

    hostTest("on arm64 it installs the arm64 build", async () => {
        await withHost(controlPlane({ machine: "aarch64" }), async (host) => {
            await installCli(host);
            assert.deepEqual(await urlsOf(host), releaseUrls("v0.18.9", "arm64"));
            assert.match(await cliVersion(host), /^cilium-cli: v0\.18\.9 compiled with go1\.24\.5 on linux\/arm64\n/);
        });
    });

    hostTest("an unknown release fails on the 404 and installs nothing", async () => {
        await withHost(controlPlane(), async (host) => {
            stageCilium(host, { cliVersion: "v0.99.0" });
            const result = await host.runStaged("cilium-cli.sh");
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /curl: \(22\) The requested URL returned error: 404/);
            assert.deepEqual(await urlsOf(host), [releaseUrls("v0.99.0")[0]], "it stops at the first download");
            assert.equal(await host.exists(CLI), false);
        });
    });
});

/** cilium-config keys the chart sets for each Istio mode, on top of CILIUM_CONFIG. */
const ISTIO_CONFIG: Readonly<Record<IstioMode, Readonly<Record<string, string | undefined>>>> = {
    off: {},
    sidecar: { "cni-exclusive": "false", "bpf-lb-sock-hostns-only": "true" },
    ambient: { "cni-exclusive": "false", "bpf-lb-sock-hostns-only": "true", "enable-bpf-masquerade": "false" },
};

/** The keys cilium-check must read for each mode. */
const CHECKED_KEYS: Readonly<Record<IstioMode, readonly string[]>> = {
    off: ["kube-proxy-replacement"],
    sidecar: ["kube-proxy-replacement", "cni-exclusive", "bpf-lb-sock-hostns-only"],
    ambient: ["kube-proxy-replacement", "cni-exclusive", "bpf-lb-sock-hostns-only", "enable-bpf-masquerade"],
};

const KUBE_PROXY_PROBLEM =
    "a kube-proxy DaemonSet runs next to Cilium's kube-proxy replacement: kubectl -n kube-system delete daemonset,configmap kube-proxy";

/** What the cluster holds when cilium-check runs. */
interface CheckCase {
    readonly istio: IstioMode;
    /** Changes to the chart's cilium-config for the mode (`undefined` removes a key). */
    readonly config?: Readonly<Record<string, string | undefined>>;
    /** Nodes whose agent is ready (default: both). */
    readonly ready?: CiliumInstallOptions["ready"];
    /** Leave Cilium out of the cluster entirely. */
    readonly notInstalled?: boolean;
    /** A kube-proxy DaemonSet in kube-system. */
    readonly kubeProxy?: boolean;
}

/**
 * Runs `fn` on a control plane (nodes cp1 and w1 registered) with the cilium CLI installed by cilium-cli.sh. One host
 * serves several cases: `runCheck` replaces the cluster's Cilium state each time.
 */
async function withCheckHost(fn: (host: SimHost) => Promise<void>): Promise<void> {
    await withHost(initialisedControlPlaneOptions({ nodes: { w1: "0123456789abcdef0123456789abcdef" } }), async (host) => {
        await installCli(host);
        await fn(host);
    });
}

/**
 * Puts the case's Cilium in the cluster (replacing the previous case's), stages cilium-check for its mode and runs
 * it. Asserts the run made no mutating call and, with `snapshot`, changed nothing at all.
 */
async function runCheck(host: SimHost, c: CheckCase, options: { snapshot?: boolean } = {}): Promise<RunResult> {
    await host.check(`rm -rf "$SIM_CLUSTER/cilium" "$SIM_CLUSTER/objects/kube-system"`);
    stageCilium(host, { istio: c.istio });
    if (c.notInstalled !== true) {
        await installCilium(host, { config: { ...CILIUM_CONFIG, ...ISTIO_CONFIG[c.istio], ...c.config }, ready: c.ready });
    }
    if (c.kubeProxy === true) await host.writeCluster("objects/kube-system/daemonset/kube-proxy", "");
    const before = options.snapshot === true ? await host.snapshot() : undefined;
    await host.clearCalls();
    const result = await host.runStaged("cilium-check.sh");
    assert.deepEqual((await host.mutatingCalls()).map((call) => call.line), [], "cilium-check makes no mutating call");
    if (before !== undefined) assert.deepEqual(diffSnapshots(before, await host.snapshot()), [], "cilium-check changes nothing");
    return result;
}

/** The `  - ` problem lines of a failed check, after asserting it failed the way the script reports problems. */
function problemLines(result: RunResult): string[] {
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /\[homelab cilium-check\] ERROR: Cilium is running but not as configured:\n/);
    return result.stderr
        .split("\n")
        .filter((line) => line.startsWith("  - "))
        .map((line) => line.slice(4));
}

describe("cilium-check", { concurrency: 2 }, () => {
    hostTest("passes with the chart's cilium-config in every Istio mode, and only reads", async (t) => {
        const cases: readonly [string, CheckCase][] = [
            ["Istio off", { istio: "off" }],
            ["Istio sidecar", { istio: "sidecar" }],
            ["Istio ambient", { istio: "ambient" }],
            ["Istio ambient, enable-bpf-masquerade left out (the agent's default is off)", { istio: "ambient", config: { "enable-bpf-masquerade": undefined } }],
        ];
        await withCheckHost(async (host) => {
            for (const [what, c] of cases) {
                await t.test(what, async () => {
                    const result = expectSuccess(await runCheck(host, c, { snapshot: true }), `cilium-check (${what})`);
                    assert.match(
                        result.stderr,
                        c.istio === "off"
                            ? /Cilium is ready on every node, with kube-proxy replacement as configured$/m
                            : /Cilium is ready on every node, with kube-proxy replacement and Istio chaining as configured$/m,
                    );
                    assert.match(result.stderr, /Cilium: {13}OK/, "cilium status's summary is shown");
                    assert.match(result.stderr, /Desired: 2, Ready: 2\/2/);
                    assert.equal(result.stdout, "");
                    assert.deepEqual(
                        (await host.calls()).map((call) => call.line),
                        [
                            "cilium status --wait --wait-duration 10m",
                            ...CHECKED_KEYS[c.istio].map((key) => `kubectl -n kube-system get configmap cilium-config -o jsonpath={.data.${key}}`),
                            "kubectl -n kube-system get daemonset kube-proxy --ignore-not-found -o name",
                        ],
                    );
                });
            }
        });
    });

    hostTest("fails naming each wrong setting, and lists every problem at once", async (t) => {
        const wrong: readonly [string, CheckCase, string][] = [
            ["kube-proxy-replacement is false", { istio: "off", config: { "kube-proxy-replacement": "false" } }, `cilium-config kube-proxy-replacement is "false", expected "true"`],
            ["kube-proxy-replacement is absent", { istio: "off", config: { "kube-proxy-replacement": undefined } }, `cilium-config kube-proxy-replacement is "", expected "true"`],
            ["cni-exclusive is true (sidecar)", { istio: "sidecar", config: { "cni-exclusive": "true" } }, `cilium-config cni-exclusive is "true", expected "false"`],
            ["bpf-lb-sock-hostns-only is absent (sidecar)", { istio: "sidecar", config: { "bpf-lb-sock-hostns-only": undefined } }, `cilium-config bpf-lb-sock-hostns-only is "", expected "true"`],
            ["bpf-lb-sock-hostns-only is false (sidecar)", { istio: "sidecar", config: { "bpf-lb-sock-hostns-only": "false" } }, `cilium-config bpf-lb-sock-hostns-only is "false", expected "true"`],
            ["enable-bpf-masquerade is true (ambient)", { istio: "ambient", config: { "enable-bpf-masquerade": "true" } }, `cilium-config enable-bpf-masquerade is "true", expected "false"`],
            ["a kube-proxy DaemonSet runs", { istio: "sidecar", kubeProxy: true }, KUBE_PROXY_PROBLEM],
        ];
        await withCheckHost(async (host) => {
            for (const [what, c, problem] of wrong) {
                await t.test(what, async () => {
                    assert.deepEqual(problemLines(await runCheck(host, c)), [problem]);
                });
            }
            await t.test("several problems", async () => {
                const result = await runCheck(
                    host,
                    {
                        istio: "sidecar",
                        config: { "kube-proxy-replacement": "false", "cni-exclusive": "true", "bpf-lb-sock-hostns-only": undefined },
                        kubeProxy: true,
                    },
                    { snapshot: true },
                );
                assert.deepEqual(problemLines(result), [
                    `cilium-config kube-proxy-replacement is "false", expected "true"`,
                    `cilium-config cni-exclusive is "true", expected "false"`,
                    `cilium-config bpf-lb-sock-hostns-only is "", expected "true"`,
                    KUBE_PROXY_PROBLEM,
                ]);
            });
        });
    });

    hostTest("fails when cilium status --wait does not report Cilium ready, before reading the config", async (t) => {
        await withCheckHost(async (host) => {
            await t.test("the agent on w1 is not ready", async () => {
                const result = await runCheck(host, { istio: "sidecar", ready: ["cp1"] }, { snapshot: true });
                assert.equal(result.status, 1);
                assert.match(result.stderr, /ERROR: cilium status --wait did not report every component OK within 10m \(its output is above\)/);
                assert.match(result.stderr, /Desired: 2, Ready: 1\/2/);
                assert.match(result.stderr, /cilium on w1 +agent not ready/);
                assert.doesNotMatch(result.stderr, /cilium on cp1/);
                assert.deepEqual((await host.calls()).map((call) => call.tool), ["cilium"], "nothing read after the failed wait");
            });
            await t.test("Cilium is not installed", async () => {
                const result = await runCheck(host, { istio: "off", notInstalled: true });
                assert.equal(result.status, 1);
                assert.match(result.stderr, /daemonsets\.apps "cilium" not found/);
                assert.match(result.stderr, /ERROR: cilium status --wait did not report every component OK within 10m/);
            });
            await t.test("the wait duration is the configured one", async () => {
                await host.check(`rm -rf "$SIM_CLUSTER/cilium"`);
                host.stage({ "cilium-check.sh": ciliumCheckScript({ istio: "off", waitDuration: "90s" }) });
                await host.clearCalls();
                const result = await host.runStaged("cilium-check.sh");
                assert.match(result.stderr, /did not report every component OK within 90s/);
                assert.deepEqual((await host.calls()).map((call) => call.line), ["cilium status --wait --wait-duration 90s"]);
            });
        });
    });

    hostTest("fails when the API server does not answer a query, instead of passing unread", async (t) => {
        await withCheckHost(async (host) => {
            for (const [what, pattern] of [
                ["a cilium-config read", "get configmap cilium-config"],
                ["the kube-proxy query", "get daemonset kube-proxy"],
            ] as const) {
                await t.test(what, async () => {
                    await host.clearFaults();
                    await host.injectFault("kubectl", pattern);
                    const result = await runCheck(host, { istio: "sidecar" });
                    assert.notEqual(result.status, 0, `cilium-check passed although ${what} failed:\n${result.stderr}`);
                    assert.match(result.stderr, /kubectl: operation failed \(simulated failure: fail\/kubectl\)/);
                    assert.doesNotMatch(result.stderr, /Cilium is ready on every node/);
                });
            }
        });
    });
});

describe("the stubs behind the Cilium scripts", () => {
    hostTest("curl serves the cilium-cli release deterministically, kubectl reads ConfigMap data, cilium is absent until installed", async () => {
        await withHost(controlPlane(), async (host) => {
            const notInstalled = await host.run("cilium version --client");
            assert.equal(notInstalled.status, 127);
            assert.match(notInstalled.stderr, /cilium: command not found/);

            const [tarball, sums] = releaseUrls("v0.18.9");
            const download = (file: string, url: string): Promise<string> =>
                host.check(`mkdir -p dl && curl -fsSL --retry 3 -o dl/${file} ${url}`);
            await download("cilium-linux-amd64.tar.gz", tarball ?? "");
            await download("again.tar.gz", tarball ?? "");
            await download("cilium-linux-amd64.tar.gz.sha256sum", sums ?? "");
            expectSuccess(await host.run("cmp dl/cilium-linux-amd64.tar.gz dl/again.tar.gz"), "the same bytes on every download");
            expectSuccess(await host.run("cd dl && sha256sum --check --status cilium-linux-amd64.tar.gz.sha256sum"), "the sum matches");
            assert.match(await host.readFile(`${host.home}/dl/cilium-linux-amd64.tar.gz.sha256sum`), /^[0-9a-f]{64} {2}cilium-linux-amd64\.tar\.gz\n$/);
            assert.match(await host.check("tar -tvzf dl/cilium-linux-amd64.tar.gz"), /^-rwxr-xr-x 0\/0 +\d+ \S+ \S+ cilium\n$/);

            await host.injectFault("curl-tamper");
            await download("tampered.tar.gz", tarball ?? "");
            await host.clearFaults();
            assert.equal((await host.run("cmp -s dl/cilium-linux-amd64.tar.gz dl/tampered.tar.gz")).status, 1, "a tampered download differs");

            for (const url of [`${RELEASES}/v0.99.0/cilium-linux-amd64.tar.gz`, `${RELEASES}/v0.18.9/cilium-linux-s390x.tar.gz`]) {
                const missing = await host.run(`curl -fsSL -o dl/missing ${url}`);
                assert.equal(missing.status, 22, url);
                assert.match(missing.stderr, /curl: \(22\) The requested URL returned error: 404/);
            }
            assert.equal(await host.exists(`${host.home}/dl/missing`), false, "curl -f writes no file for a 404");

            await installCilium(host, { config: { "kube-proxy-replacement": "true", empty: "" } });
            await host.writeCluster("objects/kube-system/configmap/kube-proxy", "");
            const kubectl = (args: string): Promise<RunResult> => host.run(`KUBECONFIG=/etc/kubernetes/admin.conf kubectl -n kube-system ${args}`);
            const jsonpath = (name: string, key: string): Promise<RunResult> => kubectl(`get configmap ${name} -o 'jsonpath={.data.${key}}'`);
            assert.equal(expectSuccess(await jsonpath("cilium-config", "kube-proxy-replacement"), "jsonpath").stdout, "true");
            assert.equal(expectSuccess(await jsonpath("cilium-config", "empty"), "empty value").stdout, "");
            assert.equal(expectSuccess(await jsonpath("cilium-config", "no-such-key"), "absent key").stdout, "");
            assert.equal(expectSuccess(await jsonpath("kube-proxy", "anything"), "a ConfigMap without data").stdout, "");
            assert.equal(expectSuccess(await kubectl("get configmap kube-proxy -o name"), "presence only").stdout, "configmap/kube-proxy\n");
            const absent = await jsonpath("nope", "key");
            assert.equal(absent.status, 1);
            assert.match(absent.stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
            assert.deepEqual((await host.mutatingCalls()).map((c) => c.tool), Array(6).fill("curl"), "only curl's downloads are mutating");
        });
    });
});
