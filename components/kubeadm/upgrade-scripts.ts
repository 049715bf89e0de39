/**
 * Bash scripts of a Kubernetes upgrade (a `kubernetesVersion` change of one minor or of patches), one pure builder per
 * step. The order the program runs them in (components/kubeadm/upgrade.ts):
 *
 *   upgrade-snapshot (first control plane: version guard, pre-upgrade etcd snapshot)
 *   → upgrade-node first (kubeadm upgrade plan/apply) → upgrade-node control-plane, one at a time (kubeadm upgrade node)
 *   → per worker batch: upgrade-worker drain (on the control plane) → upgrade-node worker → upgrade-worker uncordon
 *   → upgrade-verify (no kube-proxy, every node at the version)
 *
 * Every step is a no-op (no mutating call, no drain) on a node that already runs the target version, which is also the
 * state right after a fresh install; a step interrupted half-way finishes on the next run.
 *
 * kube-proxy stays away three ways: from 1.32 on `kubeadm upgrade apply` and `kubeadm upgrade node` take
 * `--skip-phases=addon/kube-proxy` (kubernetes#126032 added apply phases in 1.32, kubernetes#127242 the addon phase
 * of upgrade node); before any apply the kube-proxy ConfigMap is asserted absent, and kubeadm (since 1.19,
 * kubernetes#89593) does not upgrade kube-proxy when its ConfigMap is missing; `proxy.disabled: true` is in the stored
 * ClusterConfiguration (honoured on upgrade since kubernetes#129418, kubeadm#3137). After the apply and at the end the
 * DaemonSet and ConfigMap are asserted absent again, because kubeadm re-created kube-proxy on upgrades before
 * (kubernetes#84584, kubeadm#1318, kubeadm#3137).
 */
import { scriptHeader as header, STAGING_DIR } from "../remote/script";
import { SNAPSHOT_TOOL } from "../etcd/scripts";
// DRAIN_TIMEOUT: shared with the leave step; in an upgrade the node stays cordoned when it runs out, a re-run drains again.
import {
    API_RETRY,
    API_WAIT_VAR,
    DRAIN_TIMEOUT,
    K8S_PACKAGES,
    k8sRepoVars,
    KUBE_PROXY_GUARD,
    RUN_KUBEADM,
    WRITE_IF_CHANGED,
    YAML_VALUE,
} from "./scripts";

/** How long an upgraded node may take to report Ready at the new kubelet version before it is uncordoned. */
export const NODE_READY_TIMEOUT = "5m";
/** Node annotation that marks a node cordoned by this program for an upgrade (never uncordon one the user cordoned). */
export const UPGRADE_ANNOTATION = "homelab.dev/cordoned-for-upgrade";
/** Marker of a kubelet whose package moved but which has not been restarted yet. */
export const KUBELET_RESTART_PENDING = "/var/lib/homelab/kubelet-restart-pending";
/** First minor whose kubeadm takes `--skip-phases=addon/kube-proxy` on `upgrade apply`/`upgrade node` (kubernetes#126032, #127242). */
export const SKIP_PHASES_MIN_MINOR = 32;

/** The flags that keep kube-proxy out of a kubeadm upgrade to `version`, where kubeadm has them. */
export function kubeProxySkipFlags(version: string): string[] {
    const minor = Number(version.split(".")[1]);
    return minor >= SKIP_PHASES_MIN_MINOR ? ["--skip-phases=addon/kube-proxy"] : [];
}

/** Shell: comparing Kubernetes versions and refusing a downgrade or a skipped minor. */
const VERSION_STEP = `
# check_version_step HAVE WANT WHAT: dies unless going from HAVE to WANT is an upgrade kubeadm supports (patches, or
# exactly one minor) or no change. WHAT names what runs HAVE in the message.
check_version_step() {
  local have=\${1#v} want=\${2#v} what=$3 have_minor want_minor have_patch want_patch
  [[ $have =~ ^1\\.([0-9]+)\\.([0-9]+)$ ]] || die "cannot tell which Kubernetes version $what runs (got '$1')"
  have_minor=\${BASH_REMATCH[1]} have_patch=\${BASH_REMATCH[2]}
  [[ $want =~ ^1\\.([0-9]+)\\.([0-9]+)$ ]] || die "kubernetesVersion '$2' is not an exact version"
  want_minor=\${BASH_REMATCH[1]} want_patch=\${BASH_REMATCH[2]}
  if [ "$want_minor" -lt "$have_minor" ] || { [ "$want_minor" -eq "$have_minor" ] && [ "$want_patch" -lt "$have_patch" ]; }; then
    die "kubernetesVersion is $want but $what already runs $have: downgrades are not supported (kubeadm only upgrades); set kubernetesVersion back to $have, or restore an etcd snapshot taken before the upgrade (README: etcd snapshots and restore)"
  fi
  if [ "$want_minor" -gt $((have_minor + 1)) ]; then
    die "kubernetesVersion is $want but $what runs $have: kubeadm upgrades one minor at a time; set kubernetesVersion to a 1.$((have_minor + 1)) patch, run pulumi up, then go on to $want"
  fi
}
`;

/**
 * Shell (needs YAML_VALUE and API_WAIT): `kube` (kubectl as cluster admin, made again when the API server stopped
 * answering: an upgrade restarts the API servers, and with kube-vip the address can move) and the cluster's version.
 */
const CLUSTER_QUERIES = `${API_RETRY}
# cluster_version: the control plane's version, as kubeadm init/upgrade apply stored it in the kubeadm-config ConfigMap.
cluster_version() {
  local config version
  config=$(kube -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}') \\
    || die "cannot read the kubeadm-config ConfigMap (kubectl failed above): is the control plane up?"
  version=$(yaml_value kubernetesVersion <<<"$config")
  [ -n "$version" ] || die "the kubeadm-config ConfigMap names no kubernetesVersion"
  printf '%s\\n' "$version"
}
`;

/** Shell: the kube-proxy assertion after an upgrade, naming the upstream issues and the fix. */
const KUBE_PROXY_AFTER_UPGRADE = `
refuse_kube_proxy_after_upgrade() {
  local found
  found=$(kube_proxy_objects)
  if [ -n "$found" ]; then
    die "kube-proxy $found appeared in kube-system after kubeadm upgraded the cluster (kubeadm re-creates it on upgrade: kubernetes#84584, kubeadm#3137); it fights Cilium's kube-proxy replacement. Remove it now: kubectl -n kube-system delete ds/kube-proxy cm/kube-proxy, then on every node iptables-save | grep -v KUBE | iptables-restore, then pulumi up again"
  fi
}
`;

/** Shell: cordon/drain and uncordon of a node, run where admin.conf is (a control plane). */
const NODE_MAINTENANCE = `
node_field() { kube get node "$1" -o "jsonpath=$2"; }
ours() { node_field "$1" '{.metadata.annotations.${UPGRADE_ANNOTATION.replace(/\./g, "\\.")}}'; }
# drain_node NODE: marks NODE as cordoned by us (unless someone else cordoned it), cordons it, drains it (bounded).
drain_node() {
  local node=$1 unschedulable
  unschedulable=$(node_field "$node" '{.spec.unschedulable}') || die "cannot read node $node (kubectl failed above)"
  if [ "$unschedulable" != true ]; then
    # The mark goes first: a run stopped between the two leaves a marked schedulable node, never an unmarked cordon.
    kube annotate node "$node" --overwrite "$UPGRADE_ANNOTATION=$K8S_VERSION" >/dev/null
    kube cordon "$node" >/dev/null
    log "cordoned $node for the upgrade"
  elif [ -z "$(ours "$node")" ]; then
    log "$node was cordoned before the upgrade (not by homelab); it stays cordoned afterwards"
  fi
  kube drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT" >&2 \\
    || die "draining $node did not finish within $DRAIN_TIMEOUT (a PodDisruptionBudget that allows no eviction, or a pod without a controller?): fix what kubectl reported above and run pulumi up again; $node stays cordoned until the upgrade finishes"
  log "drained $node"
}
# uncordon_node NODE: once NODE reports Ready at K8S_VERSION, uncordons it if we cordoned it, and drops our mark.
uncordon_node() {
  local node=$1
  [ -n "$(ours "$node")" ] || return 0
  kube wait --for="jsonpath={.status.nodeInfo.kubeletVersion}=v$K8S_VERSION" "node/$node" --timeout="$READY_TIMEOUT" >/dev/null \\
    || die "$node did not report kubelet v$K8S_VERSION within $READY_TIMEOUT: check its kubelet (journalctl -u kubelet) and run pulumi up again"
  kube wait --for=condition=Ready "node/$node" --timeout="$READY_TIMEOUT" >/dev/null \\
    || die "$node is not Ready $READY_TIMEOUT after its upgrade: check its kubelet (journalctl -u kubelet) and run pulumi up again"
  if [ "$(node_field "$node" '{.spec.unschedulable}')" = true ]; then
    kube uncordon "$node" >/dev/null
    log "uncordoned $node"
  fi
  kube annotate node "$node" "$UPGRADE_ANNOTATION-" >/dev/null
}
`;

/** Inputs of the first step of an upgrade. */
export interface UpgradeSnapshotInput {
    /** Target Kubernetes version, `1.34.1`. */
    readonly kubernetesVersion: string;
}

/**
 * upgrade-snapshot (first control plane; the first step of every upgrade): read-only version checks of the cluster
 * and of every node (refusing a downgrade or a skipped minor before anything changes), then, when the cluster is not
 * at the target yet, an etcd snapshot with the installed snapshot tool. Prints the snapshot's path (nothing when no
 * upgrade is pending).
 */
export function upgradeSnapshotScript(input: UpgradeSnapshotInput): string {
    return `${header("upgrade-snapshot", { K8S_VERSION: input.kubernetesVersion, SNAPSHOT_TOOL, ...API_WAIT_VAR })}${YAML_VALUE}${VERSION_STEP}${CLUSTER_QUERIES}
cluster=$(cluster_version)
check_version_step "$cluster" "$K8S_VERSION" "the cluster"
nodes=$(kube get nodes -o 'jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion}{"\\n"}{end}') \\
  || die "cannot list the nodes' kubelet versions (kubectl failed above)"
while read -r node version; do
  [ -z "$node" ] || check_version_step "$version" "$K8S_VERSION" "node $node"
done <<<"$nodes"
if [ "\${cluster#v}" = "$K8S_VERSION" ]; then
  log "the cluster already runs $K8S_VERSION: no pre-upgrade snapshot needed"
  exit 0
fi
[ -x "$SNAPSHOT_TOOL" ] || die "$SNAPSHOT_TOOL is missing: re-create it with pulumi up --replace on the etcd-snapshot-install resource"
log "upgrading the cluster from \${cluster#v} to $K8S_VERSION: taking an etcd snapshot first"
"$SNAPSHOT_TOOL" "pre-upgrade-v$K8S_VERSION"
`;
}

/** Inputs of one node's upgrade. */
export interface UpgradeNodeInput {
    /** `first`: the control plane that ran init (`kubeadm upgrade apply`); `control-plane`: another one
     * (`kubeadm upgrade node`); `worker` (`kubeadm upgrade node`, drained from the control plane beforehand). */
    readonly role: "first" | "control-plane" | "worker";
    /** Kubernetes node name. */
    readonly nodeName: string;
    /** Target Kubernetes version, `1.34.1`. */
    readonly kubernetesVersion: string;
    /** Control planes: whether to drain the node itself (false when it is the cluster's only node: nowhere to go). */
    readonly drain: boolean;
}

/**
 * upgrade-node (on the node): switches the apt repository to the target minor, moves kubeadm, runs the kubeadm
 * upgrade (apply on the first control plane, node elsewhere), drains a control plane itself, moves kubelet and
 * kubectl, re-runs prepare (containerd's sandbox image for the new kubeadm), restarts the kubelet, uncordons a control
 * plane. Package holds are lifted and re-applied by the shared package functions.
 */
export function upgradeNodeScript(input: UpgradeNodeInput): string {
    const controlPlane = input.role !== "worker";
    const skip = kubeProxySkipFlags(input.kubernetesVersion).join(" ");
    const done =
        input.role === "first"
            ? `[ "\${cluster#v}" = "$K8S_VERSION" ]`
            : input.role === "control-plane"
              ? `[ "$(manifest_version)" = "v$K8S_VERSION" ]`
              : "true";
    const upgradeKubeadm =
        input.role === "first"
            ? `if [ "\${cluster#v}" != "$K8S_VERSION" ]; then
  # The ConfigMap's absence is what keeps kubeadm before 1.32 from upgrading kube-proxy (kubernetes#89593).
  refuse_kube_proxy
  run_kubeadm upgrade-plan upgrade plan "v$K8S_VERSION" || die "kubeadm upgrade plan failed (log: ${"$"}{LOG_DIR}/upgrade-plan.log)"
  run_kubeadm upgrade-apply upgrade apply "v$K8S_VERSION" --yes ${skip} \\
    || die "kubeadm upgrade apply failed (log: ${"$"}{LOG_DIR}/upgrade-apply.log); kubeadm rolls its own changes back, so fix the cause and run pulumi up again"
  log "control plane upgraded to $K8S_VERSION"
  # The API server just restarted (and with kube-vip the VIP may be moving): read through the endpoint once it answers.
  wait_for_api
  refuse_kube_proxy_after_upgrade
fi`
            : input.role === "control-plane"
              ? `if [ "$(manifest_version)" != "v$K8S_VERSION" ]; then
  run_kubeadm upgrade-node upgrade node ${skip} || die "kubeadm upgrade node failed (log: ${"$"}{LOG_DIR}/upgrade-node.log)"
  log "control plane instance upgraded to $K8S_VERSION"
  wait_for_api
fi`
              : `if ! at_target kubelet; then
  # Until kubelet moves, kubeadm upgrade node may not have run yet (it only rewrites the kubelet's configuration).
  run_kubeadm upgrade-node upgrade node || die "kubeadm upgrade node failed (log: ${"$"}{LOG_DIR}/upgrade-node.log)"
fi`;
    return `${header(`upgrade-node`, {
        ...k8sRepoVars(input.kubernetesVersion),
        NODE: input.nodeName,
        ...(controlPlane
            ? { DRAIN: String(input.drain), DRAIN_TIMEOUT, READY_TIMEOUT: NODE_READY_TIMEOUT, UPGRADE_ANNOTATION, ...API_WAIT_VAR }
            : {}),
        RESTART_PENDING: KUBELET_RESTART_PENDING,
        LOG_DIR: "/var/log/homelab",
    })}${WRITE_IF_CHANGED}${K8S_PACKAGES}${RUN_KUBEADM}${
        controlPlane ? `${YAML_VALUE}${VERSION_STEP}${CLUSTER_QUERIES}${KUBE_PROXY_GUARD}${KUBE_PROXY_AFTER_UPGRADE}${NODE_MAINTENANCE}` : VERSION_STEP
    }
packages_at_target() {
  local pkg
  for pkg in kubelet kubeadm kubectl; do
    at_target "$pkg" || return 1
  done
}
${
    input.role === "control-plane"
        ? `# manifest_version: the version of this control plane's API server, from its static pod manifest.
manifest_version() {
  sed -nE 's#^[[:space:]]*image:[[:space:]]*[^[:space:]]*/kube-apiserver:(v[0-9.]+)[[:space:]]*$#\\1#p' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null | head -n 1
}
`
        : ""
}${
        controlPlane
            ? `cluster=$(cluster_version)
check_version_step "$cluster" "$K8S_VERSION" "the cluster"
${
    input.role === "control-plane"
        ? `[ "\${cluster#v}" = "$K8S_VERSION" ] || die "the first control plane has not upgraded the cluster to $K8S_VERSION yet (it runs \${cluster#v}): its upgrade step must finish first; run pulumi up again"
`
        : ""
}`
            : `[ -f /etc/kubernetes/kubelet.conf ] || die "this node has not joined a cluster: nothing to upgrade"
kubelet_now=$(installed_version kubelet)
[ -n "$kubelet_now" ] || die "the kubelet package is not fully installed; run pulumi up again after fixing apt (dpkg --configure -a)"
check_version_step "\${kubelet_now%%-*}" "$K8S_VERSION" "this node's kubelet"
`
    }
if ${done} && packages_at_target && [ ! -e "$RESTART_PENDING" ]${controlPlane ? ` && [ -z "$(ours "$NODE")" ]` : ""}; then
${controlPlane ? "  refuse_kube_proxy\n" : ""}  log "$NODE already runs Kubernetes $K8S_VERSION"
  exit 0
fi

# From here on the kubelet must be restarted before the node counts as upgraded, even if this run stops half-way.
install -d -m 0755 "$(dirname "$RESTART_PENDING")"
: >"$RESTART_PENDING"
ensure_k8s_repo
install_k8s_packages kubeadm
${upgradeKubeadm}
${controlPlane ? `if [ "$DRAIN" = true ]; then drain_node "$NODE"; fi\n` : ""}install_k8s_packages kubelet kubectl
# prepare again, now with the new kubeadm: containerd's sandbox image follows it (a no-op when it did not change).
[ -f ${STAGING_DIR}/prepare.sh ] || die "${STAGING_DIR}/prepare.sh is missing: re-create it with pulumi up --replace on this node's prepare-script resource"
bash ${STAGING_DIR}/prepare.sh
systemctl daemon-reload
systemctl restart kubelet
rm -f "$RESTART_PENDING"
log "kubelet restarted at $K8S_VERSION"
${controlPlane ? `uncordon_node "$NODE"\nrefuse_kube_proxy_after_upgrade\n` : ""}log "$NODE upgraded to Kubernetes $K8S_VERSION"
`;
}

/** Inputs of the control-plane side of a worker's upgrade. */
export interface UpgradeWorkerInput {
    /** Target Kubernetes version. */
    readonly kubernetesVersion: string;
}

/**
 * upgrade-worker (on the first control plane) `drain NODE` | `uncordon NODE`: the worker's drain before its
 * upgrade-node step and its uncordon after. `drain` does nothing when the node's kubelet already reports the target
 * version; `uncordon` does nothing unless the node carries this program's cordon mark, so a node the user cordoned
 * stays cordoned.
 */
export function upgradeWorkerScript(input: UpgradeWorkerInput): string {
    return `${header("upgrade-worker", {
        K8S_VERSION: input.kubernetesVersion,
        DRAIN_TIMEOUT,
        READY_TIMEOUT: NODE_READY_TIMEOUT,
        UPGRADE_ANNOTATION,
        ...API_WAIT_VAR,
    })}${YAML_VALUE}${VERSION_STEP}${CLUSTER_QUERIES}${NODE_MAINTENANCE}
action=\${1:-} node=\${2:-}
[ -n "$node" ] || die "usage: upgrade-worker.sh drain|uncordon NODE"
case $action in
  drain)
    version=$(node_field "$node" '{.status.nodeInfo.kubeletVersion}') || die "cannot read node $node (kubectl failed above)"
    if [ "\${version#v}" = "$K8S_VERSION" ]; then
      log "$node already runs kubelet $K8S_VERSION: no drain"
      exit 0
    fi
    check_version_step "$version" "$K8S_VERSION" "node $node"
    drain_node "$node"
    ;;
  uncordon)
    uncordon_node "$node"
    ;;
  *)
    die "usage: upgrade-worker.sh drain|uncordon NODE"
    ;;
esac
`;
}

/**
 * upgrade-verify (first control plane, after every node's upgrade): read-only. The cluster and every node's kubelet
 * run the target version, and kube-proxy did not come back.
 */
export function upgradeVerifyScript(input: UpgradeSnapshotInput): string {
    return `${header("upgrade-verify", { K8S_VERSION: input.kubernetesVersion, ...API_WAIT_VAR })}${YAML_VALUE}${VERSION_STEP}${CLUSTER_QUERIES}${KUBE_PROXY_GUARD}${KUBE_PROXY_AFTER_UPGRADE}
refuse_kube_proxy_after_upgrade
cluster=$(cluster_version)
[ "\${cluster#v}" = "$K8S_VERSION" ] || die "the cluster runs \${cluster#v}, not $K8S_VERSION, after the upgrade steps: run pulumi up again"
nodes=$(kube get nodes -o 'jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion}{"\\n"}{end}') \\
  || die "cannot list the nodes' kubelet versions (kubectl failed above)"
behind=()
while read -r node version; do
  if [ -n "$node" ] && [ "\${version#v}" != "$K8S_VERSION" ]; then behind+=("$node ($version)"); fi
done <<<"$nodes"
[ "\${#behind[@]}" -eq 0 ] || die "nodes not at $K8S_VERSION after the upgrade steps: \${behind[*]} (nodes this stack does not manage are upgraded by hand); run pulumi up again once they are"
log "every node runs Kubernetes $K8S_VERSION; no kube-proxy"
`;
}
