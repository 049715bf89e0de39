/**
 * Scripts run on the first control plane for Cilium: install the cilium CLI the way the lab notes do (release tarball
 * plus its .sha256sum, checked), and verify the installation like `cilium status --wait` plus the cilium-config keys
 * that kube-proxy replacement and Istio chaining depend on.
 */
import { guardWhere, versionGuardScript, type VersionGuardInput } from "../helm/upgrade";
import { scriptHeader } from "../remote/script";
import type { IstioMode } from "./values";

/** Where the CLI is installed (as in the notes: `tar xzvfC … /usr/local/bin`). */
export const CILIUM_CLI_PATH = "/usr/local/bin/cilium";

/** Inputs of the CLI installer. */
export interface CiliumCliInput {
    /** Release tag, `v0.18.9`. */
    readonly version: string;
}

/**
 * cilium-cli: downloads `cilium-linux-<arch>.tar.gz` and its `.sha256sum` from the pinned GitHub release, checks
 * the sum, installs the binary. Does nothing when that version is already installed.
 */
export function ciliumCliScript(input: CiliumCliInput): string {
    return `${scriptHeader("cilium-cli", { CLI_VERSION: input.version, CLI: CILIUM_CLI_PATH })}
installed=$("$CLI" version --client 2>/dev/null | awk '$1 == "cilium-cli:" {print $2; exit}' || true)
if [ "$installed" = "$CLI_VERSION" ]; then
  log "cilium CLI $CLI_VERSION already installed"
  exit 0
fi
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no cilium CLI build for $(uname -m)" ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball="cilium-linux-$arch.tar.gz"
base="https://github.com/cilium/cilium-cli/releases/download/$CLI_VERSION"
curl -fsSL --retry 3 -o "$work/$tarball" "$base/$tarball"
curl -fsSL --retry 3 -o "$work/$tarball.sha256sum" "$base/$tarball.sha256sum"
(cd "$work" && sha256sum --check --status "$tarball.sha256sum") \\
  || die "$tarball does not match $tarball.sha256sum from the $CLI_VERSION release: download corrupted or tampered with"
tar -xzf "$work/$tarball" -C "$work" cilium
install -m 0755 "$work/cilium" "$CLI"
log "installed cilium CLI $CLI_VERSION (was \${installed:-absent})"
`;
}

/** Inputs of the verification step. */
export interface CiliumCheckInput {
    /** Istio mode: adds the chaining keys to the checks. */
    readonly istio: IstioMode;
    /** How long `cilium status --wait` may wait, e.g. `10m`. */
    readonly waitDuration: string;
}

/** A cilium-config key the check expects. */
export interface ConfigExpectation {
    /** The value it must have. */
    readonly want: string;
    /** What an absent key means (the agent's default), when the chart may leave the key out. */
    readonly absentMeans?: string;
}

/** cilium-config keys and the value each must have, for an Istio mode. */
export function expectedCiliumConfig(istio: IstioMode): Readonly<Record<string, ConfigExpectation>> {
    return {
        "kube-proxy-replacement": { want: "true" },
        ...(istio !== "off" ? { "cni-exclusive": { want: "false" }, "bpf-lb-sock-hostns-only": { want: "true" } } : {}),
        // The chart may leave eBPF masquerading out of the ConfigMap; the agent's default is off.
        ...(istio === "ambient" ? { "enable-bpf-masquerade": { want: "false", absentMeans: "false" } } : {}),
    };
}

/**
 * cilium-check: `cilium status --wait` (agent, operator and envoy ready on every node, bounded), then the
 * cilium-config keys, then no kube-proxy DaemonSet. Read-only; fails naming every key that is wrong.
 */
export function ciliumCheckScript(input: CiliumCheckInput): string {
    const expectations = Object.entries(expectedCiliumConfig(input.istio))
        .map(([key, e]) => `expect_config ${key} ${e.want}${e.absentMeans !== undefined ? ` ${e.absentMeans}` : ""}`)
        .join("\n");
    return `${scriptHeader("cilium-check", { CLI: CILIUM_CLI_PATH, WAIT: input.waitDuration })}
export KUBECONFIG=/etc/kubernetes/admin.conf
"$CLI" status --wait --wait-duration "$WAIT" >&2 \\
  || die "cilium status --wait did not report every component OK within $WAIT (its output is above)"

problems=()
# expect_config KEY WANT [ABSENT_MEANS]
expect_config() {
  local key=$1 want=$2 got
  got=$(kubectl -n kube-system get configmap cilium-config -o "jsonpath={.data.$key}")
  if [ -z "$got" ] && [ -n "\${3:-}" ]; then
    got=$3
  fi
  if [ "$got" != "$want" ]; then
    problems+=("cilium-config $key is \\"$got\\", expected \\"$want\\"")
  fi
}
${expectations}
# Assigned first: a failed query inside [ -n "$(...)" ] would not stop the script and would read as "no kube-proxy".
kube_proxy=$(kubectl -n kube-system get daemonset kube-proxy --ignore-not-found -o name)
if [ -n "$kube_proxy" ]; then
  problems+=("a kube-proxy DaemonSet runs next to Cilium's kube-proxy replacement: kubectl -n kube-system delete daemonset,configmap kube-proxy")
fi
if [ "\${#problems[@]}" -gt 0 ]; then
  printf '[homelab cilium-check] ERROR: Cilium is running but not as configured:\\n' >&2
  printf '  - %s\\n' "\${problems[@]}" >&2
  exit 1
fi
log "Cilium is ready on every node, with kube-proxy replacement${input.istio === "off" ? "" : " and Istio chaining"} as configured"
`;
}

/**
 * Where the running Cilium version is read: the agent DaemonSet's `cilium-agent` image tag, which is what the cilium
 * CLI reports as "cilium image (running)" (cilium-cli `GetRunningCiliumVersion` reads the agent pods' image tag).
 */
export const CILIUM_VERSION_SOURCE = { namespace: "kube-system", kind: "daemonset", name: "cilium", container: "cilium-agent" } as const;

/** The Cilium version guard's fixed inputs (all but the target). */
export const CILIUM_VERSION_GUARD: Omit<VersionGuardInput, "target"> = {
    step: "cilium-version-guard",
    component: "Cilium",
    configKey: "ciliumVersion",
    rollbackAdvice:
        "Cilium tests rollbacks one minor at a time; if features of the newer minor are already in use, read its upgrade notes " +
        "before rolling back (docs.cilium.io, Upgrade Guide, Rolling Back)",
    ...CILIUM_VERSION_SOURCE,
};

/** Where the Cilium guard looks, as its messages say it. */
export const CILIUM_VERSION_WHERE = guardWhere(CILIUM_VERSION_SOURCE);

/**
 * cilium-version-guard: before the Helm release is installed or upgraded to `target`, refuses a step Cilium does not
 * support (more than one minor up or back, a major change) from the version running on the cluster. Read-only.
 */
export function ciliumVersionGuardScript(target: string): string {
    return versionGuardScript({ ...CILIUM_VERSION_GUARD, target });
}
