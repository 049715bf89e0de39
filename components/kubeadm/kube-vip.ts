/**
 * kube-vip as a static pod on every control plane: the API server's virtual IP (`controlPlaneEndpoint`), announced
 * by ARP from whichever control plane holds the `plndr-cp-lock` Lease. Control-plane load balancing only: kube-vip's
 * Service load balancer (`svc_enable`) stays off, Cilium serves Services.
 *
 * The manifest is what `kube-vip manifest pod --arp --controlplane --leaderElection --address <vip> [--interface <if>]`
 * prints (https://kube-vip.io/docs/installation/static/), rendered here so no kube-vip container has to run on the
 * host to generate it. Without an interface kube-vip announces the address on the default route's interface
 * (`vip_interface` unset: kube-vip#289, "Auto detect default interface for VIP").
 *
 * The kubeconfig it mounts is the kube-vip/kubeadm ordering issue: since Kubernetes 1.29 `admin.conf` is bound to the
 * `kubeadm:cluster-admins` group, which gets its rights only near the end of `kubeadm init`, while kube-vip must hold
 * its Lease (and with it the VIP that admin.conf points at) earlier. So on the first control plane it mounts
 * `super-admin.conf` (`system:masters`, written by init only) during init and is switched to `admin.conf` right after;
 * joining control planes use `admin.conf` from the start (kube-vip#684; kubernetes#121305).
 */
import * as YAML from "yaml";
import type { KubeVipSettings } from "./config";

/** Where the kubelet reads static pods from. */
export const KUBE_VIP_MANIFEST = "/etc/kubernetes/manifests/kube-vip.yaml";
/** kube-vip's image repository. */
export const KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip";
/** The API server port kube-vip's control-plane mode serves (kubeadm's `bindPort`). */
const API_SERVER_PORT = 6443;

/** Which kubeconfig kube-vip mounts (as `/etc/kubernetes/admin.conf` inside the pod). */
export type KubeVipKubeconfig = "super-admin.conf" | "admin.conf";

/** Renders the static pod manifest. Deterministic, so its hash is a stable trigger. */
export function kubeVipManifest(settings: KubeVipSettings, kubeconfig: KubeVipKubeconfig): string {
    const env: Record<string, string> = {
        vip_arp: "true",
        port: String(API_SERVER_PORT),
        ...(settings.interface ? { vip_interface: settings.interface } : {}),
        vip_subnet: "32",
        dns_mode: "first",
        cp_enable: "true",
        cp_namespace: "kube-system",
        svc_enable: "false",
        vip_leaderelection: "true",
        vip_leasename: "plndr-cp-lock",
        vip_leaseduration: "5",
        vip_renewdeadline: "3",
        vip_retryperiod: "1",
        address: settings.address,
        prometheus_server: ":2112",
    };
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "kube-vip", namespace: "kube-system" },
        spec: {
            containers: [
                {
                    name: "kube-vip",
                    image: `${KUBE_VIP_IMAGE}:${settings.version}`,
                    imagePullPolicy: "IfNotPresent",
                    args: ["manager"],
                    env: [
                        { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                        ...Object.entries(env).map(([name, value]) => ({ name, value })),
                    ],
                    securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
                    volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf" }],
                },
            ],
            // kube-vip talks to the API server on this host (`kubernetes` → 127.0.0.1), not through the VIP it serves.
            hostAliases: [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }],
            hostNetwork: true,
            volumes: [{ name: "kubeconfig", hostPath: { path: `/etc/kubernetes/${kubeconfig}` } }],
        },
    };
    return YAML.stringify(pod, { lineWidth: 0 });
}
