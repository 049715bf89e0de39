/**
 * mesh-check: the smoke test no peer gives. Run on the first control plane after the Istio releases, it proves the
 * CNI chain and pod capture work end to end, cleans up after itself, and fails with the reason.
 */
import { guardWhere, versionGuardScript, type VersionGuardInput } from "../helm/upgrade";
import { scriptHeader } from "../remote/script";

/** Throwaway namespace the check creates and deletes. */
export const MESH_CHECK_NAMESPACE = "homelab-mesh-check";

/** Inputs of the smoke test. */
export interface MeshCheckInput {
    /** Sidecar: injection with istio-validation, no istio-init. Ambient: the pod is captured by ztunnel. */
    readonly mode: "sidecar" | "ambient";
    /** Bound on each wait (rollout, pod readiness), a kubectl duration such as `5m`. */
    readonly waitDuration: string;
    /** Image of the throwaway pod; the pause image is already on every node (containerd's sandbox image). */
    readonly probeImage: string;
}

/** The namespace label that meshes a namespace, per mode. */
export function meshLabel(mode: "sidecar" | "ambient"): { key: string; value: string } {
    return mode === "sidecar" ? { key: "istio-injection", value: "enabled" } : { key: "istio.io/dataplane-mode", value: "ambient" };
}

/** mesh-check script (runs as root on the control plane, with the admin kubeconfig). */
export function meshCheckScript(input: MeshCheckInput): string {
    const label = meshLabel(input.mode);
    const capture =
        input.mode === "sidecar"
            ? `# Sidecar: injection happens at admission; with pilot.cni.enabled the injector adds istio-validation and
# never the privileged istio-init.
inits=$(kubectl -n "$NS" get pod mesh-probe -o 'jsonpath={.spec.initContainers[*].name}')
case " $inits " in
  *" istio-init "*) die "the probe pod got istio-init: sidecars are not using istio-cni (istiod pilot.cni.enabled is not in effect)" ;;
esac
case " $inits " in
  *" istio-validation "*) ;;
  *) die "the probe pod has no istio-validation init container (init containers: \${inits:-none}): the injector did not inject it for istio-cni" ;;
esac
# Ready means istio-validation ran and found the CNI redirection in place, and the sidecar started.
kubectl -n "$NS" wait --for=condition=Ready pod/mesh-probe --timeout="$WAIT" >&2 \\
  || die "the probe pod did not become Ready within $WAIT: istio-validation found no CNI redirection, or the sidecar could not start"
log "sidecar injection uses istio-cni: istio-validation passed, no istio-init"`
            : `# Ambient: once the pod runs, istio-cni's node agent enrolls it with ztunnel and marks it.
kubectl -n "$NS" wait --for=condition=Ready pod/mesh-probe --timeout="$WAIT" >&2 \\
  || die "the probe pod did not become Ready within $WAIT"
redirection=$(kubectl -n "$NS" get pod mesh-probe -o 'jsonpath={.metadata.annotations.ambient\\.istio\\.io/redirection}')
[ "$redirection" = enabled ] \\
  || die "the probe pod is not captured by ambient (annotation ambient.istio.io/redirection is '\${redirection:-absent}'): check istio-cni and ztunnel logs"
log "ambient capture works: the probe pod is redirected through ztunnel"`;
    return `${scriptHeader("mesh-check", {
        NS: MESH_CHECK_NAMESPACE,
        WAIT: input.waitDuration,
        PROBE_IMAGE: input.probeImage,
        MESH_LABEL: `${label.key}=${label.value}`,
    })}
export KUBECONFIG=/etc/kubernetes/admin.conf
# The throwaway namespace must not outlive the check: when deleting it fails the step fails too, so the next run
# (which deletes a leftover first) cleans up.
cleanup() {
  local status=$?
  if ! kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1; then
    log "could not delete the throwaway namespace $NS: the next run deletes it"
    [ "$status" -ne 0 ] || status=1
  fi
  exit "$status"
}

# 1. istio-cni runs on every node: its readiness means the plugin is in place there.
kubectl -n istio-system rollout status daemonset/istio-cni-node --timeout="$WAIT" >&2 \\
  || die "istio-cni-node is not ready on every node within $WAIT: kubectl -n istio-system logs ds/istio-cni-node"

# 2. On this node the active CNI config (the first *.conf, *.conflist or *.json by name, as containerd picks it) is
#    Cilium's list, ending with istio-cni.
conflist=""
for file in /etc/cni/net.d/*; do
  case $file in
    *.conf | *.conflist | *.json)
      conflist=$file
      break
      ;;
  esac
done
[ -n "$conflist" ] || die "no CNI configuration in /etc/cni/net.d: Cilium has not written its configuration"
last_plugin=$(grep -o '"type"[[:space:]]*:[[:space:]]*"[^"]*"' "$conflist" | tail -n 1 | sed -E 's/.*"([^"]*)"$/\\1/' || true)
[ "$last_plugin" = istio-cni ] \\
  || die "the last plugin in $conflist is '\${last_plugin:-none}', not istio-cni: istio-cni is not chained after Cilium (is cilium-config cni-exclusive \\"false\\"?)"
log "$conflist chains istio-cni after Cilium"

# 3. A throwaway pod in a meshed namespace is captured. A leftover namespace from an interrupted run goes first.
kubectl delete namespace "$NS" --ignore-not-found --timeout="$WAIT" >/dev/null
trap cleanup EXIT
kubectl create namespace "$NS" >/dev/null
kubectl label namespace "$NS" "$MESH_LABEL" >/dev/null
kubectl -n "$NS" run mesh-probe --image="$PROBE_IMAGE" --restart=Never >/dev/null
${capture}
`;
}

/**
 * Where the running Istio version is read: istiod's `discovery` container image (`docker.io/istio/pilot:<version>`,
 * `-distroless` variants included). Every Istio chart here is installed at one version, and istiod is the control
 * plane the data plane (istio-cni, ztunnel, sidecars) must never be ahead of.
 */
export const ISTIO_VERSION_SOURCE = { namespace: "istio-system", kind: "deployment", name: "istiod", container: "discovery" } as const;

/** The Istio version guard's fixed inputs (all but the target). */
export const ISTIO_VERSION_GUARD: Omit<VersionGuardInput, "target"> = {
    step: "istio-version-guard",
    component: "Istio",
    configKey: "istioVersion",
    rollbackAdvice:
        "Istio supports an in-place downgrade of one minor, but sidecars injected by the newer istiod would be ahead of the " +
        "control plane, which Istio does not support: restart meshed workloads once istiod is back (istio.io, Supported " +
        "Releases, control plane/data plane skew)",
    ...ISTIO_VERSION_SOURCE,
};

/** Where the Istio guard looks, as its messages say it. */
export const ISTIO_VERSION_WHERE = guardWhere(ISTIO_VERSION_SOURCE);

/**
 * istio-version-guard: before the first Istio release is installed or upgraded to `target`, refuses a step Istio's
 * in-place upgrade does not support (more than one minor up or back, a major change) from the istiod running on the
 * cluster. Read-only.
 */
export function istioVersionGuardScript(target: string): string {
    return versionGuardScript({ ...ISTIO_VERSION_GUARD, target });
}
