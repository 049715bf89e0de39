/**
 * Bash scripts run on the lab hosts, one pure builder per step.
 *
 * Rules every script follows (and the simulated-host tests enforce):
 * - `set -euo pipefail`; no prompts (`DEBIAN_FRONTEND=noninteractive`, `apt-get -y`, `kubeadm reset -f`).
 * - Every mutating step is guarded by a check of the state it would create, so a second run makes no change.
 * - A step that fails half-way either leaves nothing behind or leaves what the next run repairs (kubeadm init/join
 *   roll back with `kubeadm reset -f` when they fail).
 * - Secrets never reach stdout/stderr: kubeadm's own output (which prints join tokens) goes to a root-only log and is
 *   redacted before any of it is shown.
 * - Values are injected as shell-quoted variables at the top, never spliced into the body.
 */
import { scriptHeader as header, STAGING_DIR } from "../remote/script";
import type { KubeVipSettings } from "./config";
import { KUBE_VIP_MANIFEST, kubeVipManifest } from "./kube-vip";
import { SNAPSHOT_TOOL, SNAPSHOT_UNIT } from "../etcd/paths";

/** Root-only folder on the host for kubeadm logs. */
export const HOST_LOG_DIR = "/var/log/homelab";
/** Lifetime of the token minted right before a join. */
export const JOIN_TOKEN_TTL = "1h";
/** Cilium 1.18 requires Linux ≥ 5.10 (cilium PR #38308). */
export const MIN_KERNEL = { major: 5, minor: 10 } as const;
/** kubeadm's preflight minimums for a control plane. */
export const CONTROL_PLANE_MIN = { cpus: 2, memoryMiB: 1700 } as const;

/** The Kubernetes minor (`v1.33`) of an exact version, as used in the pkgs.k8s.io repository path. */
export function kubernetesMinor(version: string): string {
    const [major, minor] = version.split(".");
    return `v${major}.${minor}`;
}

/** Shell helpers shared by the scripts that write files or run kubeadm. */
export const WRITE_IF_CHANGED = `
# write_if_changed PATH MODE < content: replaces PATH only when the content differs; status 0 = written, 1 =
# unchanged, 2 = failed. Callers run it in a pipeline and under || or if, where set -e does not apply, so every step
# checks its own status (callers: \`|| [ "$?" -eq 1 ] || die ...\`). The temp file sits beside PATH (so mv is atomic)
# and is removed if writing it fails or the script stops before the mv.
pending_tmp=""
trap 'rm -f "$pending_tmp"' EXIT
write_if_changed() {
  local path=$1 mode=$2
  install -d -m 0755 "$(dirname "$path")" || return 2
  pending_tmp=$(mktemp "$path.homelab.XXXXXX") || return 2
  if ! cat >"$pending_tmp"; then
    rm -f "$pending_tmp"
    return 2
  fi
  if [ -f "$path" ] && cmp -s "$pending_tmp" "$path"; then
    rm -f "$pending_tmp"
    pending_tmp=""
    return 1
  fi
  if ! { chmod "$mode" "$pending_tmp" && mv -f "$pending_tmp" "$path"; }; then
    rm -f "$pending_tmp"
    return 2
  fi
  pending_tmp=""
  log "wrote $path"
}
`;

/** What kubeadm init/join leave on a host. */
const KUBEADM_STATE = `
# has_kubeadm_state: kubeadm init/join left something here. Not the bare directories: the kubelet package ships
# /etc/kubernetes/manifests, and kubeadm reset empties its directories but keeps them. Not kube-vip's static pod
# either: the program writes it before kubeadm runs.
has_kubeadm_state() {
  local path
  for path in /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/admin.conf \\
    /etc/kubernetes/pki/ca.crt /etc/kubernetes/manifests/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler}.yaml \\
    /var/lib/etcd/member; do
    [ -e "$path" ] && return 0
  done
  return 1
}
`;

export const RUN_KUBEADM = `
# run_kubeadm LOGNAME ARGS...: runs kubeadm with its output (which prints join tokens) in a root-only log; on failure
# shows the redacted tail and returns kubeadm's status.
run_kubeadm() {
  local name=$1 status=0
  shift
  install -d -m 0700 ${HOST_LOG_DIR}
  kubeadm "$@" >"${HOST_LOG_DIR}/$name.log" 2>&1 || status=$?
  chmod 0600 "${HOST_LOG_DIR}/$name.log"
  if [ "$status" -ne 0 ]; then
    tail -n 40 "${HOST_LOG_DIR}/$name.log" \\
      | sed -E 's/[a-z0-9]{6}\\.[a-z0-9]{16}/<redacted-token>/g; s/[a-f0-9]{64}/<redacted-key>/g' >&2
  fi
  return "$status"
}
`;

/** How long a step on the primary waits for the API server behind the endpoint to answer again. */
export const API_WAIT_SECONDS = 120;
/** The header variable API_RETRY reads (every script that includes it sets it). */
export const API_WAIT_VAR: Readonly<Record<string, string>> = { API_WAIT: String(API_WAIT_SECONDS) };

/**
 * Shell for steps that talk to the cluster through the admin kubeconfig, which points at `controlPlaneEndpoint`. The
 * endpoint is away for seconds in normal operation: kube-vip restarts when init switches its static pod from
 * super-admin.conf to admin.conf, and the virtual IP moves when the control plane holding it leaves etcd. `kube` and
 * `with_api` try a failed call again once the API server answers again (3 attempts); a call that fails while the API
 * server answers fails at once. Only for calls that are safe to repeat (reads, `--ignore-not-found` deletes, drains,
 * kubeadm's token and upload-certs, whose callers check the outcome).
 */
export const API_RETRY = `
api_ready() { kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw=/readyz >/dev/null 2>&1; }
# wait_for_api: until the API server behind admin.conf answers /readyz, at most API_WAIT seconds.
wait_for_api() {
  local waited=0
  until api_ready; do
    [ "$waited" -lt "$API_WAIT" ] \\
      || die "the API server behind /etc/kubernetes/admin.conf did not answer within \${API_WAIT}s (kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw=/readyz); bring the control plane or the endpoint back and run pulumi up again"
    sleep 2
    waited=$((waited + 2))
  done
}
# with_api ARGS...: runs ARGS; when it fails because the API server stopped answering, waits for it and tries again.
with_api() {
  local attempt status
  for attempt in 1 2 3; do
    status=0
    "$@" || status=$?
    if [ "$status" -eq 0 ] || [ "$attempt" -eq 3 ] || api_ready; then
      return "$status"
    fi
    log "$1 failed while the API server was not answering (attempt $attempt of 3); waiting for it"
    wait_for_api
  done
}
kube() { with_api kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
`;

/**
 * Shell: `joined NODE` succeeds when the Node exists and is Ready, what kubeadm join itself refuses to join over. A join
 * that failed after the kubelet registered the Node was rolled back (kubelet stopped), so its Node goes NotReady and
 * still needs a fresh token and certificates for the next attempt. Needs `kube` (API_RETRY).
 */
const NODE_JOINED = `
joined() {
  local ready
  ready=$(kube get node "$1" --ignore-not-found -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') \\
    || die "cannot ask the API server about node $1 (kubectl failed above)"
  [ "$ready" = True ]
}
`;

/** Inputs of the preflight check. */
export interface PreflightInput {
    /** `control-plane` adds CPU, memory and control-plane port checks. */
    readonly role: "control-plane" | "worker";
}

/**
 * preflight: read-only checks, all reported together. Prints `hostname=` and `machine-id=` lines on success so the
 * program can tell duplicate (cloned) hosts apart.
 */
export function preflightScript(input: PreflightInput): string {
    const controlPlane = input.role === "control-plane";
    const ports = controlPlane ? "6443 10250 10257 10259 2379 2380" : "10250";
    return `${header("preflight", { ROLE: input.role })}
problems=()

kernel=$(uname -r)
kernel_major=\${kernel%%.*}
kernel_rest=\${kernel#*.}
kernel_minor=\${kernel_rest%%[!0-9]*}
if [ "$kernel_major" -lt ${MIN_KERNEL.major} ] || { [ "$kernel_major" -eq ${MIN_KERNEL.major} ] && [ "$kernel_minor" -lt ${MIN_KERNEL.minor} ]; }; then
  problems+=("kernel $kernel is older than ${MIN_KERNEL.major}.${MIN_KERNEL.minor}, the minimum for Cilium 1.18: install a newer kernel (Debian 12 ships 6.1, Ubuntu 22.04 ships 5.15)")
fi

cgroup_fs=$(stat -fc %T /sys/fs/cgroup/ 2>/dev/null || echo missing)
if [ "$cgroup_fs" != cgroup2fs ]; then
  problems+=("cgroup v2 is not mounted on /sys/fs/cgroup (found $cgroup_fs): boot with systemd.unified_cgroup_hierarchy=1")
fi
${
    controlPlane
        ? `
cpus=$(nproc)
if [ "$cpus" -lt ${CONTROL_PLANE_MIN.cpus} ]; then
  problems+=("$cpus CPU(s); a control plane needs at least ${CONTROL_PLANE_MIN.cpus}: give the host more CPUs")
fi
memory_mib=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
if [ "$memory_mib" -lt ${CONTROL_PLANE_MIN.memoryMiB} ]; then
  problems+=("$memory_mib MiB of memory; a control plane needs at least ${CONTROL_PLANE_MIN.memoryMiB} MiB: give the host more memory")
fi
`
        : ""
}
host_name=$(hostname)
if [ -z "$host_name" ] || [ "$host_name" = localhost ]; then
  problems+=("hostname is '$host_name': give every host its own name (hostnamectl set-hostname <name>)")
fi

machine_id=$(cat /etc/machine-id 2>/dev/null || true)
if ! [[ $machine_id =~ ^[0-9a-f]{32}$ ]]; then
  problems+=("/etc/machine-id is missing or malformed: run systemd-machine-id-setup")
fi

active_swap=$(swapon --show --noheadings) || problems+=("cannot list active swap (swapon --show failed): check util-linux")
if [ -n "$active_swap" ]; then
  log "swap is on; the prepare step turns it off (the kubelet refuses to start with swap)"
fi

if [ ! -f /etc/kubernetes/kubelet.conf ]; then
  # Only before the node has joined: afterwards these ports belong to the cluster itself.
  ports=(${ports})
  for port in "\${ports[@]}"; do
    if [ -n "$(ss -Htln "sport = :$port")" ]; then
      problems+=("TCP port $port is already in use: stop the service listening on it (ss -ltnp 'sport = :$port')")
    fi
  done
fi

if [ "\${#problems[@]}" -gt 0 ]; then
  printf '[homelab preflight] ERROR: %s is not ready to be a Kubernetes %s:\\n' "$host_name" "$ROLE" >&2
  printf '  - %s\\n' "\${problems[@]}" >&2
  exit 1
fi
printf 'hostname=%s\\nmachine-id=%s\\n' "$host_name" "$machine_id"
`;
}

/** Where the Kubernetes packages come from for a version: the per-minor pkgs.k8s.io repository and its keyring. */
export function k8sRepoVars(version: string): Record<string, string> {
    return {
        K8S_VERSION: version,
        K8S_REPO: `https://pkgs.k8s.io/core:/stable:/${kubernetesMinor(version)}/deb/`,
        KEYRING: "/etc/apt/keyrings/kubernetes-apt-keyring.gpg",
    };
}

/**
 * Shell functions for the Kubernetes packages, shared by prepare (fresh nodes) and the upgrade steps (live nodes).
 * They need the variables of `k8sRepoVars` and `WRITE_IF_CHANGED`. pkgs.k8s.io has one repository per minor, so a
 * minor upgrade switches the list to the new minor's repository (one signing key serves every minor).
 */
export const K8S_PACKAGES = `
apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -q
    apt_updated=1
  fi
}
# Version of a fully installed package, else nothing: a package an interrupted apt-get left unpacked or
# half-configured has its version recorded but must be installed again. \${Status} is "install ok installed", or
# "hold ok installed" for a held package.
installed_version() {
  dpkg-query -W -f='\${Status} \${Version}' "$1" 2>/dev/null | awk '$2 == "ok" && $3 == "installed" {print $4}' || true
}
is_installed() {
  [ -n "$(installed_version "$1")" ]
}
# at_target PKG: PKG is fully installed at exactly K8S_VERSION.
at_target() {
  case "$(installed_version "$1")" in
    "$K8S_VERSION"-*) return 0 ;;
  esac
  return 1
}
# ensure_k8s_repo: the pkgs.k8s.io signing key and K8S_REPO as the only Kubernetes apt source; a changed list makes
# the next apt_update refresh.
ensure_k8s_repo() {
  if [ ! -s "$KEYRING" ]; then
    install -d -m 0755 "$(dirname "$KEYRING")"
    curl -fsSL "\${K8S_REPO}Release.key" | gpg --dearmor --yes -o "$KEYRING"
    chmod 0644 "$KEYRING"
    log "installed the pkgs.k8s.io signing key"
  fi
  if printf 'deb [signed-by=%s] %s /\\n' "$KEYRING" "$K8S_REPO" | write_if_changed /etc/apt/sources.list.d/kubernetes.list 0644; then
    apt_updated=0
  elif [ "$?" -ne 1 ]; then
    die "could not write /etc/apt/sources.list.d/kubernetes.list"
  fi
}
# hold_packages PKG...: holds each one not yet held.
hold_packages() {
  local held pkg
  held=$(apt-mark showhold)
  for pkg in "$@"; do
    if ! grep -qx "$pkg" <<<"$held"; then
      apt-mark hold "$pkg" >/dev/null
      log "held $pkg"
    fi
  done
}
# install_k8s_packages PKG...: the given Kubernetes packages at exactly K8S_VERSION from K8S_REPO; the holds of the
# ones that move are lifted first, and all of them are held afterwards.
install_k8s_packages() {
  local pkg held package_version outdated=() specs=()
  for pkg in "$@"; do
    at_target "$pkg" || outdated+=("$pkg")
  done
  if [ "\${#outdated[@]}" -gt 0 ]; then
    apt_update
    package_version=$(apt-cache madison kubeadm | awk -v want="$K8S_VERSION" '$3 ~ "^" want "-" {print $3; exit}')
    [ -n "$package_version" ] || die "kubeadm $K8S_VERSION is not in $K8S_REPO: set kubernetesVersion to a released patch of this minor"
    held=$(apt-mark showhold)
    for pkg in "\${outdated[@]}"; do
      if grep -qx "$pkg" <<<"$held"; then apt-mark unhold "$pkg" >/dev/null; fi
      specs+=("$pkg=$package_version")
    done
    apt-get install -y -q --allow-downgrades "\${specs[@]}"
    log "installed \${outdated[*]} $package_version"
  fi
  hold_packages "$@"
}
`;

/** Inputs of the host preparation. */
export interface PrepareInput {
    /** Exact Kubernetes version, `1.33.10`. */
    readonly kubernetesVersion: string;
}

/**
 * prepare: swap off (now and in fstab), kernel modules and sysctls (now and persisted), containerd with the systemd
 * cgroup driver and kubeadm's pause image, kubelet/kubeadm/kubectl at the exact patch from the per-minor
 * pkgs.k8s.io repository, held.
 */
export function prepareScript(input: PrepareInput): string {
    return `${header("prepare", k8sRepoVars(input.kubernetesVersion))}${WRITE_IF_CHANGED}${K8S_PACKAGES}
# 1. Swap: off now, and commented out of /etc/fstab so it stays off after a reboot.
# A failing swapon is not "no swap" (set -e does not see inside a test): without an answer prepare stops.
active_swap=$(swapon --show --noheadings) || die "cannot list active swap (swapon --show failed): the kubelet needs swap off"
if [ -n "$active_swap" ]; then
  swapoff -a
  log "swap turned off"
fi
swap_line='^[[:space:]]*[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]'
if grep -Eq "$swap_line" /etc/fstab; then
  sed -E -i.homelab.bak "s/($swap_line.*)$/# disabled by homelab (kubelet needs swap off): \\1/" /etc/fstab
  log "swap commented out of /etc/fstab (backup: /etc/fstab.homelab.bak)"
fi

# 2. Kernel modules for containerd's overlay snapshotter and bridged pod traffic.
printf 'overlay\\nbr_netfilter\\n' | write_if_changed /etc/modules-load.d/kubernetes.conf 0644 \\
  || [ "$?" -eq 1 ] || die "could not write /etc/modules-load.d/kubernetes.conf"
for module in overlay br_netfilter; do
  # Built-in modules appear in /sys/module but never in /proc/modules.
  if ! grep -q "^$module " /proc/modules && [ ! -d "/sys/module/$module" ]; then
    modprobe "$module"
    log "loaded $module"
  fi
done

# 3. Sysctls, persisted and applied only when a live value differs.
printf 'net.ipv4.ip_forward = 1\\nnet.bridge.bridge-nf-call-iptables = 1\\nnet.bridge.bridge-nf-call-ip6tables = 1\\n' \\
  | write_if_changed /etc/sysctl.d/99-kubernetes.conf 0644 \\
  || [ "$?" -eq 1 ] || die "could not write /etc/sysctl.d/99-kubernetes.conf"
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
  if [ "$(sysctl -n "$key")" != 1 ]; then
    sysctl -q --system
    log "applied sysctls"
    break
  fi
done

# 4. The prerequisites of the Kubernetes packages.
missing=()
for pkg in ca-certificates curl gpg; do
  is_installed "$pkg" || missing+=("$pkg")
done
# Docker's containerd.io provides containerd too; installing Debian's package next to it would remove Docker's.
is_installed containerd || is_installed containerd.io || missing+=(containerd)
if [ "\${#missing[@]}" -gt 0 ]; then
  apt_update
  apt-get install -y -q "\${missing[@]}"
  log "installed \${missing[*]}"
fi

# 5. kubelet, kubeadm and kubectl at exactly K8S_VERSION, held so unattended upgrades leave them alone. A node that
# already runs Kubernetes at another version keeps its packages and repository: moving them is the upgrade steps' job
# (kubeadm upgrade, node by node, with drains), which also refuse downgrades and skipped minors.
running=""
if [ -f /etc/kubernetes/kubelet.conf ]; then
  for pkg in kubelet kubeadm kubectl; do
    if ! at_target "$pkg"; then running=$(installed_version kubeadm); fi
  done
fi
if [ -n "$running" ]; then
  log "this node runs Kubernetes \${running%%-*}; its packages stay until the upgrade steps move it to $K8S_VERSION"
else
  ensure_k8s_repo
  install_k8s_packages kubelet kubeadm kubectl
fi

# 6. containerd: systemd cgroup driver and the pause image the installed kubeadm expects (on a node waiting for its
# upgrade, the running version's; the upgrade step runs this script again once the packages moved).
kubeadm_version=$(kubeadm version -o short)
pause_image=$(kubeadm config images list --kubernetes-version "$kubeadm_version" 2>/dev/null | grep '/pause:' | head -n 1)
[ -n "$pause_image" ] || die "kubeadm did not name a pause image for $kubeadm_version"
containerd_config=$(containerd config default \\
  | sed -E -e 's/^([[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*)false/\\1true/' \\
           -e "s#^([[:space:]]*sandbox_image[[:space:]]*=[[:space:]]*).*#\\\\1\\"$pause_image\\"#" \\
           -e "s#^([[:space:]]*sandbox[[:space:]]*=[[:space:]]*).*#\\\\1'$pause_image'#")
if ! grep -q 'SystemdCgroup' <<<"$containerd_config"; then
  # containerd 2.0 and 2.1 leave SystemdCgroup out of \`config default\` (containerd#12101): add it to runc's options.
  containerd_config=$(awk '{ print }
    /^[[:space:]]*\\[plugins\\..*runtimes\\.runc\\.options\\][[:space:]]*$/ {
      match($0, /^[[:space:]]*/); printf "%s  SystemdCgroup = true\\n", substr($0, 1, RLENGTH)
    }' <<<"$containerd_config")
fi
grep -q 'SystemdCgroup = true' <<<"$containerd_config" \\
  || die "could not enable SystemdCgroup in containerd's default config: unknown containerd config format"
# A config containerd has not loaded yet is remembered until it restarts, so a restart that failed (or never ran
# because the script stopped) is retried by the next run even though the file no longer changes.
restart_pending=/var/lib/homelab/containerd-restart-pending
if ! cmp -s <(printf '%s\\n' "$containerd_config") /etc/containerd/config.toml; then
  install -d -m 0755 "$(dirname "$restart_pending")"
  : >"$restart_pending"
fi
printf '%s\\n' "$containerd_config" | write_if_changed /etc/containerd/config.toml 0644 \\
  || [ "$?" -eq 1 ] || die "could not write /etc/containerd/config.toml"
if [ "$(systemctl is-enabled containerd 2>/dev/null || true)" != enabled ]; then
  systemctl enable containerd
fi
# A pending config restarts containerd whatever is-active says (restart also starts a stopped unit): a failed
# is-active must not pass for "stopped" and let a start drop the marker while the old config stays loaded.
if [ -e "$restart_pending" ]; then
  systemctl restart containerd
  rm -f "$restart_pending"
  log "restarted containerd"
elif [ "$(systemctl is-active containerd 2>/dev/null || true)" != active ]; then
  systemctl start containerd
fi
if [ "$(systemctl is-enabled kubelet 2>/dev/null || true)" != enabled ]; then
  systemctl enable kubelet
fi
log "host prepared for Kubernetes $K8S_VERSION"
`;
}

/** Shell: `kube_proxy_objects` prints which kube-proxy objects (DaemonSet, ConfigMap) kube-system holds. */
export const KUBE_PROXY_GUARD = `
# kube_proxy_objects: the kinds of kube-proxy object found in kube-system (DaemonSet, ConfigMap), space-separated.
kube_proxy_objects() {
  local found=() kind object
  for kind in DaemonSet ConfigMap; do
    # A failing kubectl is not "absent": without an answer the guard refuses.
    object=$(kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get "\${kind,,}" kube-proxy --ignore-not-found -o name) \\
      || die "cannot ask the API server whether a kube-proxy $kind exists (kubectl failed above): is the control plane up?"
    [ -n "$object" ] && found+=("$kind")
  done
  printf '%s' "\${found[*]}"
}
# Refuses a cluster that runs kube-proxy: Cilium's kube-proxy replacement must not share nodes with it.
refuse_kube_proxy() {
  local found
  found=$(kube_proxy_objects)
  if [ -n "$found" ]; then
    die "kube-proxy $found found in kube-system: this cluster runs kube-proxy, which Cilium's kube-proxy replacement must replace. Remove it (kubectl -n kube-system delete daemonset,configmap kube-proxy) and its rules (iptables-save | grep -v KUBE | iptables-restore) on every node, then re-run"
  fi
}
`;

/** How one kubeadm membership step (`init` or `join`) runs exactly once. */
interface KubeadmOnce {
    /** The kubeadm subcommand. */
    readonly verb: "init" | "join";
    /** Staged config file name. */
    readonly config: string;
    /** Name suffix of the resource that writes the config (for the recovery hint). */
    readonly configStep: string;
    /** File kubeadm writes only when the step succeeded; its presence skips the step. */
    readonly doneMarker: string;
    /** Shell run after the step, on the skipped path too (a check that must hold either way). */
    readonly afterwards?: string;
    /** Shell run on the skipped path instead of `afterwards` (drift checks, reconciling what may change later). */
    readonly whenDone?: string;
    /** Shell run right before kubeadm, once the config validated (e.g. writing kube-vip's static pod). */
    readonly before?: string;
    /** Flags added after `--config FILE` (`--upload-certs`). */
    readonly flags?: readonly string[];
    /** Extra script variables. */
    readonly vars?: Readonly<Record<string, string>>;
    /** Shell functions `afterwards` calls. */
    readonly helpers?: string;
    /** Log line when the step ran. */
    readonly success: string;
    /** Log line when the marker skips the step. */
    readonly skipped: string;
    /** Appended to the failure message. */
    readonly failureHint?: string;
}

/**
 * `kubeadm <verb> --config` guarded on its marker file; a failed attempt is rolled back with `kubeadm reset -f`, so
 * the next run starts clean instead of finding a half-made node that the guard would take for a finished one.
 */
function kubeadmOnceScript(step: KubeadmOnce): string {
    const afterwards = step.afterwards ? `${step.afterwards}
` : "";
    return `${header(step.verb, {
        CONFIG: `${STAGING_DIR}/${step.config}`,
        DONE_MARKER: step.doneMarker,
        VERB: step.verb,
        CONFIG_STEP: step.configStep,
        ...step.vars,
    })}${RUN_KUBEADM}${KUBEADM_STATE}${step.helpers ?? ""}
if [ -f "$DONE_MARKER" ]; then
  log "${step.skipped} ($DONE_MARKER exists)"
${(step.whenDone ? `${step.whenDone}\n` : afterwards).replace(/^(?=.)/gm, "  ")}  exit 0
fi
if has_kubeadm_state; then
  # Something half-made or foreign is here (an interrupted run, a hand-made cluster). Rolling it back could wipe
  # a live node, so stop and let a person look.
  die "found kubeadm state on this host but not \${DONE_MARKER}: a previous ${'${VERB}'} was interrupted or the host belongs to another cluster; inspect it, run 'kubeadm reset -f' by hand if it is disposable, then pulumi up again"
fi
[ -f "$CONFIG" ] || die "$CONFIG is missing (was ~/${STAGING_DIR} removed?): re-create it with pulumi up --replace on this node's ${'${CONFIG_STEP}'} resource"
run_kubeadm config-validate config validate --config "$CONFIG" || die "kubeadm rejected $CONFIG"
${step.before ? `${step.before}
` : ""}if ! run_kubeadm ${step.verb} ${step.verb} --config "$CONFIG"${(step.flags ?? []).map((f) => ` ${f}`).join("")}; then
  log "kubeadm ${step.verb} failed; rolling back with kubeadm reset so the next run starts clean"
  run_kubeadm ${step.verb}-rollback reset -f || true
  die "kubeadm ${step.verb} failed (full log: ${HOST_LOG_DIR}/${step.verb}.log)${step.failureHint ?? ""}"
fi
${afterwards}log "${step.success}"
`;
}

const CONTROL_PLANE_TAINT_SHELL = `
# The control-plane taint follows schedulableControlPlane (with "auto", adding the first worker flips it).
reconcile_control_plane_taint() {
  local key=node-role.kubernetes.io/control-plane effect
  effect=$(kubectl --kubeconfig /etc/kubernetes/admin.conf get node "$NODE" -o "jsonpath={.spec.taints[?(@.key==\\"$key\\")].effect}") \\
    || die "cannot read node $NODE's taints (kubectl failed above)"
  if [ "$SCHEDULABLE" = true ] && [ -n "$effect" ]; then
    kubectl --kubeconfig /etc/kubernetes/admin.conf taint node "$NODE" "$key-" >/dev/null
    log "removed the control-plane taint from $NODE (schedulableControlPlane)"
  elif [ "$SCHEDULABLE" = false ] && [ -z "$effect" ]; then
    kubectl --kubeconfig /etc/kubernetes/admin.conf taint node "$NODE" "$key:NoSchedule" >/dev/null
    log "tainted $NODE as a control plane (schedulableControlPlane is false)"
  fi
}
`;

/** Shell: `yaml_value KEY < yaml` prints the first scalar value of KEY. */
export const YAML_VALUE = `
# yaml_value KEY < yaml: the first scalar value of KEY.
yaml_value() {
  sed -nE "s/^[[:space:]]*$1:[[:space:]]*[\\"']?([^\\"']*)[\\"']?[[:space:]]*$/\\1/p" | head -n 1
}
`;

const CLUSTER_DRIFT = `${YAML_VALUE}
# kubeadm applies the cluster-wide settings only at init. Refuse a stack config that now says otherwise, instead of
# reporting success while the cluster keeps its old values (and Cilium would be configured for the new ones).
refuse_cluster_drift() {
  local current key want have drift=()
  [ -f "$CONFIG" ] || die "$CONFIG is missing (was ~/${STAGING_DIR} removed?): re-create it with pulumi up --replace on this node's kubeadm-config resource"
  current=$(kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}') \\
    || die "cannot read the kubeadm-config ConfigMap to compare it with the stack config (kubectl failed above)"
  for key in clusterName controlPlaneEndpoint podSubnet serviceSubnet; do
    want=$(yaml_value "$key" <"$CONFIG")
    have=$(yaml_value "$key" <<<"$current")
    if [ "$want" != "$have" ]; then
      drift+=("$key is '$have' in the running cluster but '$want' in the stack config")
    fi
  done
  if [ "\${#drift[@]}" -gt 0 ]; then
    printf '[homelab init] ERROR: %s\\n' "\${drift[@]}" >&2
    die "kubeadm applies these only when a cluster is created: set them back in the stack config (changing them means rebuilding the cluster)"
  fi
}

`;

/**
 * Shell that keeps kube-vip's static pod in place: `kube_vip_manifest super-admin|admin` writes the manifest that
 * mounts that kubeconfig, changing nothing when it is already there (see kube-vip.ts for why init needs
 * super-admin.conf). Empty without kube-vip.
 */
function kubeVipHelpers(kubeVip: KubeVipSettings | undefined, bootstrap: boolean): { vars: Record<string, string>; helpers: string } {
    if (!kubeVip) {
        return { vars: {}, helpers: "" };
    }
    return {
        vars: {
            KUBE_VIP_MANIFEST,
            KUBE_VIP_ADMIN: kubeVipManifest(kubeVip, "admin.conf"),
            ...(bootstrap ? { KUBE_VIP_SUPER_ADMIN: kubeVipManifest(kubeVip, "super-admin.conf") } : {}),
        },
        helpers: `${WRITE_IF_CHANGED}
# kube_vip_manifest ${bootstrap ? "super-admin|admin" : "admin"}: kube-vip's static pod, mounting that kubeconfig.
kube_vip_manifest() {
  local manifest=$KUBE_VIP_ADMIN
${bootstrap ? '  [ "$1" = admin ] || manifest=$KUBE_VIP_SUPER_ADMIN\n' : ""}  printf '%s' "$manifest" | write_if_changed "$KUBE_VIP_MANIFEST" 0600 \\
    || [ "$?" -eq 1 ] || die "could not write $KUBE_VIP_MANIFEST"
}
`,
    };
}

/**
 * Seconds init gives the kubelet to restart kube-vip after its manifest changed: the kubelet watches the manifests
 * folder (inotify) and lists it again every `fileCheckFrequency` (20 s by default, KubeletConfiguration), then
 * replaces the pod; the new kube-vip renews the Lease it held under the same identity (the node name).
 */
export const KUBE_VIP_SETTLE_SECONDS = 25;

/**
 * Shell (needs kubeVipHelpers' and API_RETRY's): `switch_kube_vip_to_admin` moves the primary's kube-vip from
 * super-admin.conf to admin.conf. When that changed the manifest, the VIP is away for a moment while the kubelet
 * restarts kube-vip, so it waits until the restart is due and the API server answers through the VIP again: every
 * later step (joins, the Helm releases through the Kubernetes provider) talks to the cluster through it.
 */
const KUBE_VIP_SWITCH = `
switch_kube_vip_to_admin() {
  local status=0
  printf '%s' "$KUBE_VIP_ADMIN" | write_if_changed "$KUBE_VIP_MANIFEST" 0600 || status=$?
  case $status in
    0)
      log "kube-vip restarts on admin.conf: waiting \${KUBE_VIP_SETTLE}s for the kubelet to restart it, then for the API server at $ENDPOINT"
      sleep "$KUBE_VIP_SETTLE"
      wait_for_api
      ;;
    1) ;;
    *) die "could not write $KUBE_VIP_MANIFEST" ;;
  esac
}
`;

/** Inputs of the init step. */
export interface InitScriptInput {
    /** Kubernetes node name of the control plane. */
    readonly nodeName: string;
    /** Whether ordinary pods may run on it (reconciled on later runs). */
    readonly schedulableControlPlane: boolean;
    /** `host:port` of the API server; init refuses to run when something already answers there. */
    readonly controlPlaneEndpoint: string;
    /** kube-vip, when the program manages the endpoint's virtual IP. */
    readonly kubeVip?: KubeVipSettings;
}

const ENDPOINT_GUARD = `
# Refuses to create a cluster where one already answers. The first control plane in \`nodes\` runs kubeadm init; when
# another node took its place (a control plane inserted before it), init on this fresh host would start a second
# cluster behind the same endpoint.
refuse_serving_endpoint() {
  local code
  code=$(curl -ksS -o /dev/null -w '%{http_code}' --max-time 5 "https://$ENDPOINT/version" 2>/dev/null) || true
  if [ -n "$code" ] && [ "$code" != 000 ]; then
    die "an API server already answers at $ENDPOINT (HTTP $code), but this host was never initialised: another control plane created this cluster. The first control plane in nodes runs kubeadm init, so move the node that did back to the front of nodes (new control planes go after it)"
  fi
}
`;

/**
 * init: \`kubeadm init --upload-certs\` from the staged config, only when \`/etc/kubernetes/admin.conf\` is absent, and
 * only when nothing answers at the endpoint yet. With kube-vip its static pod (on super-admin.conf) goes in first and
 * is switched to admin.conf once init has finished. On later runs it refuses cluster-wide settings that changed since
 * init, and applies \`schedulableControlPlane\` to the taint.
 */
export function initScript(input: InitScriptInput): string {
    const vip = kubeVipHelpers(input.kubeVip, true);
    const switchToAdmin = input.kubeVip ? "\nswitch_kube_vip_to_admin" : "";
    return kubeadmOnceScript({
        verb: "init",
        config: "kubeadm-init.yaml",
        configStep: "kubeadm-config",
        doneMarker: "/etc/kubernetes/admin.conf",
        vars: {
            NODE: input.nodeName,
            SCHEDULABLE: String(input.schedulableControlPlane),
            ENDPOINT: input.controlPlaneEndpoint,
            ...vip.vars,
            ...(input.kubeVip ? { ...API_WAIT_VAR, KUBE_VIP_SETTLE: String(KUBE_VIP_SETTLE_SECONDS) } : {}),
        },
        // Read-only checks first: nothing changes on a cluster that is refused.
        whenDone: `refuse_cluster_drift\nrefuse_kube_proxy${switchToAdmin}\nreconcile_control_plane_taint`,
        before: `refuse_serving_endpoint${input.kubeVip ? "\nkube_vip_manifest super-admin" : ""}`,
        // The control-plane certificates go into the kubeadm-certs Secret, encrypted with the config's certificateKey,
        // for control planes that join later (kubeadm deletes them after two hours; joins upload them again).
        flags: ["--upload-certs"],
        afterwards: `refuse_kube_proxy${switchToAdmin}`,
        helpers: `${KUBE_PROXY_GUARD}${CLUSTER_DRIFT}${CONTROL_PLANE_TAINT_SHELL}${ENDPOINT_GUARD}${vip.helpers}${input.kubeVip ? `${API_RETRY}${KUBE_VIP_SWITCH}` : ""}`,
        success: "control plane initialised without kube-proxy",
        skipped: "control plane already initialised",
    });
}

/** Inputs of the credentials reader. */
export interface CredentialsInput {
    /** `host:port` the admin kubeconfig must point at. */
    readonly controlPlaneEndpoint: string;
}

/**
 * credentials: `kubeconfig` prints the admin kubeconfig (a secret: the Command marks stdout secret and logs nothing),
 * `ca-cert-hash` prints `sha256:<hex>` of the cluster CA's public key, as in the kubeadm join docs.
 */
export function credentialsScript(input: CredentialsInput): string {
    return `${header("credentials", { ENDPOINT: input.controlPlaneEndpoint })}
case "\${1:-}" in
  kubeconfig)
    [ -f /etc/kubernetes/admin.conf ] || die "/etc/kubernetes/admin.conf is missing: the control plane is not initialised"
    grep -q "server: https://$ENDPOINT$" /etc/kubernetes/admin.conf \\
      || die "admin.conf does not point at https://$ENDPOINT: controlPlaneEndpoint changed after kubeadm init; restore it"
    cat /etc/kubernetes/admin.conf
    ;;
  ca-cert-hash)
    [ -f /etc/kubernetes/pki/ca.crt ] || die "/etc/kubernetes/pki/ca.crt is missing: the control plane is not initialised"
    hash=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex)
    printf 'sha256:%s\\n' "\${hash##* }"
    ;;
  *)
    die "usage: credentials.sh kubeconfig|ca-cert-hash"
    ;;
esac
`;
}

/**
 * ensure-token (runs on the control plane right before a worker joins): reads the bootstrap token, the joining
 * node's name and machine-id from stdin; refuses a machine-id another node already has; creates the token with a
 * short TTL unless it is already valid. Does nothing when the node is already a Ready member.
 */
export function ensureTokenScript(): string {
    return `${header("ensure-token", { TTL: JOIN_TOKEN_TTL, ...API_WAIT_VAR })}${API_RETRY}${NODE_JOINED}
token="" node="" machine_id=""
IFS= read -r token || true
IFS= read -r node || true
IFS= read -r machine_id || true
[[ $token =~ ^[a-z0-9]{6}\\.[a-z0-9]{16}$ ]] || die "stdin did not start with a bootstrap token"
[ -n "$node" ] || die "stdin did not name the joining node"
wait_for_api
if joined "$node"; then
  log "$node is already a member of the cluster; no token needed"
  exit 0
fi
nodes=$(kube get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeInfo.machineID}{"\\n"}{end}') \\
  || die "cannot list the cluster's nodes to rule out a cloned machine-id (kubectl failed above)"
while read -r other other_id; do
  if [ -n "$other" ] && [ "$other" != "$node" ] && [ "$other_id" = "$machine_id" ]; then
    die "node $other already has machine-id $machine_id, so $node is a clone of it: on $node run 'rm /etc/machine-id && systemd-machine-id-setup' and reboot"
  fi
done <<<"$nodes"

token_id=\${token%%.*}
token_state() {
  with_api kubeadm token list 2>/dev/null | awk -v id="$token_id." 'index($1, id) == 1 { print ($2 == "<invalid>" ? "expired" : "valid"); exit }'
}
case "$(token_state)" in
  valid)
    log "bootstrap token $token_id is valid"
    exit 0
    ;;
  expired)
    with_api kubeadm token delete "$token_id" >/dev/null
    ;;
esac
# kubeadm prints the token: its output goes nowhere.
create_token() { kubeadm token create "$token" --ttl "$TTL" --description "homelab: join $node" >/dev/null 2>&1; }
if ! with_api create_token; then
  # Workers join in parallel: another join may have created the same token a moment ago.
  [ "$(token_state)" = valid ] || die "kubeadm token create failed on the control plane"
fi
log "bootstrap token $token_id minted for $node (ttl $TTL)"
`;
}

/** Inputs of the join step. */
export interface JoinScriptInput {
    /** Joining as a control plane: its node name, taint policy and kube-vip. */
    readonly controlPlane?: {
        /** Kubernetes node name. */
        readonly nodeName: string;
        /** Whether ordinary pods may run on it (reconciled on later runs). */
        readonly schedulable: boolean;
        /** kube-vip, when the program manages the endpoint's virtual IP. */
        readonly kubeVip?: KubeVipSettings;
    };
}

/**
 * join: \`kubeadm join\` from the staged JoinConfiguration, only when \`/etc/kubernetes/kubelet.conf\` is absent. A
 * control plane joins with the JoinConfiguration's \`controlPlane\` section (the certificates the primary uploaded right
 * before), kube-vip's static pod going in first on admin.conf, and follows \`schedulableControlPlane\` on later runs.
 */
export function joinScript(input: JoinScriptInput = {}): string {
    const cp = input.controlPlane;
    const vip = kubeVipHelpers(cp?.kubeVip, false);
    const kubeVip = cp?.kubeVip ? "kube_vip_manifest admin" : "";
    return kubeadmOnceScript({
        verb: "join",
        config: "kubeadm-join.yaml",
        configStep: "join-config",
        doneMarker: "/etc/kubernetes/kubelet.conf",
        success: cp ? "joined the cluster as a control plane" : "joined the cluster",
        skipped: "already joined",
        ...(cp
            ? {
                  vars: { NODE: cp.nodeName, SCHEDULABLE: String(cp.schedulable), ...vip.vars },
                  ...(kubeVip ? { before: kubeVip } : {}),
                  whenDone: [kubeVip, "reconcile_control_plane_taint"].filter(Boolean).join("\n"),
                  helpers: `${CONTROL_PLANE_TAINT_SHELL}${vip.helpers}`,
              }
            : {}),
        // The join-token step ran before this attempt; if the attempt is retried after its TTL, the token is gone.
        failureHint: cp
            ? `; if it failed on the bootstrap token (tokens live ${JOIN_TOKEN_TTL}) or the uploaded certificates ` +
              "(kubeadm deletes them after 2 hours), upload and mint fresh ones with pulumi up --replace on this node's " +
              "upload-certs and join-token resources"
            : `; if it failed on the bootstrap token (tokens live ${JOIN_TOKEN_TTL}), mint a fresh one with ` +
              "pulumi up --replace on this node's join-token resource",
    });
}

/**
 * upload-certs (runs on the primary control plane right before another control plane joins): uploads the
 * control-plane certificates again (\`kubeadm init phase upload-certs\`), because kubeadm deletes the uploaded ones
 * two hours after init. The certificate key comes from the staged init config (written through secret stdin), never
 * from a command line. stdin names the joining node; nothing happens when it is already a Ready member.
 */
export function uploadCertsScript(): string {
    return `${header("upload-certs", { CONFIG: `${STAGING_DIR}/kubeadm-init.yaml`, ...API_WAIT_VAR })}${RUN_KUBEADM}${API_RETRY}${NODE_JOINED}
node=""
IFS= read -r node || true
[ -n "$node" ] || die "stdin did not name the joining control plane"
[ -f /etc/kubernetes/admin.conf ] || die "/etc/kubernetes/admin.conf is missing: this control plane is not initialised"
wait_for_api
if joined "$node"; then
  log "$node is already a member of the cluster; no certificates needed"
  exit 0
fi
[ -f "$CONFIG" ] || die "$CONFIG is missing (was ~/${STAGING_DIR} removed?): re-create it with pulumi up --replace on this node's kubeadm-config resource"
with_api run_kubeadm upload-certs init phase upload-certs --upload-certs --skip-certificate-key-print --config "$CONFIG" \\
  || die "kubeadm init phase upload-certs failed (full log: ${HOST_LOG_DIR}/upload-certs.log)"
log "control-plane certificates uploaded for $node (kubeadm deletes them after 2 hours)"
`;
}

/** Where the reset keeps kube-vip's address between reading it from the manifest and removing it from the interfaces. */
export const VIP_FILE = "/var/lib/homelab/kube-vip-address";

/** Where the host records which Kubernetes node it currently is (written by membership, read by reset). */
export const MEMBER_FILE = "/var/lib/homelab/member";

/** Inputs of the membership marker and the reset. */
export interface MembershipInput {
    /** Kubernetes node name this resource manages. */
    readonly nodeName: string;
}

/**
 * membership (the `create` of the node's membership resource): records on the host which node it is. A node renamed
 * in config gets new resources that are created before the old ones are deleted; the old reset then sees that the
 * host belongs to the new name and leaves it alone.
 */
export function membershipScript(input: MembershipInput): string {
    return `${header("membership", { NODE: input.nodeName, MEMBER_FILE })}
if [ "$(cat "$MEMBER_FILE" 2>/dev/null || true)" != "$NODE" ]; then
  install -d -m 0755 "$(dirname "$MEMBER_FILE")"
  printf '%s\\n' "$NODE" >"$MEMBER_FILE"
  log "this host is node $NODE"
fi
`;
}

/** How long a node's drain may take before its removal stops (a PodDisruptionBudget can block it forever). */
export const DRAIN_TIMEOUT = "5m";

/** Inputs of the leave step. */
export interface LeaveInput {
    /** Kubernetes node name leaving the cluster. */
    readonly nodeName: string;
    /** A control plane also leaves etcd. */
    readonly controlPlane: boolean;
    /** Bound on `kubectl drain` (Go duration). */
    readonly drainTimeout?: string;
}

/**
 * leave (the `delete` of the node's leave resource, run on the primary control plane, which has the admin kubeconfig
 * the node itself lacks): drain the node (bounded), remove a control plane's etcd member, delete the Node. Runs before
 * the node's reset (its membership resource), when the node leaves the stack or the stack is destroyed. Each step is
 * skipped when already done, so a re-run after a failure finishes the job.
 *
 * The etcd member is removed here, before \`kubectl delete node\`: \`kubeadm reset\`'s remove-etcd-member phase reads
 * this node's registration from its Node object, and with the Node gone it only warns ("failed to get corresponding
 * node") and skips the removal (kubeadm cmd/kubeadm/app/util/config/cluster.go, GetNodeRegistration), leaving a dead
 * member that costs etcd its quorum margin.
 */
export function leaveScript(input: LeaveInput): string {
    const etcd = input.controlPlane
        ? `
# etcdctl inside a running etcd static pod on another control plane (kubeadm's images ship it); the member is named
# after its node (kubeadm: etcd --name=<node>).
etcdctl_on() {
  kube -n kube-system exec "$1" -- etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \\
    --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key "\${@:2}"
}
remove_etcd_member() {
  local pods pod members id
  pods=$(kube -n kube-system get pods -l component=etcd -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\\n"}{end}') \\
    || die "cannot list the etcd pods (kubectl failed above)"
  pod=$(awk -v node="$NODE" '$2 != node { print $1; exit }' <<<"$pods")
  if [ -z "$pod" ]; then
    log "no etcd member runs besides $NODE's: its etcd is the whole cluster's and goes with it"
    return 0
  fi
  members=$(etcdctl_on "$pod" member list) || die "cannot list the etcd members through $pod (kubectl exec failed above)"
  id=$(awk -F', ' -v node="$NODE" '$3 == node { print $1; exit }' <<<"$members")
  if [ -z "$id" ]; then
    log "$NODE has no etcd member"
    return 0
  fi
  etcdctl_on "$pod" member remove "$id" >&2 || die "could not remove $NODE's etcd member $id through $pod"
  log "removed $NODE's etcd member $id"
}
`
        : "";
    return `${header("leave", { NODE: input.nodeName, DRAIN_TIMEOUT: input.drainTimeout ?? DRAIN_TIMEOUT, ...API_WAIT_VAR })}${API_RETRY}${etcd}
if [ ! -f /etc/kubernetes/admin.conf ]; then
  log "this control plane has no /etc/kubernetes/admin.conf (the cluster is gone): nothing to drain or delete for $NODE"
  exit 0
fi
wait_for_api
member=$(kube get node "$NODE" --ignore-not-found -o name) || die "cannot ask the API server about node $NODE (kubectl failed above); fix the control plane and run pulumi again"
if [ -n "$member" ]; then
  kube drain "$NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout="$DRAIN_TIMEOUT" >&2 \\
    || die "draining $NODE did not finish within $DRAIN_TIMEOUT (a PodDisruptionBudget may block an eviction: kubectl get pdb -A); free it and run pulumi again"
  log "drained $NODE"
fi
${input.controlPlane ? "remove_etcd_member\n" : ""}if [ -n "$member" ]; then
  kube delete node "$NODE" --ignore-not-found >&2 || die "could not delete node $NODE (kubectl failed above)"
  log "deleted node $NODE"
fi
`;
}

/**
 * reset (the \`delete\` of the node's membership resource): \`kubeadm reset -f\`, then what it leaves behind (its own
 * output says so: CNI configuration, iptables): CNI config, kube-vip's static pod, the iptables chains Cilium (CILIUM_*)
 * and the kubelet (KUBE-*) created, Cilium's links and pinned BPF state (what \`cilium-dbg post-uninstall-cleanup\`
 * removes: https://docs.cilium.io/en/stable/cmdref/cilium-dbg_post-uninstall-cleanup/). kube-proxy never ran, so
 * there are no kube-proxy rules. Each step only when there is something to remove, and only while the host still is
 * this node. Packages stay: the host can be initialised or joined again. Runs only when the node leaves the stack or
 * the stack is destroyed.
 */
export function resetScript(input?: MembershipInput): string {
    const owner = input
        ? `
owner=$(cat "$MEMBER_FILE" 2>/dev/null || true)
if [ -n "$owner" ] && [ "$owner" != "$NODE" ]; then
  log "this host is node $owner now (renamed in config); not resetting it for $NODE"
  exit 0
fi
`
        : "";
    const snapshots = {
        SNAPSHOT_TOOL,
        SNAPSHOT_TIMER: `${SNAPSHOT_UNIT}.timer`,
        SNAPSHOT_TIMER_FILE: `/etc/systemd/system/${SNAPSHOT_UNIT}.timer`,
        SNAPSHOT_SERVICE_FILE: `/etc/systemd/system/${SNAPSHOT_UNIT}.service`,
    };
    return `${header("reset", input ? { NODE: input.nodeName, MEMBER_FILE, VIP_FILE, ...snapshots } : { VIP_FILE, ...snapshots })}${KUBEADM_STATE}${owner}
# kube-vip's virtual IP, read from its static pod before kubeadm reset empties the manifests folder, and kept in
# VIP_FILE until it is off the interfaces (so a re-run after a failure still knows it). Read from the host, not the
# stack config: this script is the delete of a resource whose inputs must not follow config changes.
if [ -f ${KUBE_VIP_MANIFEST} ]; then
  vip=$(awk '/^[[:space:]]*- name: address[[:space:]]*$/ { getline; sub(/^[[:space:]]*value:[[:space:]]*/, ""); gsub(/["\\047[:space:]]/, ""); print; exit }' ${KUBE_VIP_MANIFEST})
  if [ -n "$vip" ] && [ "$(cat "$VIP_FILE" 2>/dev/null || true)" != "$vip" ]; then
    install -d -m 0755 "$(dirname "$VIP_FILE")"
    printf '%s\n' "$vip" >"$VIP_FILE"
  fi
fi
if command -v kubeadm >/dev/null 2>&1 && has_kubeadm_state; then
  kubeadm reset -f >&2 || die "kubeadm reset failed"
  log "kubeadm reset done"
fi
if [ -e ${KUBE_VIP_MANIFEST} ]; then
  rm -f ${KUBE_VIP_MANIFEST}
  log "removed kube-vip's static pod"
fi
# The etcd snapshot tool and its timer (on the first control plane): with the cluster gone, every tick would fail.
# Snapshots already taken stay where they are.
if [ -e "$SNAPSHOT_TIMER_FILE" ] || [ -e "$SNAPSHOT_SERVICE_FILE" ]; then
  systemctl disable --now "$SNAPSHOT_TIMER" >&2 || die "could not stop $SNAPSHOT_TIMER"
  rm -f "$SNAPSHOT_TIMER_FILE" "$SNAPSHOT_SERVICE_FILE"
  systemctl daemon-reload
  log "removed the periodic etcd snapshot ($SNAPSHOT_TIMER)"
fi
if [ -e "$SNAPSHOT_TOOL" ]; then
  rm -f "$SNAPSHOT_TOOL"
  log "removed $SNAPSHOT_TOOL"
fi
if [ -d /etc/cni/net.d ] && [ -n "$(ls -A /etc/cni/net.d)" ]; then
  find /etc/cni/net.d -mindepth 1 -delete
  log "removed CNI configuration from /etc/cni/net.d"
fi
for family in iptables ip6tables; do
  command -v "$family-save" >/dev/null 2>&1 || continue
  rules=$("$family-save") || die "$family-save failed"
  if grep -qE 'CILIUM_|KUBE-' <<<"$rules"; then
    # iptables-restore replaces each table it is given: the chains left out of it, and the rules jumping to them, go.
    grep -vE 'CILIUM_|KUBE-' <<<"$rules" | "$family-restore" || die "$family-restore failed"
    log "removed the CILIUM_* and KUBE-* $family chains"
  fi
done
for link in cilium_host cilium_net cilium_vxlan cilium_geneve; do
  if ip link show "$link" >/dev/null 2>&1; then
    ip link delete "$link"
    log "removed link $link"
  fi
done
for path in /sys/fs/bpf/cilium /sys/fs/bpf/tc/globals/cilium_* /run/cilium; do
  if [ -e "$path" ]; then
    rm -rf "$path"
    log "removed $path"
  fi
done
# kube-vip killed by kubeadm reset leaves the VIP on the interface (kube-vip#824, #1413: no cleanup on SIGTERM; #996):
# this host would keep answering ARP for the API server's address. No kube-vip runs here any more: every copy goes.
vip=$(cat "$VIP_FILE" 2>/dev/null || true)
if [ -n "$vip" ]; then
  addrs=$(ip -o -4 addr show to "$vip/32") || die "could not list the interfaces holding kube-vip's address $vip"
  while read -r _ dev _; do
    [ -n "$dev" ] || continue
    ip addr del "$vip/32" dev "$dev" || die "could not remove kube-vip's address $vip from $dev"
    log "removed kube-vip's address $vip from $dev"
  done <<<"$addrs"
  rm -f "$VIP_FILE"
fi
${input ? `rm -f "$MEMBER_FILE"
` : ""}`;
}
