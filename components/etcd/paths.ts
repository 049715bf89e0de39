/**
 * Where the etcd snapshot tooling lives on the first control plane. Its own module (no imports), so the node's reset
 * can remove the tooling without the kubeadm scripts and the etcd scripts importing each other.
 */

/** Where the snapshot tool is installed on the control plane (also the on-demand command for operators). */
export const SNAPSHOT_TOOL = "/usr/local/sbin/homelab-etcd-snapshot";
/** systemd units of the periodic snapshot (`<unit>.service`, `<unit>.timer` in /etc/systemd/system). */
export const SNAPSHOT_UNIT = "homelab-etcd-snapshot";
/** Lock the snapshot tool holds, so the timer, an upgrade and an operator never share the scratch file. */
export const SNAPSHOT_LOCK = "/run/homelab-etcd-snapshot.lock";
